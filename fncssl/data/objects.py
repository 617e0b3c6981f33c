"""Objects (cells) of a binary mask: 8-connected components, polygons, boxes, dots, counts.

Conventions: polygons are ``int32`` arrays of shape (N, 2) holding (x, y) pixel centres of the
object's outer boundary; boxes are inclusive pixel bounds ``(xmin, ymin, xmax, ymax)``; a dot
is the object's centroid ``(x, y)`` rounded to 0.1 px. Polygons lose holes inside an object
(the polygon formats cannot express them); masks and RLE keep every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CellObject:
    """One annotated cell derived from a mask (or read from a polygon format)."""

    polygon: np.ndarray  # (N, 2) int32, x, y
    bbox: tuple[int, int, int, int]  # xmin, ymin, xmax, ymax (inclusive)
    dot: tuple[float, float]  # centroid x, y
    area: int  # pixels


def label_objects(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean mask: (int32 labels 0..n, n objects)."""
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return labels, n - 1


def count_objects(mask: np.ndarray) -> int:
    """Number of 8-connected objects in a boolean mask."""
    return label_objects(mask)[1]


def _outer_contour(obj: np.ndarray) -> np.ndarray:
    """Outer boundary (N, 2) of the single object in a small uint8 crop (padded by 1)."""
    padded = np.pad(obj, 1)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    largest = max(contours, key=lambda c: (cv2.contourArea(c), len(c)))
    return largest.reshape(-1, 2) - 1


def objects_from_mask(mask: np.ndarray) -> list[CellObject]:
    """Every 8-connected object of ``mask`` (bool (H, W)) with polygon, box, dot and area."""
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S
    )
    objects = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        crop = (labels[y : y + h, x : x + w] == i).astype(np.uint8)
        polygon = (_outer_contour(crop) + np.array([x, y])).astype(np.int32)
        cx, cy = centroids[i]
        objects.append(
            CellObject(
                polygon=polygon,
                bbox=(x, y, x + w - 1, y + h - 1),
                dot=(round(float(cx), 1), round(float(cy), 1)),
                area=area,
            )
        )
    return objects


def rasterise_polygon(polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W) mask of one polygon, boundary pixels included."""
    out = np.zeros(shape, np.uint8)
    pts = np.asarray(polygon, dtype=np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(out, [pts], 1)
    cv2.polylines(out, [pts], isClosed=True, color=1, thickness=1)
    return out.astype(bool)


def polygons_to_labels(polygons: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Instance labels (int32 (H, W), object i+1 for polygon i; later polygons drawn on top)."""
    labels = np.zeros(shape, np.int32)
    for i, poly in enumerate(polygons):
        pts = np.asarray(poly, dtype=np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(labels, [pts], i + 1)
        cv2.polylines(labels, [pts], isClosed=True, color=i + 1, thickness=1)
    return labels


def polygons_to_mask(polygons: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Union of polygons as a boolean (H, W) mask."""
    return polygons_to_labels(polygons, shape) > 0


def bbox_of_polygon(polygon: np.ndarray) -> tuple[int, int, int, int]:
    """Inclusive (xmin, ymin, xmax, ymax) of a polygon."""
    p = np.asarray(polygon)
    return int(p[:, 0].min()), int(p[:, 1].min()), int(p[:, 0].max()), int(p[:, 1].max())


def flat_polygon(polygon: np.ndarray) -> list[float]:
    """COCO-style flat list [x1, y1, x2, y2, ...]; padded to >= 3 points (COCO needs 6 values)."""
    pts = np.asarray(polygon).reshape(-1, 2)
    while len(pts) < 3:
        pts = np.concatenate([pts, pts[-1:]])
    return [float(v) for v in pts.reshape(-1)]


def unflatten_polygon(values: list[float]) -> np.ndarray:
    """Inverse of :func:`flat_polygon`: (N, 2) int32 (coordinates rounded)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2 or arr.size % 2:
        raise ValueError(f"polygon needs an even number (>= 2) of coordinates, got {arr.size}")
    return np.rint(arr).astype(np.int32).reshape(-1, 2)


def label_overlap(true_labels: np.ndarray, pred_labels: np.ndarray) -> np.ndarray:
    """Contingency table of two label images: ``table[i, j]`` = pixels with true i and pred j.

    Labels are non-negative ints (0 = background); shape (n_true + 1, n_pred + 1). One
    ``bincount`` over paired labels, so the cost is linear in pixels, not in object pairs.
    """
    if true_labels.shape != pred_labels.shape:
        raise ValueError(f"label shapes differ: {true_labels.shape} vs {pred_labels.shape}")
    t, p = true_labels.ravel(), pred_labels.ravel()
    idx = np.flatnonzero(t | p)  # pixels inside some object (labels are non-negative)
    n_true, n_pred = int(t.max(initial=0)), int(p.max(initial=0))
    return overlap_from_pixels(t[idx], p[idx], n_true, n_pred, t.size)


def overlap_from_pixels(
    t: np.ndarray, p: np.ndarray, n_true: int, n_pred: int, total: int
) -> np.ndarray:
    """:func:`label_overlap` from the paired labels of the foreground pixels only."""
    flat = t.astype(np.int64) * (n_pred + 1) + p
    table = np.bincount(flat, minlength=(n_true + 1) * (n_pred + 1)).reshape(n_true + 1, n_pred + 1)
    table[0, 0] = total - t.size  # background in both
    return table


def iou_matrix(table: np.ndarray) -> np.ndarray:
    """IoU of every (true object, predicted object) pair from a :func:`label_overlap` table.

    Returns float64 (n_true, n_pred), background row and column dropped.
    """
    inter = table[1:, 1:].astype(np.float64)
    area_t = table[1:, :].sum(axis=1, dtype=np.float64)[:, None]
    area_p = table[:, 1:].sum(axis=0, dtype=np.float64)[None, :]
    union = area_t + area_p - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)
