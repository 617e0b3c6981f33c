"""``fncssl pretrain``: one self-supervised pretraining run into ``runs/<name>/``.

Writes ``config.yaml`` (+ provenance), ``images.json`` (the exact pretraining and probe image
lists), ``tb/``, ``checkpoints/last.ckpt`` (every epoch, for ``--resume``),
``checkpoints/encoder.pt`` (encoder weights + config, loadable with ``weights_only=True``; the
input of ``fncssl finetune ... model.init=ssl:PATH``) and ``metrics.json`` (probe history).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
from torch.utils.data import DataLoader

from fncssl.config import to_dict
from fncssl.data.atomic import atomic_open, write_json
from fncssl.data.check import check_pairs
from fncssl.data.datasets import EpochSampler, UnlabelledCrops
from fncssl.data.default_archive import data_root
from fncssl.data.imageio import image_size
from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.models.registry import model_from_config, size_multiple
from fncssl.rundir import build_trainer, fit_or_explain, last_checkpoint, write_run_config
from fncssl.ssl.config import PretrainConfig
from fncssl.ssl.data import assert_no_test, pretraining_records
from fncssl.ssl.methods import method_class
from fncssl.ssl.probe import PixelProbe


class UnlabelledData(pl.LightningDataModule):
    def __init__(self, dataset: UnlabelledCrops, cfg: PretrainConfig) -> None:
        super().__init__()
        self.dataset, self.cfg = dataset, cfg

    def train_dataloader(self) -> DataLoader:
        d = self.cfg.data
        rank, world = (
            (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        )
        return DataLoader(
            self.dataset,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            sampler=EpochSampler(len(self.dataset), rank, world),
            persistent_workers=d.num_workers > 0,
            drop_last=True,
            pin_memory=torch.cuda.is_available(),
            collate_fn=lambda items: {"image": torch.stack([i["image"] for i in items])},
        )


class ExportEncoder(pl.Callback):
    """Write ``encoder.pt`` atomically after every epoch (global rank 0 only)."""

    def __init__(self, path: Path, cfg: PretrainConfig) -> None:
        self.path, self.cfg = path, cfg

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            export_encoder(self.path, pl_module.encoder, self.cfg, trainer.global_step)


def export_encoder(path: Path, encoder: torch.nn.Module, cfg: PretrainConfig, step: int) -> None:
    payload = {
        "encoder": {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
        "config": {
            "model": to_dict(cfg.model),
            "method": cfg.ssl.method,
            "step": step,
            "seed": cfg.seed,
        },
    }
    with atomic_open(path) as fh:
        torch.save(payload, fh)


def feature_dim(encoder: torch.nn.Module, multiple: int) -> int:
    with torch.no_grad():
        was = encoder.training
        encoder.eval()
        out = encoder(torch.zeros(2, 3, 4 * multiple, 4 * multiple))[-1].shape[1]
        encoder.train(was)
    return int(out)


def run_pretrain(cfg: PretrainConfig, resume: bool = False) -> Path:
    """Pretrain the encoder; returns the run directory."""
    cls = method_class(cfg.ssl.method)
    if cfg.data.batch_size < cls.min_batch_size:
        raise FNCError(
            f"ssl.method={cfg.ssl.method} needs data.batch_size >= "
            f"{cls.min_batch_size} per process, got {cfg.data.batch_size}"
        )
    if cfg.ssl.sync_batchnorm and (
        cfg.trainer.accelerator == "cpu" or not torch.cuda.is_available()
    ):
        raise FNCError(
            "ssl.sync_batchnorm needs CUDA devices (PyTorch's SyncBatchNorm has no "
            "CPU implementation); leave it off for CPU/gloo runs"
        )
    root = data_root(cfg.data.root)
    archive = open_archive(root)
    records = pretraining_records(
        archive, cfg.data.collections, cfg.ssl.include_trainval, cfg.ssl.extra_images
    )
    multiple = size_multiple(cfg.model.arch)
    if cfg.views.size % multiple or cfg.views.size > cfg.ssl.source_crop:
        raise FNCError(
            f"views.size={cfg.views.size} must be a multiple of {multiple} and at most "
            f"ssl.source_crop={cfg.ssl.source_crop}"
        )
    smallest = min(min(image_size(r.image)) for r in records)
    if smallest < cfg.ssl.source_crop:
        raise FNCError(
            f"ssl.source_crop={cfg.ssl.source_crop} is larger than the smallest "
            f"pretraining image side ({smallest} px)"
        )
    probe_records = [r for r in archive.select(cfg.data.collections, ["trainval"]) if r.mask]
    probe_records = probe_records[: cfg.probe.images]
    assert_no_test(probe_records, archive.select(None, ["test"]))
    check_pairs(probe_records, cfg.data.binarise, what="the probe's labelled images")
    run_dir = Path(cfg.run.dir) / (
        cfg.run.name
        or f"pretrain-{cfg.ssl.method}-{cfg.model.arch}"
        f"-{'-'.join(cfg.data.collections)}-s{cfg.seed}"
    )
    last = last_checkpoint(run_dir, resume)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = model_from_config(cfg.model)
    encoder = model.encoder
    probe = (
        PixelProbe(probe_records, cfg.probe, cfg.seed, cfg.data.binarise)
        if (cfg.probe.enabled and len(probe_records) >= 2)
        else None
    )
    module = cls(encoder, feature_dim(encoder, multiple), cfg, probe)
    write_run_config(run_dir, cfg, resume, data_root_resolved=str(root))
    write_json(
        run_dir / "images.json",
        {"pretraining": [r.key for r in records], "probe": [r.key for r in probe_records]},
    )
    print(
        f"[pretrain] {cfg.ssl.method} on {len(records)} images "
        f"({', '.join(cfg.data.collections)}); run directory {run_dir}"
    )
    dataset = UnlabelledCrops(
        records, cfg.ssl.source_crop, cfg.data.samples_per_epoch, cfg.data.foreground_bias, cfg.seed
    )
    callbacks = [
        ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="last",
            monitor=None,
            save_top_k=1,
            enable_version_counter=False,
        ),
        ExportEncoder(run_dir / "checkpoints" / "encoder.pt", cfg),
        LearningRateMonitor(logging_interval="step"),
    ]
    trainer = build_trainer(
        cfg, run_dir, callbacks, cfg.log_every_n_steps, sync_batchnorm=cfg.ssl.sync_batchnorm
    )
    data = UnlabelledData(dataset, cfg)
    fit_or_explain(trainer, module, data, str(last) if resume else None, run_dir)
    if trainer.is_global_zero:
        export_encoder(
            run_dir / "checkpoints" / "encoder.pt", module.encoder, cfg, trainer.global_step
        )
        write_json(
            run_dir / "metrics.json",
            {"probe": getattr(module, "probe_history", []), "global_step": trainer.global_step},
        )
    return run_dir
