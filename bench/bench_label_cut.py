"""Label audit: where would an annotator with one brightness line have to draw it to count the
real samples within 30% of their annotations?

For each real labelled image, the peak brightness of every annotated object and of every
unmarked cell body: an unannotated blob as ``fncssl synth-check`` finds them (brightest channel
smoothed with a sigma of 2 px; brighter than the image's background median plus 12 grey
levels, mostly outside the masks), 0.5 to 4 times the collection's median annotated object in
area, with its brightest pixel off the masks. An annotator who marked exactly the objects whose
peak is at or above a cut ``c`` would count ``annotated(c) + unmarked(c)`` objects on an image.
For every integer cut 0-255 the audit asks whether each image with more than 5 annotated cells
would then be counted within 30% of its annotation (the count rule ``bench_sim2real`` applies
to a model; images with 5 cells or fewer are not judged), and prints the cuts at which every
judged image is: the band that a model's effective brightness line has to fall in. It also
says how far the images' own annotations overlap: unmarked cell bodies at or above the
collection's dimmest annotated object. Peaks are grey levels (0-255) of the image as stored;
nothing is trained, and the real samples are only read. Run from the repository root:

    python -m bench.bench_label_cut                 # every collection of the samples in
                                                    # ../shared/fnc-samples beside the repository
    python -m bench.bench_label_cut --samples DIR --collections yellow
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from bench.common import MIN_CELLS, counts_within, out_file_problem
from fncssl.argtypes import OneLineErrorParser
from fncssl.data.atomic import write_text
from fncssl.data.objects import label_objects
from fncssl.data.synth_check import (
    Labelled,
    cell_sized,
    find_labelled,
    read_pair,
    smoothed,
    unannotated_blobs,
)
from fncssl.errors import FNCError

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "fnc-samples"
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "label_cut.json"  # gitignored
CUTS = np.arange(256)
TABLE_STEP = 10  # grey levels between the rows of the printed cut table
ON_BODY = 0.5  # a predicted object lies on a cell or body when this share of its area is inside it


@dataclass(frozen=True)
class ImagePeaks:
    """Peaks (grey levels, float) of one image's annotated objects and unmarked cell bodies."""

    name: str
    annotated: np.ndarray
    unmarked: np.ndarray

    def count_at(self, cut: float) -> int:
        """Objects an annotator marking every peak >= ``cut`` would count."""
        return int((self.annotated >= cut).sum() + (self.unmarked >= cut).sum())


def median_object_area(masks: list[np.ndarray]) -> float:
    """Median area (px) of the connected components of boolean ``masks``; NaN without any."""
    areas = [np.bincount(ndi.label(m)[0].ravel())[1:] for m in masks]
    pooled = np.concatenate(areas) if areas else np.empty(0)
    return float(np.median(pooled)) if pooled.size else float("nan")


def annotated_peaks(smooth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Peak of each annotated object (connected component of ``mask``) on ``smooth``."""
    objects, n = ndi.label(mask)
    return np.asarray(ndi.maximum(smooth, objects, np.arange(1, n + 1)) if n else [], float)


def unmarked_bodies(
    smooth: np.ndarray, mask: np.ndarray, median_area: float
) -> tuple[np.ndarray, np.ndarray]:
    """The unmarked cell bodies of one :func:`smoothed` image: ``synth-check``'s unannotated
    blobs of cell size (``CELL_SIZED`` x ``median_area``) whose brightest pixel is off the mask
    (a glow around a small annotated cell is that cell, not another one). Returns an int64
    (H, W) label image (0 none, bodies 1..k) and their peaks, float (k,), in label order."""
    blobs, ids, area, peak = unannotated_blobs(smooth, mask)
    at = ndi.maximum_position(smooth, blobs, ids) if ids.size else []
    off_mask = np.array([not mask[yx] for yx in at], bool)
    keep = cell_sized(area, median_area) & off_mask
    number = np.zeros(int(blobs.max()) + 1, np.int64)  # blob label -> body 1..k, else 0
    number[ids[keep]] = np.arange(1, int(keep.sum()) + 1)
    return number[blobs], peak[keep]


def collection_peaks(items: list[tuple[str, np.ndarray, np.ndarray]]) -> list[ImagePeaks]:
    """``items``: (name, RGB uint8 image, bool mask) of one collection; cell-sized is judged
    against the median annotated object area pooled over ``items``."""
    median_area = median_object_area([mask for _, _, mask in items])
    out = []
    for name, image, mask in items:
        smooth = smoothed(image.max(axis=2))
        _, peaks = unmarked_bodies(smooth, mask, median_area)
        out.append(ImagePeaks(name, np.sort(annotated_peaks(smooth, mask)), np.sort(peaks)))
    return out


def mostly_on(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """For each predicted label 0..max, the ``target`` label holding at least ``ON_BODY`` of its
    area, else 0 (always 0 for label 0 and for labels not present). Both int (H, W) label
    images of one shape, 0 background; labels need not be consecutive."""
    if predicted.shape != target.shape:
        raise ValueError(f"predicted labels {predicted.shape} != image {target.shape}")
    n, k = int(predicted.max(initial=0)), int(target.max(initial=0))
    # pixels of each (predicted object, target) pair; row 0 / column 0: background
    pairs = np.bincount(
        predicted.ravel().astype(np.int64) * (k + 1) + target.ravel().astype(np.int64),
        minlength=(n + 1) * (k + 1),
    ).reshape(n + 1, k + 1)
    if k == 0:
        return np.zeros(n + 1, np.int64)
    best = pairs[:, 1:].argmax(axis=1) + 1
    size = pairs.sum(axis=1)
    held = pairs[np.arange(n + 1), best]
    out = np.where((held >= ON_BODY * size) & (size > 0), best, 0)
    out[0] = 0
    return out


def bodies_found(
    body: np.ndarray, peak: np.ndarray, predicted: np.ndarray
) -> list[tuple[float, bool]]:
    """(peak, found) for each unmarked cell body of one image, dimmest first: found when a
    predicted object has at least ``ON_BODY`` of its area inside the body. ``body`` and
    ``peak`` from :func:`unmarked_bodies`; ``predicted`` int (H, W) instance labels (0
    background, labels need not be consecutive)."""
    hit = np.isin(np.arange(1, peak.size + 1), mostly_on(predicted, body))
    return sorted((float(p), bool(h)) for p, h in zip(peak, hit, strict=True))


def object_breakdown(mask: np.ndarray, body: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    """Where each predicted object of one image lies (at least ``ON_BODY`` of its area):
    ``cells``, the annotated cells of bool ``mask`` (8-connected, as the scoring counts them)
    with an object on them; ``splits``, further objects on a cell that already has one;
    ``bodies``, objects on an unmarked cell body of ``body`` (:func:`unmarked_bodies`);
    ``other``, the rest; and ``missed``, cells with no object on them.
    cells + splits + bodies + other = ``objects``."""
    cells, n_cells = label_objects(mask)
    present = np.unique(predicted)
    present = present[present > 0]
    on_cell = mostly_on(predicted, cells)[present]
    on_body = mostly_on(predicted, body)[present]
    hit = np.unique(on_cell[on_cell > 0]).size
    return {
        "objects": int(present.size),
        "cells": hit,
        "splits": int((on_cell > 0).sum()) - hit,
        "bodies": int(((on_cell == 0) & (on_body > 0)).sum()),
        "other": int(((on_cell == 0) & (on_body == 0)).sum()),
        "missed": n_cells - hit,
    }


def passing_cuts(images: list[ImagePeaks], cuts: np.ndarray = CUTS) -> list[int]:
    """The cuts at which every image with more than 5 annotated objects is counted within 30%."""
    return [
        int(c) for c in cuts if counts_within((im.count_at(c), im.annotated.size) for im in images)
    ]


def runs(values: list[int]) -> list[tuple[int, int]]:
    """Consecutive integers grouped as (first, last): [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def overlap(images: list[ImagePeaks]) -> dict:
    """How far the annotations disagree with one line: the dimmest annotated peak of the
    collection, and the unmarked cell bodies at or above it (per image)."""
    annotated = np.concatenate([im.annotated for im in images] or [np.empty(0)])
    if not annotated.size:
        return {"dimmest_annotated": None, "unmarked_at_or_above": {}}
    dimmest = float(annotated.min())
    return {
        "dimmest_annotated": dimmest,
        "unmarked_at_or_above": {im.name: int((im.unmarked >= dimmest).sum()) for im in images},
    }


def audit(found: list[Labelled], collections: list[str], binarise: bool = False) -> dict:
    """{collection: {"images": [...], "judged": [names], "passing_cuts": [[first, last], ...],
    "overlap": {...}}} for the ``found`` labelled images of ``collections``; peaks are full
    floats, so the table and the band agree."""
    result = {}
    for c in collections:
        items = []
        for x in (x for x in found if x.collection == c):
            image, mask = read_pair(x, binarise)
            items.append((x.image.name, image, mask))
        images = collection_peaks(items)
        result[c] = {
            "images": [
                {
                    "name": im.name,
                    "annotated_peaks": [float(v) for v in im.annotated],
                    "unmarked_peaks": [float(v) for v in im.unmarked],
                }
                for im in images
            ],
            "judged": [im.name for im in images if im.annotated.size > MIN_CELLS],
            "passing_cuts": [list(r) for r in runs(passing_cuts(images))],
            "overlap": overlap(images),
        }
    return result


def _peaks(values: list[float]) -> str:
    """Peaks to one decimal (``bench_sim2real`` prints found bodies the same way)."""
    return " ".join(f"{v:.1f}" for v in values) or "none"


def markdown(result: dict) -> str:
    """Per collection: the peaks of each image, the cut table and the passing band."""
    parts = []
    for c, r in result.items():
        images = [
            ImagePeaks(i["name"], np.array(i["annotated_peaks"]), np.array(i["unmarked_peaks"]))
            for i in r["images"]
        ]
        lines = [f"**{c}**", "", "| image | annotated | peaks | unmarked cell bodies | peaks |",
                 "|---|---|---|---|---|"]  # fmt: skip
        for im in images:
            lines.append(
                f"| {im.name} | {im.annotated.size} | {_peaks(list(im.annotated))} "
                f"| {im.unmarked.size} | {_peaks(list(im.unmarked))} |"
            )
        o = r["overlap"]
        if o["dimmest_annotated"] is not None:
            above = ", ".join(f"{n} {k}" for n, k in o["unmarked_at_or_above"].items())
            lines += ["", f"Dimmest annotated object: {o['dimmest_annotated']:.1f}; unmarked "
                      f"cell bodies at or above it: {above}."]  # fmt: skip
        names = " | ".join(f"{im.name} (true {im.annotated.size})" for im in images)
        lines += ["", f"| cut | {names} | every judged image within 30% |",
                  "|---|" + "---|" * len(images) + "---|"]  # fmt: skip
        for cut in range(0, 256, TABLE_STEP):
            counts = " | ".join(str(im.count_at(cut)) for im in images)
            ok = counts_within((im.count_at(cut), im.annotated.size) for im in images)
            lines.append(f"| {cut} | {counts} | {'yes' if ok else 'no'} |")
        band = ", ".join(f"{a}-{b}" for a, b in r["passing_cuts"]) or "none"
        if r["judged"]:
            lines += ["", f"Judged (more than {MIN_CELLS} cells): {', '.join(r['judged'])}. "
                      f"Cuts at which each is counted within 30%: {band}."]  # fmt: skip
        else:
            lines += ["", f"No image has more than {MIN_CELLS} annotated cells: nothing judged."]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--samples",
        default=str(SAMPLES),
        help="real samples folder or FNC archive (default ../shared/fnc-samples)",
    )
    p.add_argument(
        "--collections", default=None, help="comma-separated (default: every one with labels)"
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="results JSON (default bench/out/label_cut.json, not tracked by git)",
    )
    p.add_argument(
        "--binarise",
        action="store_true",
        help="threshold non-binary masks at > 127 instead of refusing them",
    )
    args = p.parse_args(argv)
    samples = Path(args.samples)
    if not samples.is_dir():
        p.error(f"real samples not found at {samples}")
    if problem := out_file_problem(args.out):
        p.error(problem)
    try:
        found = find_labelled(samples)
        have = sorted({x.collection for x in found})
        wanted = args.collections.split(",") if args.collections else have
        for c in wanted:
            if c not in have:
                p.error(f"no labelled {c!r} images under {samples} (it has: {', '.join(have)})")
        result = audit(found, wanted, args.binarise)
    except FNCError as err:
        p.exit(1, f"{p.prog}: {err}\n")
    try:
        write_text(
            args.out,
            json.dumps({"samples": str(samples.resolve()), "collections": result}, indent=1),
        )
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        p.exit(1, f"{p.prog}: cannot write {args.out} ({err.strerror or err}{where})\n")
    print(markdown(result))
    print(f"\nwritten: {Path(args.out).resolve()}")


if __name__ == "__main__":
    main()
