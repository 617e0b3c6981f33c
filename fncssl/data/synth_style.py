"""Per-collection appearance of the synthetic FNC images, calibrated to the real archive.

Colours and levels come from the real sample images (e.g. yellow cells average RGB about
(100, 78, 7) on a (5, 2, 0) background; red cells (85-120, 2, 1) on (16, 0, 0)); sizes, counts
and empty-image rates from Table 1 (see :mod:`fncssl.data.reference_stats`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CollectionStyle:
    """How to draw one collection. Areas in um^2; counts per 1600x1200 image."""

    collection: str
    letter: str
    signal_rgb: tuple[float, float, float]  # colour of the stain, brightest channel = 1
    background_rgb: tuple[float, float, float]  # mean background level, 0-255
    area_median_um2: float
    area_sigma: float  # log-normal spread of cell area
    count_median: float
    count_sigma: float  # log-normal spread of cells per image
    empty_fraction: float
    aspect: tuple[float, float]  # range of major/minor axis ratio
    irregularity: float  # amplitude of boundary harmonics (0 = ellipse)
    processes: int  # max number of protrusions per cell (cytoplasm stains)
    hollow_fraction: float  # share of cells with a darker unstained nucleus
    intensity: float  # median peak brightness of the stained channel, 0-255
    large_image_fraction: float = 0.0  # share of 2272x1704 (250x) images
    fibres: int = 0  # faint neurite fragments in the background per image
    neurites: int = 0  # max thin stained processes leaving each cell (not annotated)
    touching: float = 0.1  # chance that a cell is placed against an earlier one


STYLES = {
    "green": CollectionStyle(
        collection="green",
        letter="g",
        signal_rgb=(0.38, 1.0, 0.22),
        background_rgb=(2.5, 7.0, 2.0),
        area_median_um2=58.0,
        area_sigma=0.28,
        count_median=20.5,
        count_sigma=0.3,
        empty_fraction=0.02,
        aspect=(1.0, 1.45),
        irregularity=0.05,
        processes=0,
        hollow_fraction=0.0,
        intensity=95.0,
        fibres=20,
        touching=0.06,
    ),
    "yellow": CollectionStyle(
        collection="yellow",
        letter="y",
        signal_rgb=(1.0, 0.77, 0.07),
        background_rgb=(5.0, 1.9, 0.1),
        area_median_um2=85.0,
        area_sigma=0.28,
        count_median=13.0,
        count_sigma=0.25,
        empty_fraction=0.13,
        aspect=(1.1, 2.0),
        irregularity=0.12,
        processes=2,
        hollow_fraction=0.35,
        intensity=85.0,
        fibres=60,
        neurites=3,
        touching=0.06,
    ),
    "red": CollectionStyle(
        collection="red",
        letter="r",
        signal_rgb=(1.0, 0.03, 0.02),
        background_rgb=(8.0, 0.3, 0.05),
        area_median_um2=172.0,
        area_sigma=0.38,
        count_median=25.0,
        count_sigma=0.4,
        empty_fraction=0.015,
        aspect=(1.2, 2.6),
        irregularity=0.16,
        processes=3,
        hollow_fraction=0.5,
        intensity=80.0,
        fibres=400,
        neurites=3,
        touching=0.1,
        large_image_fraction=0.35,
    ),
}
