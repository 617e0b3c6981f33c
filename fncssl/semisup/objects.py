"""Object-level filtering of pseudo-labels: tiny or unsure pseudo-cells are ignored.

A pseudo-object is a connected component (8-connectivity) of ``p >= high``. Objects smaller
than ``min_size`` pixels or with mean probability below ``min_confidence`` are flagged; the
student ignores their pixels (weight 0) instead of learning them as cells or as background.
"""

from __future__ import annotations

import cv2
import numpy as np


def dropped_objects(
    prob_u8: np.ndarray, high: float, min_size: int, min_confidence: float
) -> np.ndarray:
    """bool (H, W): pixels of pseudo-objects to ignore, from uint8 probabilities (p * 255)."""
    if min_size <= 0 and min_confidence <= 0:
        return np.zeros(prob_u8.shape, bool)
    positive = (prob_u8.astype(np.float32) / 255.0 >= high).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(positive, connectivity=8)
    if n <= 1:
        return np.zeros(prob_u8.shape, bool)
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    sums = np.bincount(labels.ravel(), weights=prob_u8.ravel().astype(np.float64), minlength=n)
    mean_p = sums / np.maximum(areas, 1) / 255.0
    drop = (areas < min_size) | (mean_p < min_confidence)
    drop[0] = False  # background
    return drop[labels]
