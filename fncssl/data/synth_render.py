"""Rendering one synthetic fluorescence image and its annotation mask.

Masks are the union of the annotated cell outlines with enclosed background filled (as an
annotator's outline of touching cells would be), so every polygon format can hold them.
A picture is built in layers, each in grey levels of the stain:
- annotated cells: bright, punctate, unevenly stained bodies (clumps) with a soft glow and
  bright neurites (tapering lines, wide cones at the cell or chains of puncta; for red long,
  nearly straight, swelling and forking dendrites, many of them out of focus, which a model
  must learn not to count), some in dense
  clusters, a share of them saturating the camera; the
  annotator's outline can sit a little outside the stained body (``outline_margin``), as
  real outlines do;
- unannotated structure: faint, out-of-focus cell bodies, small bright fragments of cells cut
  by the section, fibres, dim neuropil puncta around the cells, dust and fluorophore dots,
  lateral stripes;
- tissue: textured autofluorescence (its own, redder hue), out-of-focus haze, dark holes
  and tissue edges;
then the camera (:mod:`fncssl.data.synth_camera`): illumination, noise, blur, gamma, clipping,
JPEG. Per-image settings are randomised (``draw_domain``). ``render_image`` is deterministic
for a given ``numpy.random.Generator`` state; each layer draws from its own stream
(:func:`layer_streams`), so a style change re-draws only what it touches.

Which cells are annotated follows a model of the annotator: a cell is marked when it looks
bright enough in absolute terms (``style.annotate_min``) on the displayed image, i.e. after the
exposure gain, the lamp's fall-off at the cell and the display gamma, so a dim image or a dim
corner has its annotated cells just above the threshold and its faint cells below it, as in
the real archive, where no annotated cell is dimmer than the brighter unannotated ones.
Unannotated cells are displayed at up to ``style.faint_max`` of that threshold, so a model
meets negatives right below the line the annotator drew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi

from fncssl.data.reference_stats import DEFAULT_UM_PER_PX
from fncssl.data.synth_camera import (
    ImageDomain,
    draw_domain,
    expose,
    illumination_field,
    linear_level,
)
from fncssl.data.synth_style import CollectionStyle
from fncssl.data.synth_tissue import (
    REFERENCE_PIXELS,
    autofluorescence,
    debris,
    haze,
    hole_field,
    smooth_noise,
    stripe,
)

SUBPIXEL_SHIFT = 2  # cv2 fixed-point bits for polygon vertices
__all__ = ["RenderedImage", "cell_polygon", "render_image", "smooth_noise"]


@dataclass
class RenderedImage:
    """An RGB uint8 (H, W, 3) image, its boolean (H, W) cell mask and the image's settings."""

    image: np.ndarray
    mask: np.ndarray
    domain: ImageDomain | None = None


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
        reach = rng.uniform(*style.process_reach)
        radius += reach * np.exp(-(d**2) / (2 * rng.uniform(0.12, 0.25) ** 2))
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


def _fill(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    """uint8 ``shape`` array with the polygon ``pts`` (N, 2) float (x, y) filled with 1."""
    out = np.zeros(shape, np.uint8)
    fixed = np.rint(pts * (1 << SUBPIXEL_SHIFT)).astype(np.int32)
    cv2.fillPoly(out, [fixed.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=SUBPIXEL_SHIFT)
    return out


def _draw_cell(
    rng: np.random.Generator,
    signal: np.ndarray,
    mask: np.ndarray | None,
    outline: np.ndarray,
    centre: tuple[float, float],
    peak: float,
    style: CollectionStyle,
    hollow: bool,
    defocus: float = 0.0,
) -> None:
    """Add one cell to ``signal`` (max-composited) and, if given, to ``mask``.

    The body is nearly flat to ``outline`` shrunk by ``style.outline_margin`` (the mask is
    ``outline`` itself), unevenly stained (``style.clumps``), with a punctate texture,
    surrounded by a soft glow;
    ``defocus`` > 0 blurs the whole cell (unannotated out-of-focus cells). All blurs are done
    inside the cell's bounding box.
    """
    h, w = signal.shape
    pts = outline + np.asarray(centre)
    r_max = float(np.abs(outline).max())
    margin = 6 + int(1.2 * r_max + 3 * defocus)
    x0, y0 = np.floor(pts.min(0)).astype(int) - margin
    x1, y1 = np.ceil(pts.max(0)).astype(int) + margin
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    local = _fill((y1 - y0, x1 - x0), pts - [x0, y0])
    r_eq = math.sqrt(max(cv2.countNonZero(local), 1) / math.pi)
    flat = local.astype(np.float32)
    if style.outline_margin != 0:  # the stained body sits inside (> 0) or beyond the outline
        inner = outline / (1.0 + style.outline_margin) + np.asarray(centre) - [x0, y0]
        flat = _fill(local.shape, inner).astype(np.float32)
    clump = np.ones_like(flat)
    if style.clumps > 0:  # uneven staining: bright clumps, dim patches and a ragged edge
        amp = style.clumps * rng.uniform(0.3, 1.3)  # some cells evenly stained, some blotchy
        clump = np.exp(amp * smooth_noise(rng, local.shape, max(3, int(r_eq / 3))))
        clump /= float(clump[local > 0].mean() if local.any() else clump.mean())
    stained = flat * clump
    edge_blur = rng.uniform(1.2, 2.5) + defocus + style.edge_soft * r_eq
    body = cv2.GaussianBlur(stained, (0, 0), edge_blur)
    dome = cv2.GaussianBlur(flat, (0, 0), max(r_eq / 2.0, 1.0))
    body = body * (1.0 - style.core + style.core * dome / max(float(dome.max()), 1e-6))
    fine = style.grain_scale
    grain = np.exp(
        style.granularity
        * (smooth_noise(rng, local.shape, fine) + 0.7 * smooth_noise(rng, local.shape, 12))
    )
    if defocus > 0:
        grain = cv2.GaussianBlur(grain, (0, 0), defocus)
    texture = grain * clump / float(grain.mean())
    n_out = len(outline)
    side = int(rng.integers(n_out)) if style.puncta_polar > 0 else 0
    granules = np.zeros_like(texture)
    for _ in range(rng.poisson(style.puncta * style.granularity * r_eq)):  # sparse puncta
        near_side = style.puncta_polar > 0 and rng.random() < style.puncta_polar
        if near_side:  # a clump of granules at one side of the cell
            k = (side + int(rng.integers(-n_out // 10, n_out // 10 + 1))) % n_out
            px = np.asarray(centre) + outline[k] * rng.uniform(0.35, 0.85)
        else:
            px = np.asarray(centre) + outline[rng.integers(n_out)] * rng.uniform(0, 0.85)
        px = px - [x0, y0]
        level = float(rng.uniform(0.4, 1.1))
        cv2.circle(granules, (int(px[0]), int(px[1])), int(rng.integers(1, 3)), level, -1)
    if granules.any():  # soft round granules rather than hard pixel crosses
        texture = np.maximum(texture, 1.0 + cv2.GaussianBlur(granules, (0, 0), 0.8 + defocus))
    if hollow:
        hole = np.zeros_like(local, dtype=np.float32)
        c = (pts.mean(0) - [x0, y0]).astype(int)
        r = max(2, int(0.3 * r_eq))
        cv2.circle(hole, (int(c[0]), int(c[1])), r, 1.0, -1)
        texture *= 1.0 - 0.45 * cv2.GaussianBlur(hole, (0, 0), r / 2.0)
    glow = style.glow * cv2.GaussianBlur(flat, (0, 0), max(0.6 * r_eq, 2.0) + defocus)
    contribution = (np.maximum(body * texture, glow) * peak).astype(np.float32)
    sl = (slice(cy0, cy1), slice(cx0, cx1))
    lsl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    np.maximum(signal[sl], contribution[lsl], out=signal[sl])
    if mask is not None:
        mask[sl] |= local[lsl].astype(bool)


def _curve(
    rng: np.random.Generator,
    start: tuple[float, float],
    heading: float,
    steps: int,
    step: float,
    turn: float = 0.18,
) -> np.ndarray:
    """A random path (steps+1, 2) int32 starting at ``start`` with initial ``heading``; the
    heading changes by a normal step of std ``turn`` (radians) at every point."""
    angles = heading + np.cumsum(rng.normal(0, turn, steps))
    xy = np.cumsum(np.stack([np.cos(angles), np.sin(angles)], 1) * step, 0) + np.asarray(start)
    return np.rint(np.vstack([np.asarray(start)[None], xy])).astype(np.int32).reshape(-1, 1, 2)


def _dotted(
    rng: np.random.Generator,
    lines: np.ndarray,
    path: np.ndarray,
    bright: float,
    beading: float,
    fade: float = 0.0,
) -> None:
    """Draw ``path`` (N, 1, 2) int32 as a chain of round puncta 2-4 px apart (a beaded
    process), a quarter of them missing, brightness log-normal around ``bright`` (sigma
    ``beading``, at least 0.3) and falling linearly by ``fade`` (share) to the far end."""
    pts = path.reshape(-1, 2).astype(np.float64)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    if cum[-1] <= 0:
        return
    spacing = rng.uniform(2.0, 4.0)
    d = np.arange(rng.uniform(0, spacing), cum[-1], spacing)
    xs, ys = np.interp(d, cum, pts[:, 0]), np.interp(d, cum, pts[:, 1])
    levels = bright * np.exp(rng.normal(0.0, max(beading, 0.3), len(d)))
    levels *= 1.0 - fade * d / cum[-1]
    keep = rng.random(len(d)) < 0.75
    for x, y, level in zip(xs[keep], ys[keep], levels[keep], strict=True):
        cv2.circle(lines, (round(float(x)), round(float(y))), 1, float(level), -1)


def _neuropil(
    rng: np.random.Generator,
    lines: np.ndarray,
    count: int,
    peak: float,
    level: tuple[float, float],
    anchors: list[tuple[float, float]],
    spread: float,
) -> None:
    """Draw ``count`` dim round puncta (the stained neuropil) scattered about ``spread`` px
    around random ``anchors`` (uniformly over the frame when there are none)."""
    h, w = lines.shape
    for _ in range(count):
        if anchors:
            ax, ay = anchors[int(rng.integers(len(anchors)))]
            x, y = ax + rng.normal(0, spread), ay + rng.normal(0, spread)
        else:
            x, y = rng.uniform(0, w), rng.uniform(0, h)
        cv2.circle(lines, (int(x), int(y)), 1, float(rng.uniform(*level) * peak), -1)


def _draw_lines(
    rng: np.random.Generator,
    lines: np.ndarray,
    count: int,
    peak: float,
    level: tuple[float, float],
    steps: tuple[int, int],
    max_width: int = 1,
    anchors: list[tuple[float, float]] | None = None,
    near: float = 0.0,
    spread: float = 60.0,
    beading: float = 0.0,
    dotted: float = 0.0,
) -> None:
    """Draw ``count`` faint random curves (neurite fragments), 1 to ``max_width`` px wide.

    A share ``near`` of them starts within about ``spread`` px of a random point of
    ``anchors`` (the cells), so the processes form a mesh where the cells are. ``beading`` > 0
    varies the brightness along each curve (log-normal sigma per 2-step run); a share
    ``dotted`` of the curves is drawn as chains of puncta instead."""
    h, w = lines.shape
    for _ in range(count):
        if anchors and rng.random() < near:
            ax, ay = anchors[int(rng.integers(len(anchors)))]
            start = (ax + rng.normal(0, spread), ay + rng.normal(0, spread))
        else:
            start = (rng.uniform(0, w), rng.uniform(0, h))
        path = _curve(
            rng,
            start,
            rng.uniform(0, 2 * math.pi),
            int(rng.integers(*steps)),
            rng.uniform(3, 6),
        )
        width = int(rng.integers(1, max_width + 1)) if max_width > 1 else 1
        bright = float(rng.uniform(*level) * peak)
        if dotted > 0 and rng.random() < dotted:
            _dotted(rng, lines, path, bright, beading)
            continue
        if beading <= 0:
            cv2.polylines(lines, [path], False, bright, width)
            continue
        for k in range(0, len(path) - 1, 2):  # uneven, beaded brightness along the fibre
            run = bright * math.exp(rng.normal(0.0, beading))
            cv2.polylines(lines, [path[k : k + 3]], False, run, width)


def _place(
    rng: np.random.Generator,
    centres: list[tuple[float, float]],
    radii: list[float],
    r: float,
    shape: tuple[int, int],
    touching: float,
    clusters: list[tuple[float, float, float]],
    crowding: float,
    holes: np.ndarray | None,
) -> tuple[float, float]:
    """A cell centre: uniform, against an earlier cell, or in a dense cluster; not in a hole."""
    h, w = shape
    for _ in range(20):
        u = rng.random()
        if clusters and u < crowding:
            cx, cy, spread = clusters[int(rng.integers(len(clusters)))]
            x, y = cx + rng.normal(0, spread), cy + rng.normal(0, spread)
        elif centres and u < crowding + touching:
            i = rng.integers(len(centres))
            ang = rng.uniform(0, 2 * math.pi)
            d = (radii[i] + r) * rng.uniform(0.8, 1.05)
            x, y = centres[i][0] + d * math.cos(ang), centres[i][1] + d * math.sin(ang)
        else:
            x, y = rng.uniform(0, w), rng.uniform(0, h)
        xi, yi = int(np.clip(x, 0, w - 1)), int(np.clip(y, 0, h - 1))
        if holes is None or holes[yi, xi] < 0.2:
            break
    return x, y


def _neurite(
    rng: np.random.Generator,
    lines: np.ndarray,
    centre: tuple[float, float],
    r: float,
    peak: float,
    style: CollectionStyle,
) -> None:
    """One bright process leaving a cell (length, brightness and width from ``style``),
    tapering in brightness (by ``style.neurite_fade`` of its base level at the tip) and width
    along its length, beaded like the background fibres (``style.fibre_beading``); a share
    ``style.dotted`` of them is a chain of puncta, and with ``style.neurite_base`` > 0 the
    process leaves the cell as a wide cone (a share of the radius ``r``) narrowing over the
    first ``style.neurite_cone`` of its length. With ``style.neurite_branch`` > 0 a process
    forks once, with that chance, into a thinner branch (a dendritic tree)."""
    heading = rng.uniform(0, 2 * math.pi)
    start = (centre[0] + 0.8 * r * math.cos(heading), centre[1] + 0.8 * r * math.sin(heading))
    steps = int(rng.integers(*style.neurite_length))
    path = _curve(rng, start, heading, steps, rng.uniform(3, 6), style.neurite_turn)
    bright = peak * rng.uniform(*style.neurite_level)
    if style.dotted > 0 and rng.random() < style.dotted:
        _dotted(rng, lines, path, bright, style.fibre_beading, fade=style.neurite_fade)
        return
    width = int(rng.integers(*style.neurite_width))
    base = style.neurite_base * r * rng.uniform(0.5, 1.0)
    _tapered(rng, lines, path, bright, width, base, style)
    if style.neurite_branch > 0 and rng.random() < style.neurite_branch and len(path) > 8:
        n = len(path) - 1
        k = int(rng.integers(n // 4, 3 * n // 4 + 1))
        dx, dy = (path[min(k + 1, n), 0] - path[k, 0]).astype(float)
        turn = rng.choice((-1.0, 1.0)) * rng.uniform(0.4, 1.1)
        fork = _curve(
            rng,
            tuple(path[k, 0]),
            math.atan2(dy, dx) + turn,
            n - k,
            rng.uniform(3, 6),
            style.neurite_turn,
        )
        level = bright * (1.0 - style.neurite_fade * k / n)
        _tapered(rng, lines, fork, level, max(1, width - 1), 0.0, style)


def _tapered(
    rng: np.random.Generator,
    lines: np.ndarray,
    path: np.ndarray,
    bright: float,
    width: int,
    base: float,
    style: CollectionStyle,
) -> None:
    """Draw ``path`` (N, 1, 2) int32 as a line ``width`` px wide (a cone ``base`` px wide at
    its start), narrowing and dimming towards its end, in short runs of 3 steps; with
    ``style.neurite_swell`` > 0 each run's width varies (log-normal sigma), so the process
    swells and pinches along its length."""
    n = len(path) - 1
    for k in range(0, n, 3):
        fade = 1.0 - style.neurite_fade * k / max(n, 1)
        if style.fibre_beading > 0:
            fade *= math.exp(rng.normal(0.0, style.fibre_beading))
        seg = path[k : k + 4]
        taper = width * (1.0 - 0.6 * k / max(n, 1))
        if style.neurite_swell > 0:
            taper *= math.exp(rng.normal(0.0, style.neurite_swell))
        cone = base * (1.0 - (1.0 / style.neurite_cone) * k / max(n, 1))
        cv2.polylines(lines, [seg], False, float(bright * fade), max(1, round(max(taper, cone))))


def annotated_peak(
    rng: np.random.Generator, peak_image: float, threshold: float, style: CollectionStyle
) -> float:
    """Brightness of one annotated cell: log-normal around ``peak_image``, and, when the
    annotator has a ``threshold`` (> 0), redrawn until it clears that threshold (jittered per
    cell, as annotators are not exact) so that no annotated cell is dimmer than it."""
    need = threshold * math.exp(rng.normal(0, style.annotate_jitter)) if threshold > 0 else 0.0
    peak = peak_image * math.exp(rng.normal(0, style.brightness_sigma))
    for _ in range(30):
        if peak >= need:
            return peak
        peak = peak_image * math.exp(rng.normal(0, style.brightness_sigma))
    return need * math.exp(abs(rng.normal(0, style.brightness_sigma)))


LAYERS = ("scene", "cells", "neurites", "fragments", "fibres", "neuropil", "debris", "tissue")
"""The layers of a picture that draw from their own random stream (plus the camera)."""


def layer_streams(rng: np.random.Generator) -> dict[str, np.random.Generator]:
    """One independent generator per layer of :data:`LAYERS` and for ``"camera"``, seeded
    from ``rng``: a style change re-draws only the layers it touches, so two renderer settings
    compared on the same seeds differ by that change alone (common random numbers)."""
    names = (*LAYERS, "camera")
    seeds = rng.integers(0, 2**63, size=len(names))
    return {name: np.random.default_rng(int(seed)) for name, seed in zip(names, seeds, strict=True)}


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
    streams = layer_streams(rng)
    scene, cells, neurites = streams["scene"], streams["cells"], streams["neurites"]
    domain = draw_domain(scene, style)
    illum = illumination_field(scene, shape, domain.illumination)
    stain = np.zeros(shape, np.float32)
    mask = np.zeros(shape, bool)
    lines = np.zeros(shape, np.float32)
    # out-of-focus neurites go to their own layer, chosen from a stream spawned off the
    # neurite stream (spawning draws nothing from it, so the geometry is kept)
    focus = streams["neurites"].spawn(1)[0] if style.neurite_far > 0 else None
    far = np.zeros(shape, np.float32) if focus is not None else lines
    holes = hole_field(scene, shape) if domain.holes else None
    peak_image = style.intensity * domain.gain
    area_px_median = style.area_median_um2 / um_per_px**2
    scale = h * w / REFERENCE_PIXELS
    n_cells = 0
    if not empty:
        expected = style.count_median * math.exp(scene.normal(0, style.count_sigma))
        n_cells = scene.poisson(expected * scale)
    clusters = [
        (
            scene.uniform(0.15, 0.85) * w,
            scene.uniform(0.15, 0.85) * h,
            scene.uniform(0.04, 0.1) * min(h, w),
        )
        for _ in range(int(scene.integers(1, 3)))
    ]
    centres: list[tuple[float, float]] = []
    radii: list[float] = []
    threshold = style.annotate_min * style.intensity
    line = linear_level(threshold, domain.gamma)  # the threshold before the display gamma
    n_faint = scene.poisson(style.faint_ratio * max(n_cells, 5 * scale))
    for i in range(n_cells + n_faint):
        faint = i >= n_cells
        area = area_px_median * math.exp(cells.normal(0, style.area_sigma))
        area *= style.faint_area if faint else 1.0
        outline = cell_polygon(cells, area, style)
        r = math.sqrt(area / math.pi)
        crowd = domain.crowding if not faint else 0.0
        centre = _place(cells, centres, radii, r, shape, style.touching, clusters, crowd, holes)
        centres.append(centre)
        radii.append(r)
        hollow = cells.random() < style.hollow_fraction
        # what the annotator sees: the lamp's fall-off at the cell and the display gamma
        yi, xi = int(np.clip(centre[1], 0, h - 1)), int(np.clip(centre[0], 0, w - 1))
        seen = max(float(illum[yi, xi]), 0.05)
        if faint:
            share = style.faint_max * cells.uniform(0.1, 1.0) ** style.faint_skew
            if threshold > 0:  # displayed below the annotator's threshold
                peak = linear_level(threshold * share, domain.gamma) / seen
            else:
                peak = peak_image * share
            sharp = style.faint_sharp > 0 and cells.random() < style.faint_sharp
            defocus = 0.0 if sharp else cells.uniform(0.5, 4)
            _draw_cell(cells, stain, None, outline, centre, peak, style, hollow, defocus)
            continue
        need = line / seen if threshold > 0 else 0.0
        peak = annotated_peak(cells, peak_image, need, style)
        _draw_cell(cells, stain, mask, outline, centre, peak, style, hollow)
        for _ in range(neurites.integers(0, style.neurites + 1)):
            defocused = focus is not None and focus.random() < style.neurite_far
            _neurite(neurites, far if defocused else lines, centre, r, peak, style)
    if style.fragments > 0:  # small bright pieces of cells cut by the section: not annotated
        frag = streams["fragments"]
        for _ in range(frag.poisson(style.fragments * scale)):
            area = area_px_median * frag.uniform(*style.fragment_area)
            r = math.sqrt(area / math.pi)
            centre = _place(frag, centres, radii, r, shape, 0.5, [], 0.0, holes)
            peak = peak_image * frag.uniform(*style.fragment_level)
            outline = cell_polygon(frag, area, style)
            _draw_cell(frag, stain, None, outline, centre, peak, style, False, frag.uniform(0, 1))
    fibres = streams["fibres"]
    _draw_lines(
        fibres,
        lines,
        fibres.poisson(style.fibres * scale),
        peak_image,
        style.fibre_level,
        style.fibre_length,
        style.fibre_width,
        anchors=centres[:n_cells],
        near=style.fibre_near_cells,
        beading=style.fibre_beading,
        dotted=style.dotted,
    )
    if style.neuropil > 0:
        pil = streams["neuropil"]
        r_median = math.sqrt(area_px_median / math.pi)
        n_puncta = pil.poisson(style.neuropil * scale)
        spread = style.neuropil_spread * r_median
        level = style.neuropil_level
        _neuropil(pil, lines, n_puncta, peak_image, level, centres[:n_cells], spread)
    np.maximum(stain, cv2.GaussianBlur(lines, (0, 0), style.line_blur), out=stain)
    if focus is not None:
        np.maximum(stain, cv2.GaussianBlur(far, (0, 0), style.neurite_far_blur), out=stain)
    dust = streams["debris"]
    debris(dust, stain, peak_image, style.debris_rate)
    if dust.random() < 0.15:
        stripe(dust, stain, peak_image)
    stain += haze(stain, domain.haze)
    tissue = autofluorescence(streams["tissue"], shape, domain.background, style.tissue_contrast)
    if holes is not None:
        keep = 1.0 - 0.9 * holes
        tissue *= keep
        stain *= np.where(mask, 1.0, keep).astype(np.float32)
    image = expose(streams["camera"], stain, tissue, style, domain, illum)
    # Annotators outline a merged blob of touching cells; background it encloses is not a hole.
    mask = ndi.binary_fill_holes(mask)
    return RenderedImage(image, mask, domain)
