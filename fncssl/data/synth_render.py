"""Rendering one synthetic fluorescence image and its annotation mask.

Masks are the union of the annotated cell outlines with enclosed background filled (as an
annotator's outline of touching cells would be), so every polygon format can hold them.
A picture is built in layers: a stain-coloured "signal" field (annotated cells, faint cells
left unannotated, tissue autofluorescence, dot/filament/stripe artifacts) on a dark background,
then uneven illumination, per-image contrast drift (gain, gamma) and sensor noise.
``render_image`` is deterministic for a given ``numpy.random.Generator`` state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi

from fncssl.data.reference_stats import DEFAULT_UM_PER_PX
from fncssl.data.synth_style import CollectionStyle

REFERENCE_PIXELS = 1600 * 1200
SUBPIXEL_SHIFT = 2  # cv2 fixed-point bits for polygon vertices


@dataclass
class RenderedImage:
    """An RGB uint8 (H, W, 3) image and its boolean (H, W) cell mask."""

    image: np.ndarray
    mask: np.ndarray


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> np.ndarray:
    """Zero-mean, unit-ish float32 noise varying on a length scale of ``cell`` pixels."""
    h, w = shape
    small = rng.standard_normal((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def cell_polygon(rng: np.random.Generator, area_px: float, style: CollectionStyle) -> np.ndarray:
    """Outline (N, 2) float of one cell centred on the origin with area ``area_px``."""
    theta = np.linspace(0.0, 2.0 * math.pi, 72, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 7):
        amp = rng.normal(0.0, style.irregularity / k**0.8)
        radius += amp * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    for _ in range(rng.integers(0, style.processes + 1)):
        centre = rng.uniform(0, 2 * math.pi)
        d = np.angle(np.exp(1j * (theta - centre)))
        radius += rng.uniform(0.25, 0.7) * np.exp(-(d**2) / (2 * rng.uniform(0.12, 0.25) ** 2))
    radius = np.clip(radius, 0.35, None)
    aspect = rng.uniform(*style.aspect)
    x = radius * np.cos(theta) * math.sqrt(aspect)
    y = radius * np.sin(theta) / math.sqrt(aspect)
    phi = rng.uniform(0, math.pi)
    pts = np.stack(
        [x * math.cos(phi) - y * math.sin(phi), x * math.sin(phi) + y * math.cos(phi)], 1
    )
    shoelace = 0.5 * abs(
        np.dot(pts[:, 0], np.roll(pts[:, 1], 1)) - np.dot(pts[:, 1], np.roll(pts[:, 0], 1))
    )
    return pts * math.sqrt(area_px / shoelace)


def _draw_cell(
    rng: np.random.Generator,
    signal: np.ndarray,
    mask: np.ndarray | None,
    outline: np.ndarray,
    centre: tuple[float, float],
    peak: float,
    hollow: bool,
) -> None:
    """Add one cell to ``signal`` (max-composited) and, if given, to ``mask``."""
    h, w = signal.shape
    pts = outline + np.asarray(centre)
    margin = 5 + int(0.9 * np.abs(outline).max())  # room for the soft glow around the cell
    x0, y0 = np.floor(pts.min(0)).astype(int) - margin
    x1, y1 = np.ceil(pts.max(0)).astype(int) + margin
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    local = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fixed = np.rint((pts - [x0, y0]) * (1 << SUBPIXEL_SHIFT)).astype(np.int32)
    cv2.fillPoly(local, [fixed.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=SUBPIXEL_SHIFT)
    r_eq = math.sqrt(max(cv2.countNonZero(local), 1) / math.pi)
    flat = local.astype(np.float32)
    body = 0.55 * cv2.GaussianBlur(flat, (0, 0), rng.uniform(1.0, 2.4)) + 0.45 * cv2.GaussianBlur(
        flat, (0, 0), max(r_eq / 2.5, 1.0)
    )
    texture = (
        1.0 + 0.2 * smooth_noise(rng, local.shape, 9) + 0.03 * rng.standard_normal(local.shape)
    )
    if hollow:
        hole = np.zeros_like(local, dtype=np.float32)
        c = (pts.mean(0) - [x0, y0]).astype(int)
        r = max(2, int(0.3 * r_eq))
        cv2.circle(hole, (int(c[0]), int(c[1])), r, 1.0, -1)
        texture *= 1.0 - 0.55 * cv2.GaussianBlur(hole, (0, 0), r / 2.0)
    contribution = body * texture.astype(np.float32) * peak
    sl = (slice(cy0, cy1), slice(cx0, cx1))
    lsl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    np.maximum(signal[sl], contribution[lsl], out=signal[sl])
    if mask is not None:
        mask[sl] |= local[lsl].astype(bool)


def _curve(
    rng: np.random.Generator, start: tuple[float, float], heading: float, steps: int, step: float
) -> np.ndarray:
    """A smooth random path (steps+1, 2) int32 starting at ``start`` with initial ``heading``."""
    angles = heading + np.cumsum(rng.normal(0, 0.18, steps))
    xy = np.cumsum(np.stack([np.cos(angles), np.sin(angles)], 1) * step, 0) + np.asarray(start)
    return np.rint(np.vstack([np.asarray(start)[None], xy])).astype(np.int32).reshape(-1, 1, 2)


def _draw_lines(
    rng: np.random.Generator,
    lines: np.ndarray,
    count: int,
    peak: float,
    level: tuple[float, float],
    steps: tuple[int, int],
) -> None:
    """Draw ``count`` faint random curves (neurite fragments) anywhere in ``lines``."""
    h, w = lines.shape
    for _ in range(count):
        path = _curve(
            rng,
            (rng.uniform(0, w), rng.uniform(0, h)),
            rng.uniform(0, 2 * math.pi),
            int(rng.integers(*steps)),
            rng.uniform(3, 6),
        )
        cv2.polylines(lines, [path], False, float(rng.uniform(*level) * peak), 1)


def _place(
    rng: np.random.Generator,
    centres: list[tuple[float, float]],
    radii: list[float],
    r: float,
    shape: tuple[int, int],
    touching: float,
) -> tuple[float, float]:
    """A cell centre: usually uniform, sometimes touching an earlier cell."""
    h, w = shape
    if centres and rng.random() < touching:
        i = rng.integers(len(centres))
        ang = rng.uniform(0, 2 * math.pi)
        d = (radii[i] + r) * rng.uniform(0.8, 1.05)
        return centres[i][0] + d * math.cos(ang), centres[i][1] + d * math.sin(ang)
    return rng.uniform(0, w), rng.uniform(0, h)


def _artifacts(rng: np.random.Generator, signal: np.ndarray, peak: float) -> None:
    """Fluorophore dots, filaments and lateral stripes (never annotated)."""
    h, w = signal.shape
    scale = h * w / REFERENCE_PIXELS
    dots = np.zeros((h, w), np.float32)
    for _ in range(rng.poisson(14 * scale)):
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        cv2.circle(dots, (x, y), int(rng.integers(1, 3)), float(rng.uniform(0.4, 1.6) * peak), -1)
    if rng.random() < 0.45:
        for _ in range(rng.integers(1, 4)):
            path = _curve(
                rng,
                (rng.uniform(0, w), rng.uniform(0, h)),
                rng.uniform(0, 2 * math.pi),
                int(rng.integers(20, 80)),
                rng.uniform(4, 9),
            )
            cv2.polylines(
                dots, [path], False, float(rng.uniform(0.2, 0.55) * peak), int(rng.integers(1, 3))
            )
    np.maximum(signal, cv2.GaussianBlur(dots, (0, 0), 0.8), out=signal)
    if rng.random() < 0.15:
        width = rng.uniform(15, 70)
        centre = rng.uniform(0, h)
        ys = np.arange(h, dtype=np.float32)[:, None]
        wave = 8 * np.sin(np.arange(w, dtype=np.float32)[None, :] / rng.uniform(80, 300))
        band = np.exp(-(((ys - centre - wave) / width) ** 2))
        signal += (rng.uniform(0.08, 0.25) * peak) * band.astype(np.float32)


def render_image(
    rng: np.random.Generator,
    style: CollectionStyle,
    size: tuple[int, int],
    empty: bool = False,
    um_per_px: float = DEFAULT_UM_PER_PX,
) -> RenderedImage:
    """Draw one image of ``size`` = (width, height) for ``style``; ``empty`` means no cells."""
    w, h = size
    shape = (h, w)
    signal = np.zeros(shape, np.float32)
    mask = np.zeros(shape, bool)
    lines = np.zeros(shape, np.float32)
    peak_image = style.intensity * math.exp(rng.normal(0, 0.15))
    area_px_median = style.area_median_um2 / um_per_px**2
    n_cells = 0
    if not empty:
        expected = style.count_median * math.exp(rng.normal(0, style.count_sigma))
        n_cells = rng.poisson(expected * (h * w) / REFERENCE_PIXELS)
    centres: list[tuple[float, float]] = []
    radii: list[float] = []
    n_faint = rng.poisson(0.25 * max(n_cells, 3))
    for i in range(n_cells + n_faint):
        faint = i >= n_cells
        area = area_px_median * math.exp(rng.normal(0, style.area_sigma))
        outline = cell_polygon(rng, area, style)
        r = math.sqrt(area / math.pi)
        centre = _place(rng, centres, radii, r, shape, style.touching)
        centres.append(centre)
        radii.append(r)
        peak = peak_image * math.exp(rng.normal(0, 0.3))
        if faint:
            peak = peak_image * rng.uniform(0.1, 0.25)
        hollow = rng.random() < style.hollow_fraction
        _draw_cell(rng, signal, None if faint else mask, outline, centre, peak, hollow)
        for _ in range(rng.integers(0, style.neurites + 1)):
            heading = rng.uniform(0, 2 * math.pi)
            start = (
                centre[0] + 0.9 * r * math.cos(heading),
                centre[1] + 0.9 * r * math.sin(heading),
            )
            path = _curve(rng, start, heading, int(rng.integers(6, 22)), rng.uniform(3, 6))
            cv2.polylines(
                lines, [path], False, float(peak * rng.uniform(0.25, 0.55)), int(rng.integers(1, 3))
            )
    _draw_lines(
        rng,
        lines,
        rng.poisson(style.fibres * (h * w) / REFERENCE_PIXELS),
        peak_image,
        (0.08, 0.3),
        (4, 30),
    )
    np.maximum(signal, cv2.GaussianBlur(lines, (0, 0), 1.1), out=signal)
    _artifacts(rng, signal, peak_image)
    # tissue autofluorescence in the stain's colour
    tissue = 0.5 + 0.35 * smooth_noise(rng, shape, 160) + 0.2 * smooth_noise(rng, shape, 12)
    signal += np.clip(tissue, 0, None) * rng.uniform(2.0, 6.0)
    # uneven illumination and per-image contrast drift
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w * rng.uniform(0.3, 0.7)) / w) ** 2 + ((yy - h * rng.uniform(0.3, 0.7)) / h) ** 2
    illum = 1.0 - rng.uniform(0.15, 0.6) * r2 + rng.uniform(-0.12, 0.12) * (xx / w - 0.5)
    gain = math.exp(rng.normal(0, 0.2))
    gamma = rng.uniform(0.85, 1.2)
    colour = np.asarray(style.signal_rgb, np.float32)
    background = np.asarray(style.background_rgb, np.float32) * rng.uniform(0.6, 1.4)
    rgb = (background + signal[..., None] * colour) * (illum * gain)[..., None]
    rgb = 255.0 * (np.clip(rgb, 0, 255) / 255.0) ** gamma
    rgb += rng.normal(0, 1.0, rgb.shape).astype(np.float32) * (0.8 + 0.08 * np.sqrt(rgb))
    # Annotators outline a merged blob of touching cells; background it encloses is not a hole.
    mask = ndi.binary_fill_holes(mask)
    return RenderedImage(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), mask)
