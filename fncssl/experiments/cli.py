"""``fncssl study``: validate, (dry-)run and report a study file."""

from __future__ import annotations

from pathlib import Path

from fncssl.experiments.report import write_report
from fncssl.experiments.runner import describe, is_rank_zero, run_study
from fncssl.experiments.study import load_study


def study_command(
    path: str, overrides: list[str], out: str = "", resume: bool = False, dry_run: bool = False
) -> int:
    """Exit code 0 when every run finished, 1 when some failed (the report is still written)."""
    study = load_study(path, out or None, overrides)
    print(describe(study), flush=True)
    if dry_run:
        return 0
    status = run_study(study, resume=resume, log=lambda line: print(line, flush=True))
    if not is_rank_zero():
        return 0  # a DDP worker process: rank 0 writes the report
    summary = write_report(study.out)
    print(f"[study] report: {summary} (plots and comparison.md beside it)")
    print(f"[study] TensorBoard: tensorboard --logdir {Path(study.out) / 'tensorboard'}")
    return 1 if status["failed"] else 0
