"""Reading and writing images and binary masks with clear errors.

Images are ``uint8`` arrays of shape (H, W, 3), RGB. Masks are ``bool`` arrays of shape (H, W),
True = cell; on disk a mask is a single-channel PNG with 0 = background and 255 = cell.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from fncssl.data.atomic import write_bytes
from fncssl.errors import DataError, first_few


def _load(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "P", "LA", "CMYK", "YCbCr"):
                im = im.convert("RGB")
            elif im.mode in ("I;16", "I;16B", "I"):
                raise DataError(f"{path}: 16/32-bit images are not supported (mode {im.mode})")
            return np.asarray(im)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image (corrupt or truncated?): {exc}") from None


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as RGB ``uint8`` (H, W, 3); grayscale is repeated over three channels."""
    arr = _load(Path(path))
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.dtype != np.uint8:
        raise DataError(f"{path}: expected 8-bit pixels, got {arr.dtype}")
    return np.ascontiguousarray(arr)


def read_mask(path: str | Path, binarise: bool = False) -> np.ndarray:
    """Read a binary mask as ``bool`` (H, W).

    The file must hold only the values 0 and 255 (0 and 1 is also accepted). With
    ``binarise=True`` any other values are thresholded at > 127 instead of raising.
    """
    arr = _load(Path(path))
    if arr.ndim == 3:
        if not (
            np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2])
        ):
            if not binarise:
                raise DataError(f"{path}: mask has colour (channels differ); expected 0/255 gray")
            arr = arr.max(axis=2)
        else:
            arr = arr[..., 0]
    if arr.dtype == bool:
        return arr.copy()
    values = np.unique(arr)
    if set(values.tolist()) <= {0, 255}:
        return arr == 255
    if set(values.tolist()) <= {0, 1}:
        return arr == 1
    if binarise:
        return arr > 127
    shown = first_few(values, 8)
    if int(values.max()) <= 127:  # thresholding would erase every object: do not suggest it
        hint = "every value is at most 127, so --binarise would leave it empty; rescale it to 0/255"
    else:
        hint = "pass --binarise (training commands: data.binarise=true) to threshold at 127"
    raise DataError(f"{path}: mask is not binary: values {{{shown}}} (expected 0 and 255); {hint}")


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding pixels."""
    p = Path(path)
    try:
        with Image.open(p) as im:
            w, h = im.size
    except FileNotFoundError:
        raise DataError(f"file not found: {p}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{p}: not a readable image: {exc}") from None
    return h, w


def size_mismatch(
    image: np.ndarray, mask: np.ndarray, image_name: str = "", mask_name: str = ""
) -> str | None:
    """Why ``mask`` (H, W) is not the size of ``image`` (H, W[, C]), naming both files when
    names are given and printing sizes width x height, as viewers show them; None if it is."""
    if image.shape[:2] == mask.shape[:2]:
        return None
    (ih, iw), (mh, mw) = image.shape[:2], mask.shape[:2]
    where = f"{image_name}: " if image_name else ""
    named = f"{mask_name} " if mask_name else ""
    return f"{where}image {iw}x{ih} and its mask {named}{mw}x{mh} (width x height) differ in size"


def check_same_size(
    image: np.ndarray, mask: np.ndarray, image_name: str = "", mask_name: str = ""
) -> None:
    """Raise one DataError with :func:`size_mismatch`'s reason when the sizes differ."""
    reason = size_mismatch(image, mask, image_name, mask_name)
    if reason:
        raise DataError(reason)


def encode_png(array: np.ndarray, compression: int = 3) -> bytes:
    """PNG bytes of an (H, W) or (H, W, 3) RGB uint8 array."""
    arr = array
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise DataError("PNG encoding failed")
    return buf.tobytes()


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Atomically write an RGB ``uint8`` (H, W, 3) image as PNG."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"write_image expects uint8 (H, W, 3), got {image.dtype} {image.shape}")
    write_bytes(path, encode_png(image))


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Atomically write a boolean (H, W) mask as a 0/255 PNG."""
    if mask.ndim != 2:
        raise ValueError(f"write_mask expects (H, W), got {mask.shape}")
    write_bytes(path, encode_png(np.where(mask, 255, 0).astype(np.uint8), compression=6))
