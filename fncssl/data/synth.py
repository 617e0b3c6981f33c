"""The synthetic FNC archive: the exact v2 layout with every annotation format.

``write_synthetic_archive(out, ...)`` renders images for each collection (trainval/test split
75/25, plus an unlabelled partition larger than the labelled one by default), writes images,
metadata dumps and masks in parallel, derives RLE, both COCO flavours, VOC and VIA from the
masks with the same converter users run, and writes ``metadata_v2.xlsx``. Deterministic for a
seed: each image draws from its own generator seeded by (seed, collection, index).
Green image i and yellow image i are "double marked" twins and share a partition.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fncssl.config import COLLECTIONS
from fncssl.data.atomic import atomic_folder, write_bytes, write_json
from fncssl.data.formats import FORMATS, convert_archive
from fncssl.data.imageio import write_image, write_mask
from fncssl.data.layout import open_archive
from fncssl.data.metadata import write_metadata_txt
from fncssl.data.progress import progress
from fncssl.data.reference_stats import REAL_COUNTS
from fncssl.data.synth_render import render_image
from fncssl.data.synth_style import STYLES
from fncssl.errors import DataError

LARGE_SIZE = (2272, 1704)
DEFAULT_SIZE = (1600, 1200)
LARGE_SCALE = LARGE_SIZE[0] / DEFAULT_SIZE[0]  # 250x images are 1.42x the 200x ones
MAX_SIDE = 8192  # px, the longest image side rendered; the largest real FNC image is 2272x1704
BRAIN_AREAS = ("LHr", "LHl", "DMHr", "DMHl", "PVr", "PVl", "RPa", "VMHr")
TEST_FRACTION = 0.25


@dataclass(frozen=True)
class SynthImage:
    """Everything needed to render and write one synthetic image (picklable for workers)."""

    collection: str
    partition: str
    index: int
    stem: str
    size: tuple[int, int]
    empty: bool
    seed: int


def original_stem(collection: str, index: int, zoom: str) -> str:
    """A file stem following the original naming convention, unique per collection."""
    animal = f"SYN{index // 60 + 1:02d}"
    sample, column, row = (index // 20) % 3 + 1, (index // 5) % 4 + 1, index % 5 + 1
    area = BRAIN_AREAS[(index // 60) % len(BRAIN_AREAS)]
    return f"{animal}S{sample}C{column}R{row}_{area}_{zoom}_{STYLES[collection].letter}"


def plan_archive(
    collections: list[str],
    labelled: int | None,
    unlabelled: int | None,
    size: tuple[int, int] | None,
    seed: int,
) -> list[SynthImage]:
    """Decide every image's partition, size, emptiness and name (no rendering)."""
    plan: list[SynthImage] = []
    twin_partitions: dict[int, str] = {}
    for ci, collection in enumerate(COLLECTIONS):
        rng = np.random.default_rng([seed, ci, 10_000])
        n_lab = REAL_COUNTS[collection][0] if labelled is None else labelled
        n_unl = REAL_COUNTS[collection][1] if unlabelled is None else unlabelled
        style = STYLES[collection]
        n_test = round(TEST_FRACTION * n_lab)
        parts = np.array(["test"] * n_test + ["trainval"] * (n_lab - n_test))
        rng.shuffle(parts)
        if collection == "yellow":  # twins of green images share their partition
            for i in range(n_lab):
                parts[i] = twin_partitions.get(i, parts[i])
        if collection == "green":
            twin_partitions = dict(enumerate(parts.tolist()))
        for index in range(n_lab + n_unl):
            partition = str(parts[index]) if index < n_lab else "unlabelled"
            large = rng.random() < style.large_image_fraction
            base = size or DEFAULT_SIZE
            img_size = (
                (round(base[0] * LARGE_SCALE), round(base[1] * LARGE_SCALE)) if large else base
            )
            empty = bool(rng.random() < style.empty_fraction)
            if collection not in collections:
                continue
            stem = original_stem(collection, index, "250x" if large else "200x")
            plan.append(SynthImage(collection, partition, index, stem, img_size, empty, seed))
    return plan


def _metadata_fields(item: SynthImage) -> dict[str, str]:
    w, h = item.size
    large = "250x" in item.stem
    return {
        "Make": "NIKON" if not large else "NIKON CORPORATION",
        "Model": "DS-Vi1" if not large else "E4500",
        "ImageWidth": str(w),
        "ImageLength": str(h),
        "BitsPerSample": "8 8 8",
        "Magnification": "250x" if large else "200x",
        "DateTime": f"2020:0{item.index % 9 + 1}:1{item.index % 9} 10:{item.index % 60:02d}:00",
        "Software": "fncssl synthetic archive",
    }


def render_and_write(out: Path, item: SynthImage) -> tuple[str, int]:
    """Render one image; write its PNG, metadata and (if labelled) mask. Returns (key, cells)."""
    rng = np.random.default_rng([item.seed, COLLECTIONS.index(item.collection), item.index])
    rendered = render_image(rng, STYLES[item.collection], item.size, empty=item.empty)
    pdir = out / item.collection / item.partition
    write_image(pdir / "images" / f"{item.stem}.png", rendered.image)
    write_metadata_txt(
        pdir / "metadata" / f"{item.stem}.txt",
        _metadata_fields(item),
        f"EXIF metadata of {item.stem}.png (synthetic)",
    )
    if item.partition != "unlabelled":
        write_mask(pdir / "ground_truths" / "masks" / f"{item.stem}.png", rendered.mask)
    return f"{item.collection}/{item.partition}/{item.stem}", int(rendered.mask.any())


def _write_spreadsheet(out: Path, plan: list[SynthImage]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "images"
    ws.append(["image_name", "original_name", "collection", "partition", "double_marked"])
    n_green = {p.index for p in plan if p.collection == "green" and p.partition != "unlabelled"}
    for p in plan:
        twin = (
            p.collection in ("green", "yellow")
            and p.partition != "unlabelled"
            and (p.index in n_green)
        )
        ws.append([f"{p.stem}.png", f"{p.stem}.TIF", p.collection, p.partition, bool(twin)])
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(out / "metadata_v2.xlsx", buf.getvalue())


def _worker(args: tuple[Path, SynthImage]) -> tuple[str, int]:
    return render_and_write(*args)


def _reset_worker_signals() -> None:
    """Forked workers inherit the caller's signal handlers. A handler that ignores or traps
    SIGTERM (a bench's clean-up, Lightning's) would keep ``Pool.terminate`` from stopping them
    and hang the caller, so SIGTERM gets its default action back; Ctrl-C is left to the parent,
    which terminates the pool."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def write_synthetic_archive(
    out: str | Path,
    collections: list[str] | None = None,
    labelled: int | None = None,
    unlabelled: int | None = None,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> Path:
    """Write a synthetic archive to ``out`` (must be empty or absent); returns ``out``.

    The archive appears at ``out`` only once it is complete; on failure or interruption
    nothing is left behind (``out``, if it was an empty folder, stays so).
    """
    out = Path(out)
    cols = list(COLLECTIONS) if collections is None else list(collections)
    if not cols:
        raise DataError(f"no collection given; valid: {list(COLLECTIONS)}")
    unknown = [c for c in cols if c not in COLLECTIONS]
    if unknown:
        raise DataError(f"unknown collection(s) {unknown}; valid: {list(COLLECTIONS)}")
    if out.exists() and not out.is_dir():
        raise DataError(f"output path exists and is not a folder: {out}")
    if out.exists() and any(out.iterdir()):
        raise DataError(f"output folder is not empty: {out}")
    if size is not None and (size[0] < 64 or size[1] < 64):
        raise DataError(f"--size {size[0]}x{size[1]} is too small (minimum 64x64)")
    if size is not None and max(size) * LARGE_SCALE > MAX_SIDE:  # as large as a 250x image
        limit = int(MAX_SIDE / LARGE_SCALE)
        raise DataError(f"--size {size[0]}x{size[1]} is too large (each side at most {limit})")
    for name, n in (("--labelled", labelled), ("--unlabelled", unlabelled)):
        if n is not None and n < 0:
            raise DataError(f"{name} must be 0 or more images per collection, got {n}")
    plan = plan_archive(cols, labelled, unlabelled, size, seed)
    if not plan:
        raise DataError("nothing to write: --labelled and --unlabelled are both 0")
    # Build in a hidden folder beside ``out`` and rename it into place at the end, so an
    # interrupted run never leaves a partial archive that looks complete (``out`` was checked
    # absent or empty above).
    with atomic_folder(out, "archive") as tmp:
        _write_archive(tmp, cols, plan, labelled, unlabelled, size, seed, workers)
    return out


def _write_archive(
    out: Path,
    cols: list[str],
    plan: list[SynthImage],
    labelled: int | None,
    unlabelled: int | None,
    size: tuple[int, int] | None,
    seed: int,
    workers: int | None,
) -> None:
    """Render and write every planned image, the derived formats and the manifest to ``out``."""
    n_workers = workers or min(len(plan), os.cpu_count() or 1)
    jobs = [(out, item) for item in plan]
    desc = "synth: images"
    if n_workers > 1:
        with mp.get_context("fork").Pool(n_workers, initializer=_reset_worker_signals) as pool:
            results = pool.imap_unordered(_worker, jobs, chunksize=4)
            list(progress(results, total=len(jobs), desc=desc))
            pool.close()  # let the workers finish; the ``with`` only terminates on an error
            pool.join()
    else:
        list(progress(map(_worker, jobs), total=len(jobs), desc=desc))
    archive = open_archive(out)
    convert_archive(archive, [f for f in FORMATS if f != "masks"])
    _write_spreadsheet(out, plan)
    write_json(
        out / "synthetic.json",
        {
            "generator": "fncssl synth",
            "seed": seed,
            "collections": cols,
            "labelled_per_collection": labelled,
            "unlabelled_per_collection": unlabelled,
            "size": list(size) if size else list(DEFAULT_SIZE),
            "images": len(plan),
        },
    )


def parse_size(text: str) -> tuple[int, int]:
    """``"800x600"`` -> (800, 600)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise DataError(
            f"--size must look like WIDTHxHEIGHT (e.g. 800x600), got {text!r}"
        ) from None
    return w, h


def manifest(out: Path) -> dict:
    """The generator settings saved with a synthetic archive."""
    return json.loads((out / "synthetic.json").read_text())
