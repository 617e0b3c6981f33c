"""Probability map -> cell instances, with the FNC paper's defaults.

Steps (each switchable): threshold (0.5); fill holes up to 50 px; remove objects under 200 px;
optional contour smoothing (binary opening then closing with a disk); distance-transform
watershed to split touching cells: the distance map is passed through a maximum filter of
size 30, its local maxima within a 40x40 footprint (one set per connected component) seed
markers, and a watershed of the negated distance splits each component.

A local maximum is every pixel equal to the largest value in its footprint, so a flat top (a
plateau, which the maximum filter makes of every peak) is one connected marker. This is the
behaviour of ``skimage.feature.peak_local_max`` before scikit-image 0.18 (which returned every
pixel of a flat peak), the versions of the paper's time; since 0.18 it thins a plateau to
separate points a few pixels apart, each of which became its own marker and cut a single
200-pixel blob into six pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk, remove_small_holes, remove_small_objects
from skimage.segmentation import watershed

from fncssl.config import setting
from fncssl.data.objects import label_objects


@dataclass(frozen=True)
class PostprocessConfig:
    """Post-processing settings (paper defaults). Sizes in pixels; 0 disables a step."""

    threshold: float = setting(0.5, gt=0.0, lt=1.0)
    fill_holes: int = setting(50, ge=0)
    min_size: int = setting(200, ge=0)
    smooth_radius: int = setting(0, ge=0)
    watershed: bool = True
    max_filter: int = setting(30, ge=1, used_if=("watershed", (True,)))
    footprint: int = setting(40, ge=1, used_if=("watershed", (True,)))


def binarise(prob: np.ndarray, cfg: PostprocessConfig = PostprocessConfig()) -> np.ndarray:
    """Threshold and clean a (H, W) probability map into a boolean mask."""
    mask = np.asarray(prob) > cfg.threshold
    if cfg.fill_holes > 0:
        mask = remove_small_holes(mask, max_size=cfg.fill_holes, connectivity=2)
    if cfg.smooth_radius > 0:
        se = disk(cfg.smooth_radius)
        mask = ndi.binary_closing(ndi.binary_opening(mask, se), se)
    if cfg.min_size > 0:
        mask = remove_small_objects(mask, max_size=cfg.min_size - 1, connectivity=2)
    return mask


def plateau_maxima(values: np.ndarray, components: np.ndarray, footprint: int) -> np.ndarray:
    """Boolean (H, W): pixels of each labelled component whose ``values`` equal the largest
    value within a ``footprint`` x ``footprint`` window of that component (other components
    and the background count as 0). Plateaus are kept whole."""
    peaks = np.zeros(values.shape, bool)
    window = np.ones((footprint, footprint), bool)
    pad = footprint // 2 + 1
    h, w = values.shape
    for label, box in enumerate(ndi.find_objects(components), start=1):
        if box is None:
            continue
        ys = slice(max(box[0].start - pad, 0), min(box[0].stop + pad, h))
        xs = slice(max(box[1].start - pad, 0), min(box[1].stop + pad, w))
        own = components[ys, xs] == label
        local = np.where(own, values[ys, xs], 0.0)
        top = ndi.maximum_filter(local, footprint=window, mode="constant")
        peaks[ys, xs] |= own & (local == top)
    return peaks


def split_touching(mask: np.ndarray, max_filter: int = 30, footprint: int = 40) -> np.ndarray:
    """Watershed instances (int32 labels) of a boolean mask; see the module docstring."""
    components, n = label_objects(mask)
    if n == 0:
        return components
    distance = ndi.distance_transform_edt(mask)
    smoothed = ndi.maximum_filter(distance, size=max_filter, mode="constant")
    peaks = plateau_maxima(smoothed, components, footprint)
    markers, _ = ndi.label(peaks, structure=np.ones((3, 3)))
    # every component gets at least one marker (plateaus can yield none)
    missing = np.setdiff1d(np.arange(1, n + 1), np.unique(components[markers > 0]))
    if missing.size:
        extra = np.isin(components, missing)
        markers[extra] = components[extra] + markers.max()
    labels = watershed(-distance, markers, mask=mask, connectivity=2)
    return _consecutive(labels)


def _consecutive(labels: np.ndarray) -> np.ndarray:
    values = np.unique(labels)
    values = values[values > 0]
    lookup = np.zeros(int(labels.max(initial=0)) + 1, np.int32)
    lookup[values] = np.arange(1, len(values) + 1, dtype=np.int32)
    return lookup[labels]


def probability_to_instances(
    prob: np.ndarray, cfg: PostprocessConfig = PostprocessConfig()
) -> np.ndarray:
    """int32 (H, W) instance labels of a (H, W) float probability map."""
    mask = binarise(prob, cfg)
    if cfg.watershed:
        return split_touching(mask, cfg.max_filter, cfg.footprint)
    return label_objects(mask)[0]
