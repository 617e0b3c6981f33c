"""Helpers shared by the benchmark scripts: timing and machine description."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path


def machine() -> str:
    """One line describing the CPU, core count and torch build."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {gpu}"


def time_repeats(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def loader_rate(loader) -> float:
    """Items/s of one epoch, after a first epoch that warms caches and workers."""
    for _ in loader:
        pass
    loader.sampler.set_epoch(1)
    t0 = time.perf_counter()
    n = sum(b["image"].shape[0] for b in loader)
    return n / (time.perf_counter() - t0)


MIN_CELLS = 5  # issue 10's count rule judges images with more cells than this


def counts_within(
    counts: Iterable[tuple[int, int]], tolerance: float = 0.3, min_cells: int = MIN_CELLS
) -> bool:
    """True when every (predicted, true) count pair with more than ``min_cells`` true cells
    has ``|predicted - true| <= tolerance * true``: issue 10's count rule."""
    return all(abs(p - t) <= tolerance * t for p, t in counts if t > min_cells)


def out_file_problem(out: str | Path) -> str | None:
    """Why a results file cannot be written at ``out`` (a folder there, or a file where one of
    its folders should be), or None; checked before a bench does any work."""
    path = Path(out)
    if path.is_dir():
        return f"--out {out} is a folder; give a file name"
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            return f"--out {out}: {parent} is a file, not a folder"
    return None
