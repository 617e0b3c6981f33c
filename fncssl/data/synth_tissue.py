"""The unannotated tissue of a synthetic FNC image: autofluorescence, haze, holes, debris.

All functions return or modify float32 (H, W) fields in grey levels and are deterministic for
a ``numpy.random.Generator`` state. Full-frame work is done on coarse grids and resized, so a
1600x1200 image costs a few tens of milliseconds.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

REFERENCE_PIXELS = 1600 * 1200


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> np.ndarray:
    """Zero-mean, unit-ish float32 noise varying on a length scale of ``cell`` pixels."""
    h, w = shape
    small = rng.standard_normal((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def autofluorescence(
    rng: np.random.Generator, shape: tuple[int, int], level: float, contrast: float = 1.0
) -> np.ndarray:
    """Textured tissue background with mean about ``level``: log-normal multi-scale noise.

    Scales from 300 px (tissue density) down to 3 px (granular neuropil) with amplitudes that
    fall with frequency, giving a steep power spectrum like the real backgrounds; ``contrast``
    scales every amplitude (1 = the default texture).
    """
    octaves = ((300, 0.45), (90, 0.3), (30, 0.2), (10, 0.14), (3, 0.1))
    log_field = sum(contrast * a * smooth_noise(rng, shape, c) for c, a in octaves)
    field = np.exp(log_field)
    return (level / float(field.mean())) * field


def hole_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """float32 (H, W) in [0, 1]: 1 inside dark tissue holes / beyond a tissue edge.

    One or two soft-edged blobs or an edge band covering about 5-25% of the frame.
    """
    h, w = shape
    base = smooth_noise(rng, shape, max(h, w) // 3)
    ys, xs = np.mgrid[0:h:8, 0:w:8].astype(np.float32)
    cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
    r = rng.uniform(0.1, 0.35) * math.hypot(h, w)
    blob = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) / r
    blob = cv2.resize(blob, (w, h), interpolation=cv2.INTER_LINEAR)
    score = 1.0 - blob + 0.25 * base
    hole = (score > 0).astype(np.float32)
    return cv2.GaussianBlur(hole, (0, 0), rng.uniform(3, 12))


def haze(stain: np.ndarray, strength: float) -> np.ndarray:
    """Out-of-focus glow of ``stain``: a wide blur of it scaled by ``strength`` (float32)."""
    h, w = stain.shape
    small = cv2.resize(stain, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    return strength * cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def debris(rng: np.random.Generator, field: np.ndarray, peak: float, rate: float) -> None:
    """Add dust and fluorophore dots (1-2 px radius, some bright) and a few specks, in place."""
    h, w = field.shape
    dots = np.zeros((h, w), np.float32)
    for _ in range(rng.poisson(rate * h * w / REFERENCE_PIXELS)):
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        cv2.circle(dots, (x, y), int(rng.integers(1, 3)), float(rng.uniform(0.2, 1.1) * peak), -1)
    np.maximum(field, cv2.GaussianBlur(dots, (0, 0), 0.9), out=field)


def stripe(rng: np.random.Generator, field: np.ndarray, peak: float) -> None:
    """A lateral stripe of fluorophore (a wavy horizontal band), in place."""
    h, w = field.shape
    width = rng.uniform(15, 70)
    centre = rng.uniform(0, h)
    ys = np.arange(h, dtype=np.float32)[:, None]
    wave = 8 * np.sin(np.arange(w, dtype=np.float32)[None, :] / rng.uniform(80, 300))
    band = np.exp(-(((ys - centre - wave) / width) ** 2))
    field += (rng.uniform(0.08, 0.25) * peak) * band.astype(np.float32)
