"""Discovering the images of an FNC archive (v2 per-collection layout, or the flat v1 layout).

v2: ``<root>/<collection>/{trainval,test}/{images,metadata,ground_truths/...}`` and
``<root>/<collection>/unlabelled/{images,metadata}``. v1 (yellow only, no split):
``<root>/all_images/images`` with masks in ``<root>/all_masks/masks``; its partition is "all".

Indexing lists directories only (no image is opened), so a full archive indexes in well under
a second. Images are paired with masks and metadata by file stem.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fncssl.config import COLLECTIONS
from fncssl.errors import DataError

LABELLED_PARTITIONS = ("trainval", "test")
PARTITIONS = (*LABELLED_PARTITIONS, "unlabelled")
V1_PARTITION = "all"
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")

# Folders this project may have written at an archive root (older ``stats`` defaults, runs):
# indexing ignores them rather than reporting an unknown collection.
OWN_OUTPUT_DIRS = ("stats", "runs", "predictions", "converted")

GT_DIRS = {
    "masks": "masks",
    "rle": "rle",
    "voc": "Pascal_VOC",
    "coco": "COCO",
    "coco-standard": "COCO",
    "via": "VIA",
}


@dataclass(frozen=True)
class ImageRecord:
    """One image of the archive and where its companions live (``None`` when absent)."""

    collection: str
    partition: str
    stem: str
    image: Path
    mask: Path | None = None
    metadata: Path | None = None

    @property
    def labelled(self) -> bool:
        return self.partition != "unlabelled"

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def key(self) -> str:
        """Unique id across the archive: ``collection/partition/stem``."""
        return f"{self.collection}/{self.partition}/{self.stem}"


@dataclass
class Archive:
    """The indexed archive: every image record, plus problems found while pairing files."""

    root: Path
    version: str
    records: list[ImageRecord]
    problems: list[str] = field(default_factory=list)

    def select(
        self,
        collections: Iterable[str] | None = None,
        partitions: Iterable[str] | None = None,
    ) -> list[ImageRecord]:
        """Records of the given collections and partitions (all when ``None``), in order."""
        cols = _check_names(collections, COLLECTIONS, "collection")
        parts = _check_names(partitions, (*PARTITIONS, V1_PARTITION), "partition")
        return [
            r
            for r in self.records
            if (cols is None or r.collection in cols) and (parts is None or r.partition in parts)
        ]

    def collections(self) -> list[str]:
        present = {r.collection for r in self.records}
        return [c for c in COLLECTIONS if c in present]

    def partition_dir(self, collection: str, partition: str) -> Path:
        if self.version == "v1":
            return self.root
        return self.root / collection / partition

    def gt_dir(self, collection: str, partition: str, fmt: str) -> Path:
        """Folder of annotation format ``fmt`` for one collection and partition."""
        if self.version == "v1":
            if fmt != "masks":
                raise DataError(f"{self.root}: the v1 layout holds masks only, not {fmt}")
            return self.root / "all_masks" / "masks"
        return self.partition_dir(collection, partition) / "ground_truths" / GT_DIRS[fmt]


def _check_names(names: Iterable[str] | None, valid: tuple[str, ...], what: str) -> set[str] | None:
    if names is None:
        return None
    chosen = set(names)
    unknown = sorted(chosen - set(valid))
    if unknown:
        raise DataError(f"unknown {what} name(s) {unknown}; valid: {list(valid)}")
    return chosen


def _stems(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Map stem -> path for files in ``folder`` with one of ``suffixes`` (empty if missing)."""
    out: dict[str, Path] = {}
    try:
        with os.scandir(folder) as it:
            for entry in it:
                stem, dot, ext = entry.name.rpartition(".")
                if dot and ("." + ext.lower()) in suffixes and not entry.name.startswith("."):
                    out[stem] = Path(entry.path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return out


def _index_partition(
    collection: str, partition: str, part_dir: Path, mask_dir: Path | None, problems: list[str]
) -> list[ImageRecord]:
    images = _stems(part_dir / "images", IMAGE_SUFFIXES)
    metadata = _stems(part_dir / "metadata", (".txt",))
    masks = _stems(mask_dir, (".png",)) if mask_dir is not None else {}
    if mask_dir is not None:
        for stem in sorted(set(masks) - set(images)):
            problems.append(f"mask without image: {masks[stem]}")
    records = []
    for stem in sorted(images):
        mask = masks.get(stem)
        if mask_dir is not None and mask is None:
            problems.append(
                f"missing mask for {images[stem]} (expected {mask_dir / (stem + '.png')})"
            )
        records.append(
            ImageRecord(collection, partition, stem, images[stem], mask, metadata.get(stem))
        )
    return records


def open_archive(root: str | Path) -> Archive:
    """Index the archive at ``root``; raises :class:`DataError` when it holds no images."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"archive root not found or not a folder: {root}")
    problems: list[str] = []
    records: list[ImageRecord] = []
    if (root / "all_images" / "images").is_dir():
        version = "v1"
        records = _index_partition(
            "yellow", V1_PARTITION, root / "all_images", root / "all_masks" / "masks", problems
        )
    else:
        version = "v2"
        for collection in COLLECTIONS:
            cdir = root / collection
            if not cdir.is_dir():
                continue
            for partition in PARTITIONS:
                pdir = cdir / partition
                if not pdir.is_dir():
                    continue
                mask_dir = pdir / "ground_truths" / "masks" if partition != "unlabelled" else None
                records += _index_partition(collection, partition, pdir, mask_dir, problems)
            for extra in sorted(p.name for p in cdir.iterdir() if p.is_dir()):
                if extra not in PARTITIONS:
                    problems.append(f"unknown partition folder ignored: {cdir / extra}")
        for extra in sorted(p.name for p in root.iterdir() if p.is_dir()):
            if extra not in (*COLLECTIONS, *OWN_OUTPUT_DIRS) and not extra.startswith("."):
                problems.append(f"unknown collection folder ignored: {root / extra}")
    if not records:
        raise DataError(
            f"{root}: no images found (expected <collection>/<partition>/images/*.png for FNC v2 "
            "or all_images/images/*.png for v1)"
        )
    return Archive(root=root, version=version, records=records, problems=problems)
