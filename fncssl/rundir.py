"""What every training run shares: the run directory's resume rules, its ``config.yaml`` with
provenance, and a Lightning Trainer built from the ``trainer`` config section."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import yaml
from pytorch_lightning.loggers import TensorBoardLogger

from fncssl.config import ExperimentConfig, to_dict
from fncssl.data.atomic import write_text
from fncssl.errors import FNCError
from fncssl.provenance import provenance


def last_checkpoint(run_dir: Path, resume: bool) -> Path:
    """``checkpoints/last.ckpt`` of the run, checking that resuming (or not) makes sense."""
    last = run_dir / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise FNCError(f"--resume: no {last} to continue from")
    if not resume and last.exists():
        raise FNCError(
            f"run {run_dir} already has checkpoints; pass --resume to continue it or "
            "choose another run.name"
        )
    return last


def write_run_config(run_dir: Path, cfg: ExperimentConfig, resume: bool, **extra: Any) -> None:
    """The resolved config plus provenance; a resumed run writes ``config.resume.yaml``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tree = {**to_dict(cfg), **extra, "provenance": provenance()}
    name = "config.resume.yaml" if resume else "config.yaml"
    write_text(run_dir / name, yaml.safe_dump(tree, sort_keys=False))


def build_trainer(
    cfg: ExperimentConfig,
    run_dir: Path,
    callbacks: list[pl.Callback],
    log_every_n_steps: int,
    **extra: Any,
) -> pl.Trainer:
    """A Trainer logging to ``<run_dir>/tb``. Data loaders shard by rank themselves
    (EpochSampler), so Lightning's distributed sampler is off. The progress bar is drawn only
    on a terminal: redirected output stays free of bar redraws."""
    t = cfg.trainer
    extra.setdefault("enable_progress_bar", sys.stdout.isatty())
    return pl.Trainer(
        default_root_dir=run_dir,
        max_epochs=t.max_epochs,
        max_steps=t.max_steps,
        accelerator=t.accelerator,
        devices=t.devices,
        precision=t.precision,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        callbacks=callbacks,
        logger=TensorBoardLogger(str(run_dir), name="tb", version="", default_hp_metric=False),
        log_every_n_steps=log_every_n_steps,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        **extra,
    )
