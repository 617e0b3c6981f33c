"""SIGTERM (``kill``, a job scheduler) turned into an orderly exit, for code without a training
loop (Lightning handles SIGTERM itself during ``fit``)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator


def exit_on_sigterm(signum: int, frame: object) -> None:
    """A SIGTERM handler that unwinds like Ctrl-C (``finally`` blocks run, temp files are
    removed) and exits with status 128 + SIGTERM = 143; a second SIGTERM cannot cut the
    clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("terminated", file=sys.stderr)
    sys.exit(128 + signum)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Install :func:`exit_on_sigterm` while inside, then restore the previous handler.
    Off the main thread (where handlers cannot be set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
