"""Checking an archive: every image decodes, masks pair with images and are binary, and every
annotation format present agrees with the masks.

Exact formats (RLE, standard COCO) must reproduce the mask pixel for pixel; polygon formats
(FNC COCO variant, VOC, VIA) must have the same number of objects and every object must have
IoU >= ``min_polygon_iou`` with its mask object (polygons cannot hold holes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fncssl.data.annotation import ImageAnnotation
from fncssl.data.formats import FORMATS, format_path, read_partition
from fncssl.data.imageio import read_image, read_mask, size_mismatch
from fncssl.data.layout import LABELLED_PARTITIONS, Archive
from fncssl.data.objects import iou_matrix, label_objects, label_overlap, polygons_to_labels
from fncssl.data.progress import progress
from fncssl.data.rle import decode_rle, encode_mask
from fncssl.errors import DataError


@dataclass
class ValidationReport:
    """What was checked and every problem found (empty ``problems`` = valid)."""

    images_checked: int = 0
    formats_checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare_annotation(
    reference: np.ndarray, other: ImageAnnotation, exact: bool, min_polygon_iou: float = 0.98
) -> str | None:
    """Why ``other`` disagrees with the reference mask, or ``None`` when it agrees."""
    if other.shape != reference.shape:
        return f"size {other.shape} differs from the mask's {reference.shape}"
    if exact:
        diff = int(np.count_nonzero(other.binary_mask() != reference))
        return None if diff == 0 else f"{diff} pixels differ from the mask"
    true_labels, n_true = label_objects(reference)
    polys = other.polygons if other.polygons is not None else []
    if len(polys) != n_true:
        return f"{len(polys)} objects, the mask has {n_true}"
    if n_true == 0:
        return None
    ious = iou_matrix(label_overlap(true_labels, polygons_to_labels(polys, reference.shape)))
    worst = float(ious.max(axis=0).min())
    return (
        None if worst >= min_polygon_iou else f"an object has IoU {worst:.3f} < {min_polygon_iou}"
    )


def _present_formats(archive: Archive, collection: str, partition: str, stem: str) -> list[str]:
    gt = archive.gt_dir(collection, partition, "masks").parent
    found = []
    for fmt in FORMATS:
        if fmt == "masks":
            continue
        per_image = fmt in ("rle", "voc")
        if format_path(gt, fmt, collection, partition, stem if per_image else "").exists():
            found.append(fmt)
    return found


def validate_archive(
    archive: Archive, binarise: bool = False, min_polygon_iou: float = 0.98
) -> ValidationReport:
    """Check images, masks and every annotation format present; never raises on bad files."""
    report = ValidationReport(problems=list(archive.problems))
    masks: dict[str, dict] = {}  # RLE of each readable mask
    for rec in progress(archive.records, total=len(archive.records), desc="validate: images"):
        report.images_checked += 1
        try:
            image = read_image(rec.image)
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        if rec.mask is None:
            continue
        try:
            mask = read_mask(rec.mask, binarise=binarise)
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        reason = size_mismatch(image, mask, str(rec.image), str(rec.mask))
        if reason:
            report.problems.append(reason)
            continue
        masks[rec.key] = encode_mask(mask)  # compact: a full archive's masks stay small
    if archive.version != "v2":
        return report
    for collection in archive.collections():
        for partition in LABELLED_PARTITIONS:
            records = archive.select([collection], [partition])
            if not records:
                continue
            formats = _present_formats(archive, collection, partition, records[0].stem)
            for fmt in formats:
                _check_format(archive, collection, partition, fmt, masks, report, min_polygon_iou)
    return report


def _check_format(
    archive: Archive,
    collection: str,
    partition: str,
    fmt: str,
    masks: dict[str, dict],
    report: ValidationReport,
    min_polygon_iou: float,
) -> None:
    try:
        anns = read_partition(archive, collection, partition, fmt)
    except DataError as exc:
        report.problems.append(f"[{fmt}] {exc}")
        return
    for rec in archive.select([collection], [partition]):
        if rec.key not in masks:
            continue
        ann = anns.get(rec.stem)
        where = _where(archive, collection, partition, fmt, rec.stem)
        if ann is None:
            report.problems.append(f"[{fmt}] {where}: no annotation for {rec.name}")
            continue
        why = compare_annotation(
            decode_rle(masks[rec.key]), ann, fmt in ("rle", "coco-standard"), min_polygon_iou
        )
        if why:
            report.problems.append(f"[{fmt}] {where}: {rec.name}: {why}")
        report.formats_checked[fmt] = report.formats_checked.get(fmt, 0) + 1


def _where(archive: Archive, collection: str, partition: str, fmt: str, stem: str) -> Path:
    gt = archive.gt_dir(collection, partition, "masks").parent
    return format_path(gt, fmt, collection, partition, stem if fmt in ("rle", "voc") else "")
