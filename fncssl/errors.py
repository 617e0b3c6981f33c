"""User-facing errors: one clear message that names the offending file or key.

The CLI prints these as a single line and exits with status 2; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence


def first_few(items: Sequence[object], most: int, in_all: bool = False) -> str:
    """Up to ``most`` items joined by ", " for a message, then ", ..." where some were left
    out (``in_all``: " ... (N in all)" instead)."""
    shown = ", ".join(str(x) for x in items[:most])
    if len(items) <= most:
        return shown
    return shown + (f" ... ({len(items)} in all)" if in_all else ", ...")


class FNCError(Exception):
    """Base class for errors caused by the user's input (files, configs, arguments)."""


class ConfigError(FNCError):
    """A configuration file or override is invalid (unknown key, wrong type, bad value)."""


class DataError(FNCError):
    """An archive, image, mask or annotation file is missing, corrupt or inconsistent."""


class RunInterrupted(FNCError):
    """A training run was stopped by a signal before it finished (exit status 128 + SIGTERM)."""

    exit_code = 143
