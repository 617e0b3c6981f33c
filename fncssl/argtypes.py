"""argparse value types shared by the CLI and the bench scripts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def bounded(
    kind: type, low: float, high: float | None = None, above: bool = False
) -> Callable[[str], float]:
    """An argparse type: ``kind(text)`` (``int`` or ``float``, finite) within [low, high], or
    > low with ``above``; anything else is a usage error naming the value and the range."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        too_low = value <= low if above else value < low
        if too_low or (high is not None and value > high):
            bounds = f"> {low}" if above else f">= {low}"
            bounds += f" and <= {high}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be {bounds})")
        return value

    return parse


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit 2) that names the
    problem and points at ``--help``, instead of the full usage block and then the error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
