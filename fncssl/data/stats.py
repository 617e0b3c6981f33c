"""The paper's Table 1 for an archive: per-collection object statistics from the masks.

Objects are 8-connected components of the labelled masks (trainval + test). Areas are given in
um^2 and px, diameters in um and px, with a configurable pixel size (``um_per_px``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage.measure import regionprops

from fncssl.data.atomic import write_bytes, write_text
from fncssl.data.check import check_pairs
from fncssl.data.imageio import read_mask
from fncssl.data.layout import LABELLED_PARTITIONS, V1_PARTITION, Archive
from fncssl.data.objects import label_objects
from fncssl.data.reference_stats import DEFAULT_UM_PER_PX


@dataclass
class CollectionSamples:
    """Raw per-image and per-object measurements of one collection (pixels)."""

    signal_pct: list[float]
    cells: list[int]
    area_px: list[float]
    feret_px: list[float]
    eq_diameter_px: list[float]


def measure_collection(
    archive: Archive, collection: str, binarise: bool = False
) -> CollectionSamples:
    """Measure every labelled mask of ``collection``."""
    s = CollectionSamples([], [], [], [], [])
    for rec in archive.select([collection], [*LABELLED_PARTITIONS, V1_PARTITION]):
        if rec.mask is None:
            continue
        mask = read_mask(rec.mask, binarise=binarise)
        labels, n = label_objects(mask)
        s.signal_pct.append(100.0 * float(mask.mean()))
        s.cells.append(n)
        for p in regionprops(labels):
            s.area_px.append(float(p.area))
            s.feret_px.append(float(p.feret_diameter_max))
            s.eq_diameter_px.append(float(p.equivalent_diameter_area))
    return s


def summarise(s: CollectionSamples, um_per_px: float) -> dict[str, float]:
    """Table 1 row (plus quartiles) from raw measurements."""

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else float("nan")

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else float("nan")

    area_um2 = [a * um_per_px**2 for a in s.area_px]
    return {
        "images": len(s.cells),
        "empty_images": sum(1 for c in s.cells if c == 0),
        "signal_pct_mean": mean(s.signal_pct),
        "signal_pct_median": pct(s.signal_pct, 50),
        "cells_mean": mean(s.cells),
        "cells_median": pct(s.cells, 50),
        "cells_p25": pct(s.cells, 25),
        "cells_p75": pct(s.cells, 75),
        "cells_max": max(s.cells) if s.cells else 0,
        "objects": len(s.area_px),
        "area_um2_mean": mean(area_um2),
        "area_um2_median": pct(area_um2, 50),
        "area_um2_p10": pct(area_um2, 10),
        "area_um2_p25": pct(area_um2, 25),
        "area_um2_p75": pct(area_um2, 75),
        "area_um2_p90": pct(area_um2, 90),
        "area_px_median": pct(s.area_px, 50),
        "feret_um_mean": mean(s.feret_px) * um_per_px,
        "feret_px_mean": mean(s.feret_px),
        "eq_diameter_um_mean": mean(s.eq_diameter_px) * um_per_px,
        "eq_diameter_px_mean": mean(s.eq_diameter_px),
    }


def archive_stats(
    archive: Archive, um_per_px: float = DEFAULT_UM_PER_PX, binarise: bool = False
) -> tuple[dict[str, dict[str, float]], dict[str, CollectionSamples]]:
    """(summary per collection, raw measurements per collection) for a labelled archive."""
    samples = {c: measure_collection(archive, c, binarise) for c in archive.collections()}
    return {c: summarise(s, um_per_px) for c, s in samples.items() if s.cells}, samples


def to_markdown(table: dict[str, dict[str, float]], um_per_px: float) -> str:
    """Table 1 layout: one column per collection."""
    cols = list(table)
    rows = [
        ("images (empty)", lambda r: f"{r['images']} ({r['empty_images']})"),
        (
            "signal % mean (median)",
            lambda r: f"{r['signal_pct_mean']:.2f} ({r['signal_pct_median']:.2f})",
        ),
        (
            "cells per image mean (median, max)",
            lambda r: f"{r['cells_mean']:.2f} ({r['cells_median']:.0f}, {r['cells_max']})",
        ),
        (
            "object area um² mean (p10-p90)",
            lambda r: f"{r['area_um2_mean']:.1f} ({r['area_um2_p10']:.1f}-{r['area_um2_p90']:.1f})",
        ),
        ("object area px median", lambda r: f"{r['area_px_median']:.0f}"),
        (
            "Feret diameter mean um (px)",
            lambda r: f"{r['feret_um_mean']:.2f} ({r['feret_px_mean']:.1f})",
        ),
        (
            "equivalent diameter mean um (px)",
            lambda r: f"{r['eq_diameter_um_mean']:.2f} ({r['eq_diameter_px_mean']:.1f})",
        ),
    ]
    lines = [
        f"Pixel size: {um_per_px} um/px",
        "",
        "| statistic | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    lines += [f"| {name} | " + " | ".join(fmt(table[c]) for c in cols) + " |" for name, fmt in rows]
    return "\n".join(lines) + "\n"


def to_csv(table: dict[str, dict[str, float]]) -> str:
    buf = io.StringIO()
    keys = list(next(iter(table.values())))
    writer = csv.writer(buf)
    writer.writerow(["collection", *keys])
    for c, row in table.items():
        writer.writerow([c, *(row[k] for k in keys)])
    return buf.getvalue()


def plot_histograms(samples: dict[str, CollectionSamples], um_per_px: float) -> bytes:
    """PNG bytes: histograms of object area, cells per image and signal % per collection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for c, s in samples.items():
        if not s.cells:
            continue
        axes[0].hist(np.asarray(s.area_px) * um_per_px**2, bins=40, alpha=0.5, label=c, color=c)
        axes[1].hist(s.cells, bins=20, alpha=0.5, label=c, color=c)
        axes[2].hist(s.signal_pct, bins=20, alpha=0.5, label=c, color=c)
    for ax, title in zip(axes, ("object area (um²)", "cells per image", "signal %"), strict=True):
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def write_stats(
    archive: Archive, out: Path, um_per_px: float = DEFAULT_UM_PER_PX, binarise: bool = False
) -> dict:
    """Write ``stats.csv``, ``stats.md`` and ``stats_histograms.png`` to ``out``, after checking
    every labelled pair (missing or wrong-size masks are one error listing them all)."""
    labelled = archive.select(None, [*LABELLED_PARTITIONS, V1_PARTITION])
    check_pairs(labelled, binarise, what=f"the labelled images of {archive.root}")
    table, samples = archive_stats(archive, um_per_px, binarise)
    if not table:
        from fncssl.errors import DataError

        raise DataError(f"{archive.root}: no labelled masks to measure")
    write_text(out / "stats.csv", to_csv(table))
    write_text(out / "stats.md", to_markdown(table, um_per_px))
    write_bytes(out / "stats_histograms.png", plot_histograms(samples, um_per_px))
    return table
