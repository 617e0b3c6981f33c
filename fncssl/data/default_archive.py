"""The embedded default dataset: a synthetic archive generated once into the cache folder.

``$FNCSSL_CACHE`` (default ``~/.cache/fncssl``) holds ``synthetic-<settings>/``, written by
:func:`~fncssl.data.synth.write_synthetic_archive`, which builds it in a temporary folder and
renames it into place, so an interrupted generation never leaves a half-written archive behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fncssl.data.synth import write_synthetic_archive
from fncssl.errors import DataError

DEFAULT_SETTINGS = {"labelled": 24, "unlabelled": 36, "size": (800, 600), "seed": 0}


def cache_dir() -> Path:
    return Path(os.environ.get("FNCSSL_CACHE", Path.home() / ".cache" / "fncssl"))


def default_archive_root(
    labelled: int = 24, unlabelled: int = 36, size: tuple[int, int] = (800, 600), seed: int = 0
) -> Path:
    """Path of the cached synthetic archive with these settings, generating it on first use."""
    name = f"synthetic-l{labelled}-u{unlabelled}-{size[0]}x{size[1]}-s{seed}"
    root = cache_dir() / name
    if (root / "synthetic.json").is_file():
        return root
    try:  # written atomically: an interrupted generation leaves nothing at ``root``
        write_synthetic_archive(
            root, labelled=labelled, unlabelled=unlabelled, size=size, seed=seed
        )
    except DataError:
        if not (root / "synthetic.json").is_file():  # unless another process finished first
            raise
    return root


def data_root(root: str) -> Path:
    """The configured archive, or the cached synthetic default when ``root`` is empty (then
    said loudly on stderr, so nobody mistakes a synthetic run for a real one)."""
    if root:
        return Path(root)
    path = default_archive_root()
    bar = "!" * 78
    print(
        f"{bar}\n!! data.root is empty: using the SYNTHETIC archive at {path}\n"
        f"!! (set data.root=/path/to/fnc for the real FNC data)\n{bar}",
        file=sys.stderr,
        flush=True,
    )
    return path
