"""Scoring a set of images: per-image matches summed into the results of DESIGN.md.

``score_images`` takes (name, true mask, predicted mask or instances) triples and returns the
JSON-ready dict ``{"protocol", "iou_threshold", "distance_threshold", "segmentation",
"detection", "counting", "pixel", "images": [...]}``; TP/FP/FN are summed over images before
precision, recall and F1. ``score_folders`` pairs two mask folders by file stem (so any tool's
output can be scored) and ``write_results`` writes the JSON and a per-image CSV atomically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from fncssl.config import check_setting, setting
from fncssl.data.atomic import write_json, write_text
from fncssl.data.imageio import read_mask
from fncssl.data.layout import IMAGE_SUFFIXES
from fncssl.errors import DataError, first_few
from fncssl.evaluation.counting import counting_errors, pixel_scores
from fncssl.evaluation.instances import to_instances
from fncssl.evaluation.matching import PROTOCOLS, Counts, match_image


@dataclass(frozen=True)
class ScoreConfig:
    """Protocol and thresholds (the paper's defaults)."""

    protocol: str = "paper"
    iou_threshold: float = setting(0.5, ge=0.0, lt=1.0)
    distance_threshold: float = setting(40.0, gt=0.0)  # px

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise DataError(f"unknown protocol {self.protocol!r}; valid: {list(PROTOCOLS)}")
        for f in fields(self):  # the declared bounds; the key names the CLI option too
            option = "--" + f.name.replace("_", "-")
            check_setting(f, getattr(self, f.name), f"{f.name} ({option})")


def score_images(
    items: Iterable[tuple[str, np.ndarray, np.ndarray]], cfg: ScoreConfig = ScoreConfig()
) -> dict:
    """Score (name, truth, prediction) triples; masks may be boolean or instance labels."""
    seg, det = Counts(), Counts()
    inter = true_px = pred_px = 0
    true_counts, pred_counts, images = [], [], []
    for name, truth, pred in items:
        if np.shape(truth) != np.shape(pred):
            raise DataError(
                f"{name}: true mask {np.shape(truth)} and prediction "
                f"{np.shape(pred)} differ in size"
            )
        t_lab, p_lab = (
            to_instances(truth, f"{name} (truth)"),
            to_instances(pred, f"{name} (prediction)"),
        )
        m = match_image(t_lab, p_lab, cfg.protocol, cfg.iou_threshold, cfg.distance_threshold)
        seg, det = seg + m.segmentation, det + m.detection
        t_fg, p_fg = t_lab > 0, p_lab > 0
        i_px = int(np.count_nonzero(t_fg & p_fg))
        inter, true_px, pred_px = inter + i_px, true_px + int(t_fg.sum()), pred_px + int(p_fg.sum())
        true_counts.append(m.n_true)
        pred_counts.append(m.n_pred)
        images.append(
            {
                "name": name,
                "true_count": m.n_true,
                "pred_count": m.n_pred,
                "segmentation": m.segmentation.summary(),
                "detection": m.detection.summary(),
                "pixel": pixel_scores(i_px, int(t_fg.sum()), int(p_fg.sum())),
            }
        )
    return {
        "protocol": cfg.protocol,
        "iou_threshold": cfg.iou_threshold,
        "distance_threshold": cfg.distance_threshold,
        "segmentation": seg.summary(),
        "detection": det.summary(),
        "counting": counting_errors(true_counts, pred_counts),
        "pixel": pixel_scores(inter, true_px, pred_px),
        "images": images,
    }


def _mask_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise DataError(f"mask folder not found: {folder}")
    files = {
        p.stem: p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    }
    if not files:
        raise DataError(f"{folder}: no mask images (.png/.tif) found")
    return files


def pair_folders(gt_dir: Path, pred_dir: Path) -> list[tuple[str, Path, Path]]:
    """(stem, true path, predicted path) for every stem in both folders; unpaired is an error."""
    gt, pred = _mask_files(gt_dir), _mask_files(pred_dir)
    only_gt, only_pred = sorted(set(gt) - set(pred)), sorted(set(pred) - set(gt))
    if only_gt or only_pred:
        parts = []
        if only_gt:
            parts.append(f"no prediction for: {first_few(only_gt, 10, in_all=True)}")
        if only_pred:
            parts.append(f"no ground truth for: {first_few(only_pred, 10, in_all=True)}")
        raise DataError(f"unpaired masks between {gt_dir} and {pred_dir}: " + "; ".join(parts))
    return [(stem, gt[stem], pred[stem]) for stem in sorted(gt)]


def read_prediction(path: Path, binarise: bool = False) -> np.ndarray:
    """A predicted mask file: 0/255 binary, or a 16-bit/8-bit instance label image."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable mask ({exc})") from None
    if arr.ndim == 2 and arr.dtype != np.uint8:
        return arr.astype(np.int64)  # instance labels (e.g. Cellpose 16-bit masks)
    return read_mask(path, binarise=binarise)


def score_folders(
    gt_dir: Path, pred_dir: Path, cfg: ScoreConfig = ScoreConfig(), binarise: bool = False
) -> dict:
    """Score every prediction in ``pred_dir`` against the same-stem mask in ``gt_dir``."""
    pairs = pair_folders(Path(gt_dir), Path(pred_dir))
    items = ((stem, read_mask(g, binarise), read_prediction(p, binarise)) for stem, g, p in pairs)
    return score_images(items, cfg)


def per_image_csv(results: dict) -> str:
    """One row per image: counts, segmentation and detection TP/FP/FN/F1, pixel Dice."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "name",
            "true_count",
            "pred_count",
            "seg_tp",
            "seg_fp",
            "seg_fn",
            "seg_f1",
            "det_tp",
            "det_fp",
            "det_fn",
            "det_f1",
            "dice",
        ]
    )
    for im in results["images"]:
        s, d = im["segmentation"], im["detection"]
        w.writerow(
            [
                im["name"],
                im["true_count"],
                im["pred_count"],
                s["tp"],
                s["fp"],
                s["fn"],
                f"{s['f1']:.4f}",
                d["tp"],
                d["fp"],
                d["fn"],
                f"{d['f1']:.4f}",
                f"{im['pixel']['dice']:.4f}",
            ]
        )
    return buf.getvalue()


def write_results(results: dict, out: Path) -> tuple[Path, Path]:
    """Write ``out`` (JSON) and ``out`` with suffix ``.csv`` (per image); returns both paths."""
    out = Path(out)
    csv_path = out.with_suffix(".csv")
    write_json(out, results)
    write_text(csv_path, per_image_csv(results))
    return out, csv_path
