"""Object matching between a true and a predicted instance image, per image.

Two protocols:

* ``paper`` — as defined by the FNC paper's code: a true object is a segmentation TP when its
  best IoU with any predicted object is > ``iou_threshold``, else a FN; a predicted object whose
  best IoU with any true object is <= the threshold is a FP. Detection: a true object is a TP
  when the nearest predicted centroid is within ``distance_threshold`` px, else a FN; a predicted
  object whose nearest true centroid is farther is a FP. Not one-to-one: one prediction can
  match two true objects, so TP + FN = n_true but TP + FP may differ from n_pred.
* ``strict`` — one-to-one optimal assignment (SciPy's linear_sum_assignment) maximising total
  IoU among pairs above the threshold (segmentation), or minimising total distance among pairs
  within the distance (detection). TP = matched pairs, FN = n_true - TP, FP = n_pred - TP.

IoUs come from one label contingency table per image (a single bincount), never from a loop
over object pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from fncssl.data.objects import iou_matrix, overlap_from_pixels
from fncssl.evaluation.instances import centroids_from_pixels

PROTOCOLS = ("paper", "strict")


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one task."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def summary(self) -> dict[str, float]:
        """tp/fp/fn with precision, recall, F1 (each 0.0 when undefined, never NaN)."""
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": p, "recall": r, "f1": f1}


@dataclass(frozen=True)
class ImageMatch:
    """Matching result of one image."""

    segmentation: Counts
    detection: Counts
    n_true: int
    n_pred: int
    true_iou: np.ndarray  # (n_true,) best IoU of each true object
    pred_iou: np.ndarray  # (n_pred,) best IoU of each predicted object


def _paper(score: np.ndarray, hit) -> Counts:
    n_true, n_pred = score.shape
    if n_true == 0 or n_pred == 0:
        return Counts(0, n_pred, n_true)
    true_hit = hit(score).any(axis=1)
    pred_hit = hit(score).any(axis=0)
    tp = int(true_hit.sum())
    return Counts(tp, int((~pred_hit).sum()), n_true - tp)


def _strict(cost: np.ndarray, valid: np.ndarray) -> Counts:
    n_true, n_pred = cost.shape
    if n_true == 0 or n_pred == 0:
        return Counts(0, n_pred, n_true)
    big = np.abs(cost[valid]).sum() + 1.0 if valid.any() else 1.0
    rows, cols = linear_sum_assignment(np.where(valid, cost, big))
    tp = int(valid[rows, cols].sum())
    return Counts(tp, n_pred - tp, n_true - tp)


def match_image(
    true_labels: np.ndarray,
    pred_labels: np.ndarray,
    protocol: str = "paper",
    iou_threshold: float = 0.5,
    distance_threshold: float = 40.0,
) -> ImageMatch:
    """Match consecutive instance labels (see :func:`to_instances`) of one image."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {list(PROTOCOLS)}")
    if true_labels.shape != pred_labels.shape:
        raise ValueError(f"label shapes differ: {true_labels.shape} vs {pred_labels.shape}")
    t, p = true_labels.ravel(), pred_labels.ravel()
    n_true, n_pred = int(t.max(initial=0)), int(p.max(initial=0))
    idx = np.flatnonzero(t | p)  # one pass finds every object pixel of either image
    t_fg, p_fg = t[idx], p[idx]
    ys, xs = np.divmod(idx, true_labels.shape[1])
    ious = iou_matrix(overlap_from_pixels(t_fg, p_fg, n_true, n_pred, t.size))
    in_t, in_p = t_fg > 0, p_fg > 0
    ct = centroids_from_pixels(t_fg[in_t], xs[in_t], ys[in_t], n_true)
    cp = centroids_from_pixels(p_fg[in_p], xs[in_p], ys[in_p], n_pred)
    dist = cdist(ct, cp) if n_true and n_pred else np.zeros((n_true, n_pred))
    if protocol == "paper":
        seg = _paper(ious, lambda s: s > iou_threshold)
        det = _paper(dist, lambda d: d <= distance_threshold)
    else:
        seg = _strict(-ious, ious > iou_threshold)
        det = _strict(dist, dist <= distance_threshold)
    true_iou = ious.max(axis=1) if n_pred else np.zeros(n_true)
    pred_iou = ious.max(axis=0) if n_true else np.zeros(n_pred)
    return ImageMatch(seg, det, n_true, n_pred, true_iou, pred_iou)
