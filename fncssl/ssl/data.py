"""Images for pretraining: unlabelled (and optionally trainval) images, never test images.

Test images are excluded by construction (only the unlabelled and trainval partitions are
selected); images listed by hand in ``ssl.extra_images`` are checked against the archive's
test partition by path and by file stem, and any match is an error.
"""

from __future__ import annotations

from pathlib import Path

from fncssl.data.layout import Archive, ImageRecord
from fncssl.errors import FNCError


def pretraining_records(
    archive: Archive,
    collections: list[str],
    include_trainval: bool = False,
    extra_images: list[str] | None = None,
) -> list[ImageRecord]:
    partitions = ["unlabelled", "trainval"] if include_trainval else ["unlabelled"]
    records = archive.select(collections, partitions)
    missing = [c for c in collections if not archive.select([c], partitions)]
    if missing and not extra_images:
        raise FNCError(
            f"data.collections: {', '.join(missing)} has no {' or '.join(partitions)} images "
            f"in {archive.root}; pretraining would silently use the other collections only"
        )
    test = archive.select(None, ["test"])
    test_paths = {r.image.resolve() for r in test}
    test_stems = {r.stem for r in test}
    for item in extra_images or []:
        p = Path(item)
        if not p.is_file():
            raise FNCError(f"ssl.extra_images: not found: {p}")
        if p.resolve() in test_paths or p.stem in test_stems:
            raise FNCError(
                f"ssl.extra_images: {p} is a test image; test images are never used for pretraining"
            )
        records.append(ImageRecord("extra", "extra", p.stem, p))
    assert_no_test(records, test)
    if not records:
        raise FNCError(
            f"no unlabelled images found for collections {collections} in {archive.root}"
        )
    return records


def assert_no_test(
    records: list[ImageRecord], test: list[ImageRecord], what: str = "pretraining images"
) -> None:
    """Raise if any record is (by path or stem) one of the test images."""
    test_paths = {r.image.resolve() for r in test}
    test_stems = {r.stem for r in test}
    bad = [r.image for r in records if r.image.resolve() in test_paths or r.stem in test_stems]
    if bad:
        raise FNCError(f"test image(s) among the {what}: {bad[:3]}")
