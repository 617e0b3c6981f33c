"""``fncssl finetune``: one fine-tuning run, end to end, into ``runs/<name>/``.

The run directory holds ``config.yaml`` (resolved config + provenance: git SHA, versions,
command), ``split.json`` (exact image lists), ``tb/`` (TensorBoard), ``checkpoints/``
(``best.ckpt`` by validation Dice, ``last.ckpt`` every epoch), and after training
``metrics.json`` (best checkpoint on the test split, both protocols) and ``table2.md``.
Every check on the inputs runs before training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

from fncssl.config import to_dict
from fncssl.data.atomic import write_json, write_text
from fncssl.data.check import check_pairs
from fncssl.data.datasets import DecodedImageCache
from fncssl.data.default_archive import data_root
from fncssl.data.layout import open_archive
from fncssl.errors import ConfigError, FNCError
from fncssl.evaluation.evaluate import evaluate_records
from fncssl.evaluation.report import table2_markdown
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.datamodule import SegmentationData, check_crop_fits
from fncssl.finetune.device_crops import DeviceImageBank
from fncssl.finetune.module import SegmentationModule
from fncssl.finetune.splits import Split, make_split, write_split
from fncssl.models.checkpoint import load_strict, read_weights
from fncssl.models.init import initialise
from fncssl.models.registry import model_from_config, size_multiple
from fncssl.rundir import build_trainer, fit_or_explain, last_checkpoint, write_run_config

if TYPE_CHECKING:
    from fncssl.semisup.run import Hooks


def default_run_name(cfg: FinetuneConfig) -> str:
    """``finetune-<arch>-<collections>-<init>-f<fraction>-s<seed>``; an ``ssl:``/``checkpoint:``
    init names its source run (the folder above ``checkpoints/``) or file stem."""
    cols = "-".join(cfg.data.collections)
    kind, _, path = cfg.model.init.partition(":")
    init = kind
    if path:
        p = Path(path)
        source = p.parent.parent.name if p.parent.name == "checkpoints" else p.name
        init = f"{kind}-{source or p.stem}"
    return f"finetune-{cfg.model.arch}-{cols}-{init}-f{cfg.data.label_fraction:g}-s{cfg.seed}"


def prepare_split(
    cfg: FinetuneConfig, cache: DecodedImageCache | None = None
) -> tuple[Path, Split]:
    """(archive root, split) after checking every selected image/mask pair once (all problems
    in one error; pairs are decoded into ``cache`` when they fit)."""
    root = data_root(cfg.data.root)
    archive = open_archive(root)
    for c in cfg.data.collections:
        if not archive.select([c], ["trainval"]):
            raise FNCError(f"collection {c!r} has no labelled trainval images in {root}")
    trainval = archive.select(cfg.data.collections, ["trainval"])
    test = archive.select(cfg.data.collections, ["test"])
    check_pairs(trainval + test, cfg.data.binarise, cache, f"the selected images of {root}")
    split = make_split(
        trainval,
        test,
        cfg.data.val_fraction,
        cfg.data.label_fraction,
        cfg.seed,
        binarise=cfg.data.binarise,
        label_count=cfg.data.label_count,
    )
    check_crop_fits(split, cfg.data.crop_size, size_multiple(cfg.model.arch))
    return root, split


def run_dir_for(cfg: FinetuneConfig) -> Path:
    return Path(cfg.run.dir) / (cfg.run.name or default_run_name(cfg))


def finetune_trainer(cfg: FinetuneConfig, run_dir: Path) -> pl.Trainer:
    ckpt_dir = run_dir / "checkpoints"
    callbacks = [
        # best.ckpt by validation Dice; last.ckpt after every epoch, for --resume (Lightning's
        # save_last only writes when a new best is saved, so it gets its own callback).
        ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="best",
            monitor="val/dice",
            mode="max",
            save_top_k=1,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        ),
        ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="last",
            monitor=None,
            save_top_k=1,
            enable_version_counter=False,
        ),
        LearningRateMonitor(logging_interval="step"),
    ]
    if cfg.early_stopping_patience > 0:
        callbacks.append(
            EarlyStopping("val/dice", mode="max", patience=cfg.early_stopping_patience)
        )
    return build_trainer(cfg, run_dir, callbacks, cfg.log_every_n_steps)


SCHEDULE_KEYS = (
    ("trainer", "max_epochs"),
    ("trainer", "max_steps"),
    ("data", "batch_size"),
    ("data", "samples_per_epoch"),
    ("optim", "schedule"),
)


def check_resume_compatible(cfg: FinetuneConfig, run_dir: Path) -> None:
    """A one-cycle schedule has a fixed length: resuming must keep what determines it."""
    saved_path = run_dir / "config.yaml"
    if cfg.optim.schedule != "onecycle" or not saved_path.is_file():
        return
    saved = yaml.safe_load(saved_path.read_text()) or {}
    now = to_dict(cfg)
    changed = [
        f"{a}.{b}: {saved.get(a, {}).get(b)!r} -> {now[a][b]!r}"
        for a, b in SCHEDULE_KEYS
        if saved.get(a, {}).get(b) != now[a][b]
    ]
    if changed:
        raise FNCError(
            "--resume continues the same one-cycle schedule, but these settings "
            f"changed: {'; '.join(changed)} (use optim.schedule=constant to extend)"
        )


def run_finetune(cfg: FinetuneConfig, resume: bool = False, hooks: Hooks | None = None) -> Path:
    """Train, keep the best checkpoint, evaluate it on the test split; returns the run dir.

    With ``semisup.mode`` other than none, :mod:`fncssl.semisup.run` takes over; it calls back
    here with ``hooks`` (a :class:`fncssl.semisup.run.Hooks`) that build its module and data.
    """
    if hooks is None and cfg.semisup.mode != "none":
        from fncssl.semisup.run import run_semisup

        return run_semisup(cfg, resume)
    cache = DecodedImageCache()
    root, split = prepare_split(cfg, cache)
    run_dir = run_dir_for(cfg)
    last = last_checkpoint(run_dir, resume)
    if resume:
        check_resume_compatible(cfg, run_dir)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = model_from_config(cfg.model)
    init_note = initialise(model, cfg.model.init, cfg.model.arch)
    print(f"[finetune] {init_note}")
    write_run_config(run_dir, cfg, resume, data_root_resolved=str(root), init_note=init_note)
    write_split(
        run_dir / "split.json", split, cfg.seed, cfg.data.label_fraction, cfg.data.label_count
    )
    print(
        f"[finetune] {len(split.train)} training / {len(split.val)} validation / "
        f"{len(split.test)} test images; run directory {run_dir}"
    )
    module = hooks.module(model, split) if hooks else SegmentationModule(model, cfg, split.val)
    if cfg.speed.compile:
        module.model = torch.compile(model)
    if hooks:
        if cfg.speed.device_crops:
            raise ConfigError("speed.device_crops does not apply with semisup.mode; set it false")
        data = hooks.data(split)
    else:
        data = SegmentationData(split, cfg, cache)
        if cfg.speed.device_crops:
            module.bank = DeviceImageBank([data.train_set, data.val_set])
    trainer = finetune_trainer(cfg, run_dir)
    if cfg.optim.lr_find and not resume:
        from pytorch_lightning.tuner import Tuner

        found = Tuner(trainer).lr_find(module, datamodule=data, attr_name="lr")
        if found is not None and found.suggestion():
            cfg.optim.lr = module.lr = float(found.suggestion())
        print(f"[finetune] LR finder: using lr = {module.lr:.2e}")
        write_run_config(run_dir, cfg, resume, data_root_resolved=str(root), init_note=init_note)
    fit_or_explain(trainer, module, data, str(last) if resume else None, run_dir)
    module.model = model  # the uncompiled network shares the compiled one's weights
    if not trainer.is_global_zero:
        return run_dir  # under DDP, rank 0 alone evaluates and writes the results
    metrics = evaluate_best(module, run_dir, split)
    if metrics and trainer.logger is not None:
        paper = metrics["paper"]
        trainer.logger.log_hyperparams(
            _flat_hparams(to_dict(cfg)),
            {
                "test/seg_f1": paper["segmentation"]["f1"],
                "test/det_f1": paper["detection"]["f1"],
                "test/count_mae": paper["counting"]["mae"],
                "test/dice": paper["pixel"]["dice"],
            },
        )
    return run_dir


def _flat_hparams(tree: dict, prefix: str = "") -> dict:
    """Nested config -> {"a.b": scalar} for TensorBoard's hparams tab."""
    out: dict = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat_hparams(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v if isinstance(v, int | float | str | bool) else str(v)
    return out


def evaluate_best(module: SegmentationModule, run_dir: Path, split: Split) -> dict:
    """Load the best checkpoint into ``module`` and score it on the test split."""
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    if not ckpt.is_file():
        ckpt = run_dir / "checkpoints" / "last.ckpt"
    weights = read_weights(ckpt)
    load_strict(module.model, weights.state_dict, str(ckpt))
    if not split.test:
        print("[finetune] no test images: skipping the test evaluation")
        return {}
    e = module.cfg.eval
    results = evaluate_records(
        module.predict_probability,
        split.test,
        run_dir / "test",
        e.postprocess,
        binarise=module.cfg.data.binarise,
        predict_many=module.predict_probabilities,
        image_batch=e.image_batch,
        workers=e.workers,
    )
    metrics = {"checkpoint": str(ckpt), "split": "test", **results}
    write_json(run_dir / "metrics.json", metrics)
    table = table2_markdown(
        {f"{run_dir.name} ({p})": r for p, r in results.items()}, with_paper=True
    )
    write_text(run_dir / "table2.md", table)
    print(table)
    return metrics
