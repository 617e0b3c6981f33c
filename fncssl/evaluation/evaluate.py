"""Evaluating any predictor on archive images: the function behind ``fncssl evaluate``.

``evaluate_records(predict, records, out_dir)`` runs ``predict(image) -> probability map`` on
each labelled record (image uint8 (H, W, 3) -> float (H, W) in [0, 1]), post-processes the
maps into instances, scores them with both protocols and writes ``metrics_<protocol>.json``
and ``.csv``, ``table2.md``, and overlays of the worst images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from fncssl.data.atomic import write_text
from fncssl.data.imageio import read_image, read_mask
from fncssl.data.layout import ImageRecord
from fncssl.errors import DataError
from fncssl.evaluation.coco_ap import coco_ap, instance_scores
from fncssl.evaluation.instances import to_instances
from fncssl.evaluation.matching import PROTOCOLS
from fncssl.evaluation.postprocess import PostprocessConfig, probability_to_instances
from fncssl.evaluation.report import table2_markdown, worst_images, write_overlay
from fncssl.evaluation.scoring import ScoreConfig, score_images, write_results


def evaluate_records(
    predict: Callable[[np.ndarray], np.ndarray],
    records: Sequence[ImageRecord],
    out_dir: Path,
    post: PostprocessConfig = PostprocessConfig(),
    iou_threshold: float = 0.5,
    distance_threshold: float = 40.0,
    n_overlays: int = 5,
    binarise: bool = False,
) -> dict[str, dict]:
    """Predict, post-process and score ``records``; returns results per protocol."""
    if not records:
        raise DataError("nothing to evaluate: no labelled images selected")
    truths, preds, scores, names = [], [], [], []
    for rec in records:
        if rec.mask is None:
            raise DataError(f"cannot evaluate {rec.image}: it has no mask")
        image = read_image(rec.image)
        prob = np.asarray(predict(image), np.float32)
        if prob.shape != image.shape[:2]:
            raise DataError(f"{rec.image}: prediction {prob.shape} differs from image size")
        labels = probability_to_instances(prob, post)
        truths.append(to_instances(read_mask(rec.mask, binarise)))
        preds.append(labels)
        scores.append(instance_scores(labels, prob))
        names.append(rec.name)
    results = {}
    for protocol in PROTOCOLS:
        cfg = ScoreConfig(protocol, iou_threshold, distance_threshold)
        r = score_images(zip(names, truths, preds, strict=True), cfg)
        r["coco"] = coco_ap(truths, list(zip(preds, scores, strict=True)))
        write_results(r, Path(out_dir) / f"metrics_{protocol}.json")
        results[protocol] = r
    write_text(
        Path(out_dir) / "table2.md",
        table2_markdown({f"{p} protocol": r for p, r in results.items()}, with_paper=True),
    )
    index = {n: i for i, n in enumerate(names)}
    for name in worst_images(results["paper"], n_overlays):
        i = index[name]
        write_overlay(
            Path(out_dir) / "overlays" / name, read_image(records[i].image), truths[i], preds[i]
        )
    return results
