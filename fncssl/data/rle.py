"""Run-length encoded masks (pycocotools RLE) and safe reading of the archive's RLE pickles.

An RLE is ``{"size": [h, w], "counts": bytes}`` exactly as ``pycocotools.mask.encode``
returns it (column-major, compressed counts). The archive stores one per image as a Python
pickle. Pickles can execute code when loaded, so :func:`safe_unpickle` admits only plain
builtins (dict, list, str, bytes, int, ...) and refuses every other global.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from fncssl.data.atomic import write_bytes
from fncssl.errors import DataError

# Globals a pickle of plain data may legitimately need (protocol 2 encodes bytes via codecs).
_ALLOWED_GLOBALS = {
    ("builtins", "bytes"),
    ("builtins", "bytearray"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("_codecs", "encode"),
}


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load global {module}.{name}")


def safe_unpickle(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle plain data only; any class or function reference raises :class:`DataError`."""
    try:
        return _PlainDataUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        if str(exc).startswith("refused"):
            raise DataError(f"{source}: unsafe pickle refused ({exc})") from None
        raise DataError(f"{source}: corrupt pickle ({exc})") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise DataError(f"{source}: corrupt pickle ({type(exc).__name__}: {exc})") from None


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """RLE of a boolean (H, W) mask, identical to pycocotools' own output."""
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def decode_rle(rle: dict[str, Any], source: str = "<rle>") -> np.ndarray:
    """Boolean (H, W) mask of an RLE (counts as bytes or str)."""
    check_rle(rle, source)
    counts = rle["counts"]
    if isinstance(counts, list):  # uncompressed RLE
        rle = mask_utils.frPyObjects(rle, *rle["size"])
    elif isinstance(counts, str):
        rle = {"size": rle["size"], "counts": counts.encode("ascii")}
    try:
        return mask_utils.decode(rle).astype(bool)
    except Exception as exc:  # pycocotools raises bare Exceptions on bad counts
        raise DataError(f"{source}: RLE counts could not be decoded ({exc})") from None


def check_rle(rle: Any, source: str) -> None:
    """Raise :class:`DataError` unless ``rle`` has the pycocotools structure."""
    if not isinstance(rle, dict) or set(rle) < {"size", "counts"}:
        raise DataError(
            f"{source}: expected a dict with 'size' and 'counts', got {type(rle).__name__}"
        )
    size = rle["size"]
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(v, int | np.integer) and v >= 0 for v in size)
    ):
        raise DataError(f"{source}: 'size' must be [height, width], got {size!r}")
    if not isinstance(rle["counts"], bytes | str | list):
        raise DataError(f"{source}: 'counts' must be bytes, str or a list")


def read_rle_pickle(path: str | Path) -> np.ndarray:
    """Read an archive RLE pickle safely and decode it to a boolean mask."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"RLE file not found: {p}")
    rle = safe_unpickle(p.read_bytes(), str(p))
    return decode_rle(rle, str(p))


def write_rle_pickle(path: str | Path, mask: np.ndarray) -> None:
    """Atomically write the RLE of ``mask`` as a pickle (plain dict, bytes counts)."""
    rle = encode_mask(mask)
    payload = {"size": [int(v) for v in rle["size"]], "counts": bytes(rle["counts"])}
    write_bytes(path, pickle.dumps(payload, protocol=4))
