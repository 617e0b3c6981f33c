"""Counting errors from object counts.

true = number of true objects, predicted = number of predicted objects per image; MAE and
MedAE of |pred - true|, and MPE = mean of (pred - true) / max(true, 1) as a fraction (0.42 =
42%; signed, so over- and under-counting can cancel). Both counts zero contributes 0.

Note: the FNC paper's released code builds its "true" and "predicted" counts from TP/FN
columns (true = TP_iou + FN_prox, predicted = TP_prox + FN_prox), so the published counting
figures measure |TP_iou - TP_prox| rather than a count error; they are not comparable with
these numbers.
"""

from __future__ import annotations

import numpy as np


def counting_errors(true_counts: list[int], pred_counts: list[int]) -> dict[str, float]:
    """MAE, MedAE and MPE over images (0.0 for an empty list, never NaN)."""
    t = np.asarray(true_counts, np.float64)
    p = np.asarray(pred_counts, np.float64)
    if t.size == 0:
        return {"mae": 0.0, "medae": 0.0, "mpe": 0.0}
    err = p - t
    return {
        "mae": float(np.abs(err).mean()),
        "medae": float(np.median(np.abs(err))),
        "mpe": float((err / np.maximum(t, 1.0)).mean()),
    }


def pixel_scores(intersection: int, true_pixels: int, pred_pixels: int) -> dict[str, float]:
    """Dice and IoU from pixel sums (1.0 when both masks are empty)."""
    union = true_pixels + pred_pixels - intersection
    if true_pixels + pred_pixels == 0:
        return {"dice": 1.0, "iou": 1.0}
    return {"dice": 2.0 * intersection / (true_pixels + pred_pixels), "iou": intersection / union}
