"""Progress bars that stay readable when the output is a log file.

On a terminal: a normal tqdm bar on stderr. Otherwise (redirected, a scheduler's log): one
plain line at the start, one every ``log_interval`` seconds and one at the end, never
carriage-return redraws.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

from tqdm import tqdm

T = TypeVar("T")


class _Lines:
    """A text stream that turns tqdm's carriage-return redraws into whole lines."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress(
    items: Iterable[T],
    total: int | None = None,
    desc: str = "",
    stream: IO[str] | None = None,
    log_interval: float = 30.0,
) -> Iterator[T]:
    """Iterate ``items`` with a progress display on ``stream`` (default stderr)."""
    out = stream if stream is not None else sys.stderr
    tty = bool(getattr(out, "isatty", lambda: False)())
    bar = tqdm(
        items,
        total=total,
        desc=desc,
        file=out if tty else _Lines(out),
        mininterval=0.1 if tty else log_interval,
        maxinterval=max(log_interval, 10.0),
        dynamic_ncols=tty,
        ascii=not tty,
        leave=True,
    )
    with bar:
        yield from bar
