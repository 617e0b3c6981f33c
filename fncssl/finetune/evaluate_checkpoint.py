"""``fncssl evaluate``: score any whole-model CHECKPOINT on an archive split.

For a run directory the data root and collections default to the run's own (from its
``config.yaml``); results go to ``<run>/eval-<split>/`` unless ``out`` is given. A run or
Lightning checkpoint carries its evaluation settings (``eval.tile``, ``eval.overlap``,
``eval.postprocess``, ``data.binarise``), so ``evaluate`` and ``predict`` reproduce the run's own
``table2.md``; arguments given explicitly override them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from fncssl.config import apply_overrides, build
from fncssl.data.default_archive import data_root
from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.evaluation.evaluate import evaluate_records
from fncssl.evaluation.postprocess import PostprocessConfig
from fncssl.models.inference import (
    load_model_with_config,
    probability_map,
    probability_maps,
    tile_config,
)
from fncssl.models.tiling import TileConfig


def run_config(spec: str | Path) -> dict:
    """A run directory's ``config.yaml`` as a dict (``{}`` for anything else)."""
    path = Path(spec) / "config.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def eval_settings(
    config: dict,
    arch: str,
    tile: int | None = None,
    overlap: int | None = None,
    postprocess: list[str] | None = None,
) -> tuple[TileConfig, PostprocessConfig]:
    """Tiling and post-processing from a saved config's ``eval`` section; explicit ``tile``,
    ``overlap`` and ``postprocess`` overrides (``key=value``, keys of PostprocessConfig) win."""
    ev = config.get("eval") or {}
    post_tree = apply_overrides(ev.get("postprocess") or {}, list(postprocess or []))
    post = build(PostprocessConfig, post_tree, "eval.postprocess.")
    tiles = tile_config(
        arch,
        tile if tile is not None else int(ev.get("tile", 512)),
        overlap if overlap is not None else int(ev.get("overlap", 64)),
    )
    return tiles, post


def evaluate_checkpoint(
    spec: str,
    data: str = "",
    collections: list[str] | None = None,
    split: str = "test",
    out: str = "",
    tile: int | None = None,
    overlap: int | None = None,
    postprocess: list[str] | None = None,
    *,
    device: str = "cpu",
    image_batch: int = 1,
    workers: int = 0,
) -> tuple[Path, dict]:
    """(output folder, results per protocol). Tiling and post-processing default to the
    run's own ``eval`` settings. ``device``, ``image_batch`` (images per batched forward;
    ``tile=0``: whole images) and ``workers`` (post-processing processes) change only the
    speed."""
    spec_path = Path(spec)
    if split not in ("test", "trainval"):
        raise FNCError(f"--split must be test or trainval, got {split!r}")
    model, arch, saved = load_model_with_config(spec)  # a bad checkpoint fails before data work
    model.to(device)
    run_cfg = run_config(spec)
    settings = run_cfg or saved
    saved_data = settings.get("data") or {}
    root = Path(
        data or settings.get("data_root_resolved") or saved_data.get("root") or data_root("")
    )
    cols = collections or saved_data.get("collections") or None
    records = [r for r in open_archive(root).select(cols, [split]) if r.mask is not None]
    if not records:
        raise FNCError(f"no labelled {split} images for {cols or 'any collection'} in {root}")
    tiles, post = eval_settings(settings, arch, tile, overlap, postprocess)
    out_dir = (
        Path(out)
        if out
        else (spec_path if spec_path.is_dir() else spec_path.parent) / (f"eval-{split}")
    )
    results = evaluate_records(
        lambda im: probability_map(model, im, tiles, device),
        records,
        out_dir,
        post,
        binarise=bool((settings.get("data") or {}).get("binarise", False)),
        predict_many=lambda ims: probability_maps(model, ims, tiles, device),
        image_batch=image_batch,
        workers=workers,
    )
    return out_dir, results
