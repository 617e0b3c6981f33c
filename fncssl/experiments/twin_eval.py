"""Scoring a finished run on another collection's test split, twins excluded.

Cross-collection transfer tests a model trained on one collection on the test images of
another. A green test image whose yellow twin (the same slice) was among the run's training
or validation images would leak, so such images are left out and listed in
``eval-test-<collection>/excluded.json``. (In FNC v2 and the synthetic archive twins always
share a partition, so the list is normally empty; the check guards other archives.)
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from fncssl.config import build
from fncssl.data.atomic import write_json
from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.evaluation.evaluate import evaluate_records
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.twins import twins_of
from fncssl.models.inference import load_model, probability_map, tile_config

RUN_EXTRA_KEYS = ("data_root_resolved", "init_note", "provenance")


def run_config(run_dir: Path) -> tuple[FinetuneConfig, Path]:
    """(the run's resolved config, its data root) from ``config.yaml``."""
    tree = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    root = Path(tree.get("data_root_resolved") or "")
    return build(FinetuneConfig, {k: v for k, v in tree.items() if k not in RUN_EXTRA_KEYS}), root


def evaluate_on_collection(run_dir: Path, collection: str) -> dict:
    """Score the run's best checkpoint on ``collection``'s test images; writes and returns
    the results per protocol (as ``metrics.json`` holds them)."""
    cfg, root = run_config(run_dir)
    split = json.loads((run_dir / "split.json").read_text())
    archive = open_archive(root)
    seen_keys = set(split["train_pool"]) | set(split["val"])
    seen = [r for r in archive.records if r.key in seen_keys]
    test = [r for r in archive.select([collection], ["test"]) if r.mask is not None]
    leaking = twins_of(seen, test) | ({r.key for r in test} & seen_keys)
    records = [r for r in test if r.key not in leaking]
    if not records:
        raise FNCError(f"{run_dir}: no {collection} test images left to evaluate on in {root}")
    out = run_dir / f"eval-test-{collection}"
    best = run_dir / "checkpoints" / "best.ckpt"
    model, arch = load_model(best if best.is_file() else run_dir)
    tiles = tile_config(arch, cfg.eval.tile, cfg.eval.overlap)
    results = evaluate_records(
        lambda im: probability_map(model, im, tiles), records, out, cfg.eval.postprocess
    )
    write_json(out / "excluded.json", {"twins_of_training_images": sorted(leaking)})
    return results
