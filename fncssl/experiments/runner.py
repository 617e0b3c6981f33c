"""Running a study: pretraining once per method, then every grid point, with resume.

Layout of a study directory::

    <out>/study.yaml              the study file as run (plus the command-line overrides)
    <out>/pretrain/<method>-<collections>/   pretraining runs (encoder.pt)
    <out>/runs/<run name>/        fine-tuning runs (metrics.json, tb/, split.json, ...)
        study_run.json            grid point, status, seconds, steps
        log.txt                   everything the run printed
        eval-test-<collection>/   extra test evaluations (``evaluate_on``)
        error.json, traceback.txt only for a failed run
    <out>/summary.md, summary.csv, comparison.md, *.png, tensorboard/   (the report)

A run is finished when its ``metrics.json`` exists; ``--resume`` skips finished runs (adding
any missing extra evaluations), continues an interrupted run from its ``last.ckpt`` and
retries failed ones. A failed run is recorded and the study goes on; runs that reference it
are marked failed too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import statistics
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from fncssl.data.atomic import write_json, write_text
from fncssl.errors import RunInterrupted
from fncssl.experiments.study import Run, Study, StudyError
from fncssl.experiments.twin_eval import evaluate_on_collection

DEFAULT_SECONDS_PER_STEP = 1.0


def steps_of(cfg: Any) -> int:
    """Optimiser steps of one run (single device) from its trainer and data settings."""
    per_epoch = max(cfg.data.samples_per_epoch // cfg.data.batch_size, 1)
    total = cfg.trainer.max_epochs * per_epoch
    return min(total, cfg.trainer.max_steps) if cfg.trainer.max_steps > 0 else total


def fmt_seconds(s: float) -> str:
    s = round(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def measured_step_time(study: Study) -> tuple[float | None, float | None]:
    """Median seconds per step of finished fine-tuning and pretraining runs (None if none)."""
    ft, pre = [], []
    for path in study.out.glob("*/*/study_run.json"):
        info = yaml.safe_load(path.read_text()) or {}
        if info.get("status") == "done" and info.get("steps") and info.get("train_seconds"):
            rate = info["train_seconds"] / info["steps"]
            (pre if info.get("kind") == "pretrain" else ft).append(rate)
    return (
        statistics.median(ft) if ft else None,
        statistics.median(pre) if pre else None,
    )


def estimate(study: Study) -> dict[str, Any]:
    """Estimated cost: steps x seconds per step (measured in this study directory where
    runs finished, else the study file's ``cost``, else a 1 s/step guess) + evaluations."""
    ft_rate, pre_rate = measured_step_time(study)
    c = study.cost
    ft_src = "measured" if ft_rate else ("study file" if "seconds_per_step" in c else "guess")
    ft_rate = ft_rate or c.get("seconds_per_step", DEFAULT_SECONDS_PER_STEP)
    pre_rate = pre_rate or c.get("pretrain_seconds_per_step", ft_rate)
    per_eval = c.get("seconds_per_eval", 0.0)
    evals = 1 + len(study.evaluate_on)
    todo_pre = [p for p in study.pretrainings.values() if not _finished(p.encoder.parents[1])]
    todo = [r for r in study.runs if not _finished(r.dir)]
    pre_steps = sum(steps_of(p.config) for p in todo_pre)
    ft_steps = sum(steps_of(r.config) for r in todo)
    seconds = pre_steps * pre_rate + ft_steps * ft_rate + len(todo) * evals * per_eval
    return {
        "pretrain_runs": len(todo_pre),
        "pretrain_steps": pre_steps,
        "runs": len(todo),
        "steps": ft_steps,
        "seconds_per_step": ft_rate,
        "source": ft_src,
        "seconds": seconds,
    }


def _finished(run_dir: Path) -> bool:
    return (run_dir / "metrics.json").is_file()


def describe(study: Study) -> str:
    """The grid and the cost estimate, as printed by ``--dry-run``."""
    lines = [f"study {study.name}: {study.path} -> {study.out}"]
    for p in study.pretrainings.values():
        state = "done" if _finished(p.encoder.parents[1]) else f"{steps_of(p.config)} steps"
        lines.append(f"  pretrain {p.name:<40} {state}")
    for r in study.runs:
        state = "done" if _finished(r.dir) else f"{steps_of(r.config)} steps"
        after = f"  (after {', '.join(r.needs)})" if r.needs else ""
        lines.append(f"  run      {r.name:<40} {state}{after}")
    e = estimate(study)
    lines.append(
        f"to run: {e['pretrain_runs']} pretraining ({e['pretrain_steps']} steps) + "
        f"{e['runs']} fine-tuning runs ({e['steps']} steps); estimated "
        f"{fmt_seconds(e['seconds'])} at {e['seconds_per_step']:.2f} s/step ({e['source']})"
    )
    if study.spec.get("expected_wall_time"):
        lines.append(f"study file's expected wall time: {study.spec['expected_wall_time']}")
    return "\n".join(lines)


LOGGERS = ("lightning.pytorch", "pytorch_lightning", "lightning.fabric", "lightning_fabric")


@contextlib.contextmanager
def _captured(log: Path) -> Iterator[None]:
    """Send a run's prints and Lightning's log lines to its log.txt, keeping the study's own
    output readable."""
    import pytorch_lightning  # noqa: F401 - its log handlers must exist before redirecting

    log.parent.mkdir(parents=True, exist_ok=True)
    handlers = [
        h
        for name in LOGGERS
        for h in logging.getLogger(name).handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    with open(log, "a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        old = [h.setStream(fh) for h in handlers]
        try:
            yield
        finally:
            for h, stream in zip(handlers, old, strict=True):
                h.setStream(stream)


def _why(run_dir: Path) -> str:
    """The recorded error of a failed run, shortened, and where its traceback is."""
    message = json.loads((run_dir / "error.json").read_text()).get("message", "")
    first = (message.splitlines() or ["?"])[0]
    first = first if len(first) <= 200 else first[:197] + "..."
    return f"{first} (see {run_dir / 'traceback.txt'})"


def _record(run_dir: Path, info: dict[str, Any]) -> None:
    write_json(run_dir / "study_run.json", info)


def _fail(run_dir: Path, info: dict[str, Any], exc: BaseException) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "error.json", {"type": type(exc).__name__, "message": str(exc)})
    write_text(
        run_dir / "traceback.txt",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )
    _record(run_dir, {**info, "status": "failed", "error": f"{type(exc).__name__}: {exc}"})


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-GPU (DDP) run: Lightning re-runs the command
    in each (LOCAL_RANK set), and SLURM's srun starts one task per GPU (SLURM_PROCID)."""
    return all(int(os.environ.get(k, "0") or 0) == 0 for k in RANK_VARS)


RANK_VARS = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")


def prepare_out(study: Study, resume: bool) -> None:
    """Create the study directory; an existing one with runs needs ``--resume``."""
    out = study.out
    if not is_rank_zero():
        return  # the DDP worker processes follow rank 0, which has checked already
    if out.exists() and any(out.glob("*/*/config.yaml")) and not resume:
        raise StudyError(
            f"study directory {out} already holds runs; pass --resume to continue it "
            "(finished runs are skipped) or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "study.yaml", yaml.safe_dump(study.spec, sort_keys=False))


def run_study(
    study: Study,
    resume: bool = False,
    train: Callable[[Run], None] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, list[str]]:
    """Run every pretraining and fine-tuning run not yet finished; returns names by status
    (done, skipped, failed). ``train`` runs one fine-tuning run (default: in-process)."""
    prepare_out(study, resume)
    train = train or _train
    t0 = time.monotonic()
    status: dict[str, list[str]] = {"done": [], "skipped": [], "failed": []}
    failed_pre: set[str] = set()
    for p in study.pretrainings.values():
        run_dir = p.encoder.parents[1]
        if _finished(run_dir):
            log(f"[study] pretraining {p.name}: finished earlier, reused")
            continue
        log(f"[study] pretraining {p.name} ({steps_of(p.config)} steps) ...")
        took = _attempt(run_dir, {"kind": "pretrain", "name": p.name}, p.config, _pretrain)
        if took is None:
            failed_pre.add(p.name)
            log(f"[study] pretraining {p.name} FAILED: {_why(run_dir)}")
        else:
            log(f"[study] pretraining {p.name} done in {fmt_seconds(took)}")
    total = len(study.runs)
    todo_steps = {r.name: steps_of(r.config) for r in study.runs if not _finished(r.dir)}
    spent_steps, spent_seconds = 0, 0.0
    for i, run in enumerate(study.runs, 1):
        info = {"kind": "finetune", "name": run.name, "point": run.point}
        blocked = [n for n in run.needs if n in status["failed"]] + [
            n for n in run.pretraining if n in failed_pre
        ]
        if _finished(run.dir):
            try:
                _timed(lambda r=run: _evaluate_extra(study, r), run.dir / "log.txt")
                status["skipped"].append(run.name)
                verdict = "finished earlier, skipped"
            except Exception as exc:  # its extra evaluation fails: record it and go on
                _fail(run.dir, info, exc)
                status["failed"].append(run.name)
                verdict = f"FAILED: {_why(run.dir)}"
        elif blocked:
            _fail(run.dir, info, StudyError(f"needs runs that failed: {blocked}"))
            status["failed"].append(run.name)
            verdict = f"FAILED (needs failed {blocked})"
        else:
            for stale in ("error.json", "traceback.txt"):
                (run.dir / stale).unlink(missing_ok=True)
            took = _attempt(
                run.dir, info, run.config, lambda _c, r=run: (train(r), _evaluate_extra(study, r))
            )
            if took is not None:
                status["done"].append(run.name)
                spent_steps += todo_steps.get(run.name, 0)
                spent_seconds += took
                verdict = f"done in {fmt_seconds(took)}"
            else:
                status["failed"].append(run.name)
                verdict = f"FAILED: {_why(run.dir)}"
        left = sum(todo_steps.get(r.name, 0) for r in study.runs[i:] if not _finished(r.dir))
        eta = f"~{fmt_seconds(left * spent_seconds / spent_steps)}" if spent_steps else "?"
        log(
            f"[study] {i}/{total} {run.name}: {verdict} | elapsed "
            f"{fmt_seconds(time.monotonic() - t0)}, remaining {eta}"
        )
    log(
        f"[study] {len(status['done'])} run(s) done, {len(status['skipped'])} skipped, "
        f"{len(status['failed'])} failed in {fmt_seconds(time.monotonic() - t0)}"
    )
    return status


def _timed(fn: Callable[[], None], log: Path) -> float:
    t = time.monotonic()
    with _captured(log):
        fn()
    return time.monotonic() - t


def _attempt(
    run_dir: Path, info: dict[str, Any], cfg: Any, fn: Callable[[Any], Any]
) -> float | None:
    """Run ``fn(cfg)`` with its output in ``log.txt``; seconds taken, or None on failure."""
    t = time.monotonic()
    try:
        with _captured(run_dir / "log.txt"):
            fn(cfg)
    except KeyboardInterrupt:
        raise
    except RunInterrupted as exc:  # the whole study stops: a scheduler asked it to
        raise RunInterrupted(
            f"study stopped by SIGTERM during {info['name']} ({exc}). Finished runs are kept; "
            "continue the study with the same `fncssl study` command plus --resume"
        ) from None
    except Exception as exc:
        _fail(run_dir, info, exc)
        return None
    took = time.monotonic() - t
    if is_rank_zero():
        _record(
            run_dir,
            {**info, "status": "done", "train_seconds": took, "steps": steps_of(cfg)},
        )
    return took


def _pretrain(cfg: Any) -> None:
    from fncssl.ssl.run import run_pretrain

    run_dir = Path(cfg.run.dir) / cfg.run.name
    run_pretrain(cfg, resume=(run_dir / "checkpoints" / "last.ckpt").is_file())


def _train(run: Run) -> None:
    from fncssl.finetune.run import run_finetune

    resume = (run.dir / "checkpoints" / "last.ckpt").is_file()
    if not resume and (run.dir / "tb").exists():
        shutil.rmtree(run.dir / "tb")  # a run that died before its first checkpoint
    run_finetune(run.config, resume=resume)


def _evaluate_extra(study: Study, run: Run) -> None:
    """Score a finished run on every ``evaluate_on`` test collection not yet scored."""
    if not is_rank_zero():
        return
    for col in study.evaluate_on:
        if run.config.data.collections == [col]:
            continue  # its own test split: metrics.json already holds it
        if not (run.dir / f"eval-test-{col}" / "metrics_paper.json").is_file():
            evaluate_on_collection(run.dir, col)
