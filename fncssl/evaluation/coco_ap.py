"""COCO average precision (segm and bbox) through pycocotools for scored instance predictions.

Ground truth: instance labels per image; predictions: instance labels plus one score per
instance (e.g. the mean probability inside it). Returns AP, AP50 and AP75 for each IoU type;
with no predictions at all, every AP is 0.0.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from fncssl.data.rle import encode_mask


def _bbox(obj: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(obj)
    return [
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1),
    ]


def _instances(labels: np.ndarray):
    for i in range(1, int(labels.max(initial=0)) + 1):
        obj = labels == i
        if obj.any():
            yield i, obj


def coco_ap(
    truths: list[np.ndarray], predictions: list[tuple[np.ndarray, np.ndarray]]
) -> dict[str, dict[str, float]]:
    """AP/AP50/AP75 for "segm" and "bbox"; ``predictions[k] = (labels, scores per label 1..n)``."""
    images, gt_anns, results = [], [], []
    for image_id, (truth, (pred, scores)) in enumerate(zip(truths, predictions, strict=True), 1):
        h, w = truth.shape
        images.append({"id": image_id, "height": h, "width": w, "file_name": f"{image_id}.png"})
        for _, obj in _instances(truth):
            rle = encode_mask(obj)
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "iscrowd": 0,
                    "area": float(obj.sum()),
                    "bbox": _bbox(obj),
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                }
            )
        for i, obj in _instances(pred):
            rle = encode_mask(obj)
            results.append(
                {
                    "image_id": image_id,
                    "category_id": 1,
                    "score": float(scores[i - 1]),
                    "bbox": _bbox(obj),
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                }
            )
    empty = {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}
    if not results or not gt_anns:
        return {"segm": dict(empty), "bbox": dict(empty)}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": images,
            "annotations": gt_anns,
            "categories": [{"id": 1, "name": "cell"}],
        }
        gt.createIndex()
        dt = gt.loadRes(results)
        out = {}
        for iou_type in ("segm", "bbox"):
            ev = COCOeval(gt, dt, iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            s = [max(float(v), 0.0) for v in ev.stats[:3]]
            out[iou_type] = {"ap": s[0], "ap50": s[1], "ap75": s[2]}
    return out


def instance_scores(labels: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Mean probability inside each instance 1..n (the usual confidence for COCO AP)."""
    n = int(labels.max(initial=0))
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    total = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=n + 1)[1:]
    return total / np.maximum(area, 1)
