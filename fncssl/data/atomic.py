"""Writers that never leave a half-written file or folder: write to a temp one, then rename."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from fncssl.errors import DataError, FNCError


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success it is renamed onto ``path``.

    On any exception the temp file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; follow the umask like open()
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def current_umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_folder(target: str | Path, what: str = "folder") -> Iterator[Path]:
    """Yield a hidden temp folder (``.<name>.partial-*``) beside ``target`` to fill; on success
    it is renamed onto ``target``, which must be absent or an empty folder. On any exception the
    temp folder is removed and ``target`` is left as it was; a rename that fails (``target``
    written meanwhile) is one ``DataError`` naming ``target`` (``what`` names the contents)."""
    dest = Path(target)
    parent = dest.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.resolve().name}.partial-", dir=parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; follow the umask like mkdir
        yield tmp
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise DataError(
                f"could not move the finished {what} to {dest}: {exc.strerror}"
            ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text(path: str | Path, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any, indent: int | None = 1) -> None:
    """Atomically write ``obj`` as JSON."""
    write_text(path, json.dumps(obj, indent=indent))


def refuse_output_inside(out: str | Path, folders: list[str | Path], what: str) -> None:
    """Raise ``FNCError`` when ``out`` is one of ``folders`` or lies inside one of them.

    Outputs go beside the inputs, never inside: written files would otherwise be read back as
    inputs by the next run (``what`` names the inputs in the message).
    """
    target = Path(out).resolve()
    for folder in folders:
        f = Path(folder).resolve()
        if target == f or f in target.parents:
            raise FNCError(
                f"--out {out} is inside {what} {folder}; choose a folder beside it "
                f"(e.g. {f.parent / (f.name + '-out')})"
            )
