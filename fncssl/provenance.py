"""What produced a run: git commit, package versions, command line, host and time."""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from pathlib import Path

import fncssl


def git_sha() -> str:
    """The commit of the fncssl checkout (``+dirty`` when it has changes), or "unknown"."""
    repo = Path(fncssl.__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict[str, str]:
    import pytorch_lightning
    import torch

    return {
        "git_sha": git_sha(),
        "fncssl": fncssl.__version__,
        "torch": str(torch.__version__),
        "pytorch_lightning": str(pytorch_lightning.__version__),
        "python": platform.python_version(),
        "host": platform.node(),
        "command": " ".join(sys.argv),
        "time_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
