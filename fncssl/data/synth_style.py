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
    # appearance and domain randomisation (ranges per image; see synth_camera.draw_domain)
    brightness_sigma: float = 0.4  # log-normal spread of cell brightness within an image
    granularity: float = 0.35  # strength of the punctate texture inside cells
    glow: float = 0.3  # soft halo around cells, share of the cell's brightness
    faint_ratio: float = 0.6  # unannotated faint cells per annotated cell
    faint_max: float = 0.5  # brightest unannotated cell, share of the image's cell brightness
    # (share of the annotation threshold when annotate_min > 0)
    faint_skew: float = 1.5  # faint brightness = faint_max * U(0.1, 1) ** faint_skew
    faint_area: float = 1.0  # area of unannotated cells relative to annotated ones
    faint_sharp: float = 0.0  # share of unannotated cells that are in focus (not defocused)
    neurite_level: tuple[float, float] = (0.2, 0.55)  # neurite brightness, share of the cell's
    neurite_length: tuple[int, int] = (3, 14)  # neurite length range, 3-6 px steps
    neurite_width: tuple[int, int] = (1, 3)  # neurite line width range, px (upper excluded)
    line_blur: float = 0.9  # Gaussian sigma (px) softening neurites and fibres
    fibre_width: int = 1  # widest background fibre, px
    fibre_length: tuple[int, int] = (4, 40)  # background fibre length range, 3-6 px steps
    fibre_level: tuple[float, float] = (0.08, 0.4)  # fibre brightness, share of the image's cells
    fibre_near_cells: float = 0.0  # share of fibres starting among the annotated cells (a mesh)
    fibre_beading: float = 0.0  # log-normal spread of brightness along a fibre (varicosities)
    edge_soft: float = 0.0  # extra blur of the cell body's edge, share of the cell radius
    puncta: float = 1.0  # multiplier on the number of bright puncta inside cells
    tissue_level: float = 5.0  # median tissue autofluorescence, grey levels
    tissue_contrast: float = 1.0  # scale of the autofluorescence texture's amplitudes
    gain_sigma: float = 0.3  # log-normal spread of exposure between images
    max_blur: float = 0.9  # largest defocus sigma, px
    jpeg_fraction: float = 0.3  # share of images that went through JPEG compression
    crowding: float = 0.5  # largest share of cells placed in dense clusters
    hole_fraction: float = 0.25  # share of images with dark tissue holes / edges
    haze_max: float = 0.35  # largest out-of-focus glow, share of the stain field
    # The annotator: with annotate_min > 0 a cell is annotated exactly when its exposed
    # brightness (gain included) is above annotate_min * intensity, up to a per-cell jitter
    # (log-normal sigma annotate_jitter); unannotated cells stay below it. With 0, which cells
    # are annotated depends on the image's exposure (the first-pass behaviour).
    annotate_min: float = 0.0
    annotate_jitter: float = 0.08
    core: float = 0.55  # share of a cell's brightness that peaks towards its centre (dome)
    debris_rate: float = 30.0  # dust and fluorophore dots per 1600x1200 image
    puncta_polar: float = 0.0  # share of puncta gathered in a cap on one side of the cell
    # colour: weak channel c of the stain is signal_rgb[c] * s * (s / 255) ** signal_curve[c]
    # for a stain level s (grey levels), so the hue can pale as the stain brightens
    signal_curve: tuple[float, float, float] = (0.0, 0.0, 0.0)
    colour_sigma: float = 0.12  # log-normal spread of the weak channels between images
    grain_scale: int = 5  # finest length scale of the texture inside cells, px
    outline_margin: float = 0.0  # annotator's outline beyond (> 0) or inside (< 0) the stained
    # body, share of the radius
    fragments: float = 0.0  # small bright unannotated cell pieces per 1600x1200 image
    fragment_area: tuple[float, float] = (0.04, 0.2)  # their area, share of the median cell's
    fragment_level: tuple[float, float] = (0.4, 1.0)  # their brightness, share of the cells'
    process_reach: tuple[float, float] = (0.25, 0.7)  # protrusion length, share of the radius
    clumps: float = 0.0  # log-normal amplitude of uneven staining on a third of the cell's size
    dotted: float = 0.0  # share of neurites and fibres drawn as chains of puncta (varicosities)
    neuropil: float = 0.0  # dim puncta per 1600x1200 image, gathered around the cells
    neuropil_level: tuple[float, float] = (0.1, 0.45)  # their brightness, share of the cells'
    neuropil_spread: float = 1.3  # their scatter around a cell, in median cell radii
    neurite_base: float = 0.0  # width where a neurite leaves its cell, share of the cell radius
    # (0 = ``neurite_width`` throughout)
    neurite_cone: float = 1 / 3  # share of the length over which that base narrows (> 0)
    neurite_fade: float = 0.9  # share of its brightness a neurite loses from base to tip
    neurite_branch: float = 0.0  # chance that a neurite forks once (a dendritic tree)
    neurite_turn: float = 0.18  # std of the heading change per 3-6 px step, radians
    neurite_swell: float = 0.0  # log-normal sigma of a neurite's width from run to run (the
    # mean width grows by exp(sigma^2 / 2), 6% at 0.35)
    neurite_far: float = 0.0  # share of neurites out of the focal plane (blurred much more)
    neurite_far_blur: float = 5.0  # Gaussian sigma (px, > 0) of those, instead of ``line_blur``


STYLES = {
    "green": CollectionStyle(
        collection="green",
        letter="g",
        signal_rgb=(0.38, 1.0, 0.22),
        background_rgb=(2.5, 7.0, 2.0),
        area_median_um2=56.5,
        area_sigma=0.28,
        count_median=20.5,
        count_sigma=0.25,
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
        signal_rgb=(1.0, 0.86, 0.082),
        signal_curve=(0.0, 0.07, 0.15),  # fitted to the real samples' G/R and B/R by level
        colour_sigma=0.04,
        grain_scale=2,
        clumps=0.4,
        fragments=33.0,  # mostly dim specks, as the real small unannotated blobs are
        fragment_level=(0.1, 0.6),
        outline_margin=0.12,
        background_rgb=(5.0, 1.75, 0.02),
        area_median_um2=89.0,
        area_sigma=0.25,
        count_median=13.0,
        count_sigma=0.25,
        empty_fraction=0.13,
        aspect=(1.1, 2.4),
        irregularity=0.22,
        processes=2,
        hollow_fraction=0.35,
        intensity=155.0,
        fibres=12,
        neurites=2,
        touching=0.06,
        granularity=0.2,
        faint_ratio=1.3,
        faint_max=0.8,
        faint_skew=0.5,
        faint_sharp=0.5,
        edge_soft=0.22,
        puncta=0.25,
        line_blur=1.1,
        neurite_width=(1, 3),
        fibre_width=1,
        fibre_length=(3, 12),
        fibre_level=(0.05, 0.3),
        fibre_beading=0.6,
        glow=0.15,
        tissue_level=6.0,
        haze_max=0.15,
        tissue_contrast=0.6,
        brightness_sigma=0.25,
        gain_sigma=0.2,
        crowding=0.15,
        annotate_min=0.6,
        faint_area=1.6,
        core=0.65,
        puncta_polar=0.7,
        dotted=0.7,
        neuropil=250.0,
        neuropil_level=(0.08, 0.35),
        process_reach=(0.4, 1.2),
    ),
    "red": CollectionStyle(
        collection="red",
        letter="r",
        signal_rgb=(1.0, 0.004, 0.003),
        background_rgb=(16.0, 0.28, 0.05),
        area_median_um2=172.0,
        area_sigma=0.38,
        count_median=25.0,
        count_sigma=0.4,
        empty_fraction=0.015,
        aspect=(1.2, 2.6),
        irregularity=0.16,
        processes=3,
        hollow_fraction=0.5,
        intensity=105.0,
        fibres=120,
        neurites=3,
        neurite_base=0.6,  # long, thick dendrites as in dense orexin/TH fields
        neurite_cone=0.5,
        neurite_fade=0.6,
        neurite_branch=0.5,
        neurite_turn=0.07,  # nearly straight, as the real dendrites run
        neurite_swell=0.35,  # with swellings (varicosities) along them
        neurite_far=0.4,  # and many of them out of the focal plane
        dotted=0.3,
        touching=0.1,
        brightness_sigma=0.2,
        gain_sigma=0.2,
        granularity=0.1,
        glow=0.7,
        faint_ratio=1.6,
        faint_max=0.5,
        faint_sharp=0.4,
        neurite_level=(0.5, 1.0),
        neurite_width=(3, 8),
        neurite_length=(20, 70),
        line_blur=2.5,
        fibre_width=2,
        fibre_length=(5, 25),
        fibre_level=(0.1, 0.5),
        fibre_near_cells=0.9,
        fibre_beading=0.45,
        max_blur=2.0,
        outline_margin=-0.1,
        fragments=55.0,
        fragment_level=(0.2, 0.55),
        edge_soft=0.08,
        puncta=0.0,
        neuropil=4000.0,
        neuropil_level=(0.3, 1.0),
        neuropil_spread=6.0,
        tissue_level=13.5,
        tissue_contrast=1.45,
        jpeg_fraction=0.5,
        large_image_fraction=0.35,
        annotate_min=0.8,
        core=0.5,
    ),
}
