"""A stand-in for fine-tuning: writes what a finished run holds, in milliseconds."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from fncssl.config import to_dict


def paper_metrics(f1: float) -> dict:
    pr = {"f1": f1, "precision": f1, "recall": f1}
    return {
        "segmentation": dict(pr),
        "detection": dict(pr),
        "counting": {"mae": 1 - f1, "medae": 0.0, "mpe": 0.1},
        "coco": {"segm": {"ap": f1 / 2, "ap50": f1, "ap75": 0.0}},
    }


def f1_of(name: str) -> float:
    """Deterministic per run: 0.5, +0.1 for the preset init, +0.01 * seed."""
    seed = int(name.rsplit("seed=", 1)[1]) if "seed=" in name else 0
    return 0.5 + (0.1 if "init=teacher" in name else 0.0) + 0.01 * seed


def fake_train(run, fail: set[str] = frozenset(), root: str = "/nowhere") -> None:
    """Write config.yaml, split.json, tb/ events and metrics.json for ``run``."""
    from torch.utils.tensorboard import SummaryWriter

    if run.name in fail:
        raise RuntimeError(f"planned failure of {run.name}")
    d: Path = run.dir
    d.mkdir(parents=True, exist_ok=True)
    for need in run.needs:  # references ran first
        assert (d.parent / need / "metrics.json").is_file(), need
    tree = {**to_dict(run.config), "data_root_resolved": root}
    (d / "config.yaml").write_text(yaml.safe_dump(tree))
    (d / "split.json").write_text(json.dumps({"train": [], "train_pool": [], "val": []}))
    f1 = f1_of(run.name)
    with SummaryWriter(str(d / "tb")) as w:
        for step in range(3):
            w.add_scalar("train/loss_epoch", 1.0 - 0.1 * step, step)
            w.add_scalar("val/dice", f1 * step / 2, step)
    (d / "metrics.json").write_text(json.dumps({"paper": paper_metrics(f1)}))
