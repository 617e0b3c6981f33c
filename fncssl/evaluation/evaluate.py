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
from fncssl.evaluation.parallel import InstancePipeline
from fncssl.evaluation.postprocess import PostprocessConfig
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
    *,
    predict_many: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
    image_batch: int = 1,
    workers: int = 0,
) -> dict[str, dict]:
    """Predict, post-process and score ``records``; returns results per protocol.

    With ``predict_many`` the images go to it ``image_batch`` at a time (one list in, one map
    per image out); post-processing runs in ``workers`` processes (0: in this one), in
    parallel with the next images' inference. Results do not depend on either setting."""
    if not records:
        raise DataError("nothing to evaluate: no labelled images selected")
    for rec in records:
        if rec.mask is None:
            raise DataError(f"cannot evaluate {rec.image}: it has no mask")
    truths, preds, scores, names = [], [], [], []

    def collect(i: int, prob: np.ndarray, labels: np.ndarray) -> None:
        truths.append(to_instances(read_mask(records[i].mask, binarise)))
        preds.append(labels)
        scores.append(instance_scores(labels, prob))
        names.append(records[i].name)

    step = max(image_batch, 1)
    with InstancePipeline(post, workers) as pipeline:
        for start in range(0, len(records), step):
            chunk = records[start : start + step]
            images = [read_image(rec.image) for rec in chunk]
            probs = predict_many(images) if predict_many else [predict(im) for im in images]
            for k, (rec, image, prob) in enumerate(zip(chunk, images, probs, strict=True)):
                prob = np.asarray(prob, np.float32)
                if prob.shape != image.shape[:2]:
                    raise DataError(f"{rec.image}: prediction {prob.shape} differs from image size")
                for done in pipeline.submit(start + k, prob):
                    collect(*done)
        for done in pipeline.results():
            collect(*done)
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
