"""What every training run shares: the run directory's resume rules, its ``config.yaml`` with
provenance, and a Lightning Trainer built from the ``trainer`` config section."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from lightning_fabric.plugins.environments import SLURMEnvironment
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fncssl.config import ExperimentConfig, to_dict
from fncssl.data.atomic import write_text
from fncssl.errors import FNCError, RunInterrupted
from fncssl.provenance import provenance


def slurm_requeued(run_dir: Path) -> bool:
    """A SLURM job requeued by Lightning: its ``hpc_ckpt_*.ckpt`` is in the run directory and
    Lightning restores it itself (``fit(ckpt_path=None)``), so no ``--resume`` is needed."""
    return SLURMEnvironment.detect() and any(run_dir.glob("hpc_ckpt_*.ckpt"))


def last_checkpoint(run_dir: Path, resume: bool) -> Path:
    """``checkpoints/last.ckpt`` of the run, checking that resuming (or not) makes sense."""
    last = run_dir / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise FNCError(f"--resume: no {last} to continue from")
    if not resume and last.exists() and not slurm_requeued(run_dir):
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


def fit_or_explain(
    trainer: pl.Trainer,
    module: pl.LightningModule,
    datamodule: pl.LightningDataModule | None,
    ckpt_path: str | None,
    run_dir: Path,
) -> None:
    """``trainer.fit``; a SIGTERM (Lightning stops and raises SIGTERMException, a SystemExit
    with status 0) becomes :class:`RunInterrupted`, so schedulers see a failure, with the
    way to resume. Under SLURM auto-requeue Lightning has already requeued the job."""
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        raise RunInterrupted(
            f"stopped by SIGTERM at epoch {trainer.current_epoch}, step {trainer.global_step}; "
            f"{run_dir / 'checkpoints' / 'last.ckpt'} holds the last finished epoch. Continue "
            "with the same command plus --resume"
        ) from None


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
    if torch.cuda.is_available() and t.accelerator != "cpu":
        torch.set_float32_matmul_precision("high")  # TF32 matmuls/convs for fp32 on CUDA
    show_bar = bool(extra.pop("enable_progress_bar", sys.stdout.isatty()))
    # the progress bar reads logged values (a GPU sync) at every refresh: refresh when logging
    bar = [TQDMProgressBar(refresh_rate=max(log_every_n_steps, 1))] if show_bar else []
    return pl.Trainer(
        default_root_dir=run_dir,
        max_epochs=t.max_epochs,
        max_steps=t.max_steps,
        accelerator=t.accelerator,
        devices=t.devices,
        precision=t.precision,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        profiler=t.profiler or None,
        callbacks=[*callbacks, *bar],
        enable_progress_bar=show_bar,
        logger=TensorBoardLogger(str(run_dir), name="tb", version="", default_hp_metric=False),
        log_every_n_steps=log_every_n_steps,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        **extra,
    )
