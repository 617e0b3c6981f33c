"""``fncssl evaluate``: score any whole-model CHECKPOINT on an archive split.

For a run directory the data root and collections default to the run's own (from its
``config.yaml``); results go to ``<run>/eval-<split>/`` unless ``out`` is given.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.evaluation.evaluate import evaluate_records
from fncssl.evaluation.postprocess import PostprocessConfig
from fncssl.finetune.run import data_root
from fncssl.models.inference import load_model, probability_map, probability_maps, tile_config


def evaluate_checkpoint(
    spec: str,
    data: str = "",
    collections: list[str] | None = None,
    split: str = "test",
    out: str = "",
    tile: int = 512,
    overlap: int = 64,
    device: str = "cpu",
    image_batch: int = 1,
    workers: int = 0,
) -> tuple[Path, dict]:
    """(output folder, results per protocol). ``device``, ``image_batch`` (images per batched
    forward; ``tile=0``: whole images) and ``workers`` (post-processing processes) change
    only the speed."""
    run_cfg: dict = {}
    spec_path = Path(spec)
    if spec_path.is_dir() and (spec_path / "config.yaml").is_file():
        run_cfg = yaml.safe_load((spec_path / "config.yaml").read_text()) or {}
    root = Path(data) if data else Path(run_cfg.get("data_root_resolved") or data_root(""))
    cols = collections or run_cfg.get("data", {}).get("collections") or None
    if split not in ("test", "trainval"):
        raise FNCError(f"--split must be test or trainval, got {split!r}")
    records = [r for r in open_archive(root).select(cols, [split]) if r.mask is not None]
    if not records:
        raise FNCError(f"no labelled {split} images for {cols or 'any collection'} in {root}")
    model, arch = load_model(spec)
    model.to(device)
    tiles = tile_config(arch, tile, overlap)
    out_dir = (
        Path(out)
        if out
        else (spec_path if spec_path.is_dir() else spec_path.parent) / (f"eval-{split}")
    )
    results = evaluate_records(
        lambda im: probability_map(model, im, tiles, device),
        records,
        out_dir,
        PostprocessConfig(),
        predict_many=lambda ims: probability_maps(model, ims, tiles, device),
        image_batch=image_batch,
        workers=workers,
    )
    return out_dir, results
