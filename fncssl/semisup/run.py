"""Running the semi-supervised modes of ``fncssl finetune``.

``consistency``: one run directory, like supervised fine-tuning, with the
:class:`~fncssl.semisup.module.SemiSupervisedModule` and unlabelled crops.

``pseudolabel``: a parent run directory ``<run>/`` with

* ``teacher/``: a supervised run at the same split, trained first when ``semisup.teacher`` is
  empty (and no labelled ``semisup.pseudo_dir`` is given);
* ``round-<k>/``: one fine-tuning run per round, with its pseudo-labels in ``round-<k>/pseudo``
  (round 1 uses ``semisup.pseudo_dir`` when given); the student of round k is the teacher of
  round k + 1;
* ``rounds.json``: each round's run directory, teacher, pseudo-label folder and test scores;
* the final round's ``metrics.json``, ``table2.md``, ``split.json`` and ``checkpoints/``
  (hard links), so the parent is itself a CHECKPOINT and a study reads it like any run.

The unlabelled images are the archive's ``unlabelled`` partition of ``data.collections``
(the first ``semisup.max_unlabelled`` if set) plus, with ``semisup.unlabelled_pool``, the
training-pool images outside the labelled subset (their masks are never read). Validation and
test images are never pseudo-labelled.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytorch_lightning import LightningDataModule
from torch import nn

from fncssl.data.atomic import write_json
from fncssl.data.datasets import UnlabelledCrops
from fncssl.data.layout import ImageRecord, open_archive
from fncssl.errors import FNCError
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.module import SegmentationModule
from fncssl.finetune.run import default_run_name, prepare_split, run_dir_for, run_finetune
from fncssl.finetune.splits import Split
from fncssl.models.inference import load_model
from fncssl.rundir import write_run_config
from fncssl.semisup.datamodule import SemiSupervisedData, unlabelled_samples
from fncssl.semisup.dataset import PseudoLabelCrops
from fncssl.semisup.manifest import MANIFEST, check_manifest, read_manifest, teacher_identity
from fncssl.semisup.module import SemiSupervisedModule
from fncssl.semisup.pseudolabel import unlabelled_records, write_pseudolabels

UNLABELLED_SEED_OFFSET = 20_000


@dataclass
class Hooks:
    """What :func:`fncssl.finetune.run.run_finetune` builds instead of its defaults."""

    module: Callable[[nn.Module, Split], SegmentationModule]
    data: Callable[[Split], LightningDataModule]


def student_unlabelled(cfg: FinetuneConfig, root: Path, split: Split) -> list[ImageRecord]:
    """The images the student learns from without their labels (see the module docstring)."""
    labelled = {r.key for r in split.train}
    pool = [r for r in split.pool if r.key not in labelled] if cfg.semisup.unlabelled_pool else []
    return unlabelled_records(
        open_archive(root), cfg.data.collections, cfg.semisup.max_unlabelled, pool=pool
    )


def run_semisup(cfg: FinetuneConfig, resume: bool = False) -> Path:
    """Dispatch on ``semisup.mode``; returns the (parent) run directory."""
    cfg = copy.deepcopy(cfg)
    if not cfg.run.name:
        cfg.run.name = f"{default_run_name(cfg)}-{cfg.semisup.mode}"
    if cfg.semisup.mode == "consistency":
        return run_consistency(cfg, resume)
    if resume:
        raise FNCError(
            "--resume is not supported for semisup.mode=pseudolabel (rounds restart from "
            "their pseudo-labels); start a new run.name, reusing semisup.pseudo_dir"
        )
    return run_pseudolabel_rounds(cfg)


def run_consistency(cfg: FinetuneConfig, resume: bool) -> Path:
    root, split = prepare_split(cfg)
    records = student_unlabelled(cfg, root, split)
    d = cfg.data
    print(f"[semisup] consistency training with {len(records)} unlabelled image(s)")

    def data(split: Split) -> LightningDataModule:
        crops = UnlabelledCrops(
            records,
            d.crop_size,
            unlabelled_samples(cfg),
            d.foreground_bias,
            cfg.seed + UNLABELLED_SEED_OFFSET,
        )
        return SemiSupervisedData(split, cfg, crops)

    hooks = Hooks(lambda model, split: SemiSupervisedModule(model, cfg, split.val), data)
    return run_finetune(cfg, resume, hooks)


def _sub_config(cfg: FinetuneConfig, parent: Path, name: str, **semisup) -> FinetuneConfig:
    sub = copy.deepcopy(cfg)
    sub.run.dir, sub.run.name = str(parent), name
    for key, value in semisup.items():
        setattr(sub.semisup, key, value)
    return sub


def run_pseudolabel_rounds(cfg: FinetuneConfig) -> Path:
    s = cfg.semisup
    parent = run_dir_for(cfg)
    if (parent / "rounds.json").exists() or (parent / "round-1").exists():
        raise FNCError(f"run {parent} already exists; choose another run.name")
    root, split = prepare_split(cfg)
    records = student_unlabelled(cfg, root, split)
    given = Path(s.pseudo_dir) if s.pseudo_dir else None
    teacher = s.teacher
    reuse = given is not None and (given / MANIFEST).is_file()
    if reuse:  # checked before anything is written
        check_manifest(given, records, teacher_identity(teacher) if teacher else None)
        if not teacher:
            labelled_by = read_manifest(given)["teacher"]["checkpoint"]
            teacher = labelled_by if Path(labelled_by).exists() else ""
    write_run_config(parent, cfg, False, data_root_resolved=str(root))
    if not teacher and not reuse:
        print("[semisup] no semisup.teacher: training one at the same split first")
        teacher = str(run_finetune(_sub_config(cfg, parent, "teacher", mode="none")))
    rounds: list[dict] = []
    for k in range(1, s.rounds + 1):
        name = f"round-{k}"
        pseudo = given if (k == 1 and given is not None) else parent / name / "pseudo"
        identity = teacher_identity(teacher) if teacher else None
        if (pseudo / MANIFEST).is_file():
            check_manifest(pseudo, records, identity)
            print(f"[semisup] round {k}: reusing pseudo-labels in {pseudo}")
        else:
            write_pseudolabels(
                teacher, records, pseudo, s.tta, cfg.eval.tile, cfg.eval.overlap,
                s.tile_batch_size,
            )  # fmt: skip
        sub = _sub_config(cfg, parent, name, teacher=teacher, pseudo_dir=str(pseudo), rounds=1)
        if s.init_from_teacher and teacher:
            sub.model.init = f"checkpoint:{teacher}"
        run = run_finetune(sub, False, _pseudo_hooks(sub, records, pseudo, teacher))
        rounds.append(_round_entry(k, run, teacher, pseudo))
        write_json(parent / "rounds.json", {"parent": str(parent), "rounds": rounds})
        teacher = str(run)
    _promote(parent, Path(teacher))
    return parent


def _pseudo_hooks(
    cfg: FinetuneConfig, records: list[ImageRecord], pseudo: Path, teacher: str
) -> Hooks:
    s, d = cfg.semisup, cfg.data
    frozen = load_model(teacher)[0] if teacher else None

    def data(split: Split) -> LightningDataModule:
        crops = PseudoLabelCrops(
            records, pseudo, d.crop_size, unlabelled_samples(cfg), d.foreground_bias,
            cfg.seed + UNLABELLED_SEED_OFFSET, s.high, s.min_object_size,
            s.min_object_confidence,
        )  # fmt: skip
        return SemiSupervisedData(split, cfg, crops)

    return Hooks(lambda model, split: SemiSupervisedModule(model, cfg, split.val, frozen), data)


def _round_entry(k: int, run: Path, teacher: str, pseudo: Path) -> dict:
    import json

    entry = {"round": k, "run_dir": str(run), "teacher": teacher, "pseudo_dir": str(pseudo)}
    metrics = run / "metrics.json"
    if metrics.is_file():
        paper = json.loads(metrics.read_text()).get("paper", {})
        entry["test"] = {
            "seg_f1": paper.get("segmentation", {}).get("f1"),
            "det_f1": paper.get("detection", {}).get("f1"),
            "dice": paper.get("pixel", {}).get("dice"),
        }
    return entry


def _promote(parent: Path, final: Path) -> None:
    """Give the parent the final round's results and checkpoints (hard links where possible)."""
    for name in ("metrics.json", "table2.md", "split.json"):
        if (final / name).is_file():
            shutil.copy2(final / name, parent / name)
    (parent / "checkpoints").mkdir(exist_ok=True)
    for ckpt in (final / "checkpoints").glob("*.ckpt"):
        dst = parent / "checkpoints" / ckpt.name
        dst.unlink(missing_ok=True)
        try:
            os.link(ckpt, dst)
        except OSError:
            shutil.copy2(ckpt, dst)
