"""Turning masks into instance label images, and per-object geometry from labels.

A binary mask (bool, or integers holding only 0 and 1/255) becomes its 8-connected components;
an integer image with other values is taken as instance labels (0 = background, each positive
value one object; labels need not be consecutive).
"""

from __future__ import annotations

import numpy as np

from fncssl.data.objects import label_objects
from fncssl.errors import DataError


def to_instances(mask_or_labels: np.ndarray, name: str = "mask") -> np.ndarray:
    """int32 (H, W) labels 0..n with consecutive ids, from a binary mask or instance labels."""
    a = np.asarray(mask_or_labels)
    if a.ndim != 2:
        raise DataError(f"{name}: expected a 2-D mask, got shape {a.shape}")
    if a.dtype == bool:
        return label_objects(a)[0]
    if not np.issubdtype(a.dtype, np.integer):
        raise DataError(f"{name}: expected a boolean or integer mask, got {a.dtype}")
    if a.min(initial=0) < 0:
        raise DataError(f"{name}: negative labels are not allowed")
    values = np.unique(a)
    if set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {0, 255}:
        return label_objects(a > 0)[0]
    # relabel to consecutive ids
    lookup = np.zeros(int(values.max()) + 1, np.int32)
    lookup[values[values > 0]] = np.arange(1, int((values > 0).sum()) + 1, dtype=np.int32)
    return lookup[a]


def centroids_from_pixels(lab: np.ndarray, xs: np.ndarray, ys: np.ndarray, n: int) -> np.ndarray:
    """Centroids (n, 2) of labels 1..n given each foreground pixel's label and coordinates."""
    if n == 0:
        return np.zeros((0, 2))
    area = np.bincount(lab, minlength=n + 1)[1:].astype(np.float64)
    sx = np.bincount(lab, weights=xs, minlength=n + 1)[1:]
    sy = np.bincount(lab, weights=ys, minlength=n + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([sx / area, sy / area], axis=1)
