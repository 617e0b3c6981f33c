"""Table 1 of the FNC v2 paper (object-level statistics per collection) and calibration bands.

The paper gives mean and median (cells per image, signal %) and mean with p10-p90 (object
area). Interquartile ranges are not published; :func:`estimated_iqr` derives them by fitting a
log-normal to those figures (median = e^mu, mean = e^(mu + s^2/2); or
p10, p90 = e^(mu -/+ 1.2816 s)).
These estimated IQRs are the targets the synthetic archive is calibrated to.

Note: at 0.3 um/px (the areas of the real sample masks) the paper's signal % for green and
yellow is about half of what its own cell counts times cell areas give; the synthetic archive
therefore sits at the low ends of the count and area bands so that all three land in range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_UM_PER_PX = 0.3
Z_QUARTILE = 0.6745
Z_DECILE = 1.2816


@dataclass(frozen=True)
class Table1Row:
    """One collection's published statistics (areas in um^2, signal in % of pixels)."""

    signal_mean: float
    signal_median: float
    cells_mean: float
    cells_median: float
    cells_max: int
    empty_images: int
    labelled_images: int
    area_mean: float
    area_p10: float
    area_p90: float
    feret_mean: float
    eq_diameter_mean: float


TABLE1 = {
    "green": Table1Row(0.64, 0.45, 28.65, 25, 69, 6, 283, 74.8, 48.7, 104.7, 12.20, 9.64),
    "red": Table1Row(2.61, 2.34, 34.96, 31, 90, 3, 184, 246.5, 106.7, 422.6, 25.68, 17.13),
    "yellow": Table1Row(0.65, 0.40, 25.76, 19, 72, 38, 283, 132.6, 66.2, 218.3, 17.24, 12.63),
}

# Images per collection in the real archive: (labelled trainval+test, unlabelled).
REAL_COUNTS = {"green": (283, 408), "yellow": (283, 354), "red": (184, 362)}


def _iqr_from_mean_median(mean: float, median: float) -> tuple[float, float]:
    s = math.sqrt(2.0 * math.log(mean / median)) if mean > median else 0.0
    return median * math.exp(-Z_QUARTILE * s), median * math.exp(Z_QUARTILE * s)


def _iqr_from_deciles(p10: float, p90: float) -> tuple[float, float]:
    mu = 0.5 * (math.log(p10) + math.log(p90))
    s = (math.log(p90) - math.log(p10)) / (2.0 * Z_DECILE)
    return math.exp(mu - Z_QUARTILE * s), math.exp(mu + Z_QUARTILE * s)


def estimated_iqr(collection: str) -> dict[str, tuple[float, float]]:
    """Estimated interquartile ranges of signal %, cells per image and object area (um^2)."""
    row = TABLE1[collection]
    return {
        "signal_pct": _iqr_from_mean_median(row.signal_mean, row.signal_median),
        "cells_per_image": _iqr_from_mean_median(row.cells_mean, row.cells_median),
        "area_um2": _iqr_from_deciles(row.area_p10, row.area_p90),
    }
