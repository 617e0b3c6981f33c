"""Read and write every annotation format of one collection/partition of an archive.

Formats: ``masks`` (PNG), ``rle`` (pickles), ``coco`` (FNC variant), ``coco-standard``,
``voc`` (Pascal VOC XML) and ``via``. Readers return ``{stem: ImageAnnotation}`` for the
partition's images; writers take the same mapping and write under an output root that has the
v2 layout (``<out>/<collection>/<partition>/ground_truths/<format folder>/``).
"""

from __future__ import annotations

from pathlib import Path

from fncssl.data.annotation import ImageAnnotation
from fncssl.data.coco import read_fnc_coco, read_standard_coco, write_fnc_coco, write_standard_coco
from fncssl.data.imageio import image_size, read_mask, write_mask
from fncssl.data.layout import GT_DIRS, LABELLED_PARTITIONS, Archive, ImageRecord
from fncssl.data.rle import read_rle_pickle, write_rle_pickle
from fncssl.data.via import read_via, write_via
from fncssl.data.voc import read_voc, write_voc
from fncssl.errors import DataError

FORMATS = ("masks", "rle", "coco", "coco-standard", "voc", "via")
EXACT_FORMATS = ("masks", "rle", "coco-standard")  # polygon formats lose holes


def parse_formats(text: str) -> list[str]:
    """Split ``"rle,voc"`` into names, rejecting unknown ones."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise DataError(f"unknown annotation format(s) {unknown or [text]}; valid: {list(FORMATS)}")
    return names


def format_path(gt_root: Path, fmt: str, collection: str, partition: str, stem: str = "") -> Path:
    """Where ``fmt`` lives under a partition's ``ground_truths`` folder."""
    d = gt_root / GT_DIRS[fmt]
    return {
        "masks": d / f"{stem}.png",
        "rle": d / f"{stem}.pickle",
        "voc": d / f"{stem}.xml",
        "coco": d / f"annotations_{collection}_{partition}.json",
        "coco-standard": d / f"coco_standard_{collection}_{partition}.json",
        "via": d / f"annotations_{collection}_{partition}.json",
    }[fmt]


def _gt_root(archive_or_root: Archive | Path, collection: str, partition: str) -> Path:
    if isinstance(archive_or_root, Archive):
        return archive_or_root.gt_dir(collection, partition, "masks").parent
    return archive_or_root / collection / partition / "ground_truths"


def read_partition(
    archive: Archive, collection: str, partition: str, fmt: str, binarise: bool = False
) -> dict[str, ImageAnnotation]:
    """Annotations of one labelled partition in format ``fmt``, for the images present."""
    records = archive.select([collection], [partition])
    gt = _gt_root(archive, collection, partition)
    if fmt == "masks":
        out = {}
        for r in records:
            if r.mask is None:
                raise DataError(f"missing mask for {r.image}")
            m = read_mask(r.mask, binarise=binarise)
            out[r.stem] = ImageAnnotation(r.stem, r.name, m.shape[0], m.shape[1], mask=m)
        return out
    if fmt == "rle":
        out = {}
        for r in records:
            m = read_rle_pickle(format_path(gt, "rle", collection, partition, r.stem))
            out[r.stem] = ImageAnnotation(r.stem, r.name, m.shape[0], m.shape[1], mask=m)
        return out
    if fmt == "voc":
        return {
            r.stem: read_voc(format_path(gt, "voc", collection, partition, r.stem)) for r in records
        }
    path = format_path(gt, fmt, collection, partition)
    if fmt == "coco":
        return read_fnc_coco(path)
    if fmt == "coco-standard":
        return read_standard_coco(path)
    return read_via(path, {r.stem: image_size(r.image) for r in records})


def write_partition(
    out_root: Path,
    records: list[ImageRecord],
    collection: str,
    partition: str,
    fmt: str,
    annotations: dict[str, ImageAnnotation],
) -> list[Path]:
    """Write ``annotations`` of one partition in ``fmt`` under ``out_root``; returns the paths."""
    if partition not in LABELLED_PARTITIONS:
        raise DataError(f"partition {partition!r} has no annotations to write")
    gt = _gt_root(out_root, collection, partition)
    ordered = [annotations[r.stem] for r in records if r.stem in annotations]
    if fmt in ("masks", "rle", "voc"):
        paths = []
        for r in records:
            if r.stem not in annotations:
                continue
            ann = annotations[r.stem]
            p = format_path(gt, fmt, collection, partition, r.stem)
            if fmt == "masks":
                write_mask(p, ann.binary_mask())
            elif fmt == "rle":
                write_rle_pickle(p, ann.binary_mask())
            else:
                image_path = f"{collection}/{partition}/images/{r.image.name}"  # archive-relative
                write_voc(p, collection, partition, image_path, ann)
            paths.append(p)
        return paths
    p = format_path(gt, fmt, collection, partition)
    if fmt == "coco":
        write_fnc_coco(p, collection, ordered)
    elif fmt == "coco-standard":
        write_standard_coco(p, collection, ordered)
    else:
        sizes = {r.stem: r.image.stat().st_size for r in records}
        write_via(p, [(a, sizes[a.stem]) for a in ordered])
    return [p]


def convert_archive(
    archive: Archive,
    to_formats: list[str],
    from_format: str = "masks",
    out_root: Path | None = None,
    binarise: bool = False,
) -> list[Path]:
    """Convert every labelled partition from one format to others; returns the written paths."""
    if archive.version != "v2":
        raise DataError(
            f"{archive.root}: convert needs the v2 layout (the v1 layout has masks only)"
        )
    out_root = out_root or archive.root
    written: list[Path] = []
    for collection in archive.collections():
        for partition in LABELLED_PARTITIONS:
            records = archive.select([collection], [partition])
            if not records:
                continue
            anns = read_partition(archive, collection, partition, from_format, binarise)
            for fmt in to_formats:
                if fmt == from_format and out_root == archive.root:
                    continue
                written += write_partition(out_root, records, collection, partition, fmt, anns)
    return written
