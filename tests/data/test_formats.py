import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from fncssl.data.formats import FORMATS, convert_archive, format_path, read_partition
from fncssl.data.layout import open_archive
from fncssl.data.objects import iou_matrix, label_objects, label_overlap, polygons_to_labels

POLYGON_FORMATS = ("coco", "voc", "via")


@pytest.fixture
def converted(sample_archive):
    archive = open_archive(sample_archive)
    convert_archive(archive, [f for f in FORMATS if f != "masks"])
    return archive


def test_real_samples_exact_formats_round_trip(converted):
    for collection in converted.collections():
        truth = read_partition(converted, collection, "trainval", "masks")
        for fmt in ("rle", "coco-standard"):
            got = read_partition(converted, collection, "trainval", fmt)
            for stem, ann in truth.items():
                assert np.array_equal(got[stem].binary_mask(), ann.mask), (fmt, stem)


def test_real_samples_polygon_formats_keep_every_object(converted):
    for collection in converted.collections():
        truth = read_partition(converted, collection, "trainval", "masks")
        for fmt in POLYGON_FORMATS:
            got = read_partition(converted, collection, "trainval", fmt)
            for stem, ann in truth.items():
                labels, n = label_objects(ann.mask)
                polys = got[stem].polygons
                assert len(polys) == n, (fmt, stem)
                ious = iou_matrix(label_overlap(labels, polygons_to_labels(polys, ann.shape)))
                assert ious.max(axis=0).min() >= 0.98, (fmt, stem)


def test_standard_coco_loads_in_pycocotools(converted):
    path = format_path(
        converted.gt_dir("red", "trainval", "masks").parent, "coco-standard", "red", "trainval"
    )
    coco = COCO(str(path))
    truth = read_partition(converted, "red", "trainval", "masks")
    for img in coco.dataset["images"]:
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        union = np.zeros((img["height"], img["width"]), bool)
        for a in anns:
            union |= coco.annToMask(a).astype(bool)
        stem = img["file_name"].rsplit(".", 1)[0]
        assert np.array_equal(union, truth[stem].mask)
        assert len(anns) == label_objects(truth[stem].mask)[1]


def test_fnc_coco_variant_has_one_entry_per_image(converted):
    path = format_path(
        converted.gt_dir("yellow", "trainval", "masks").parent, "coco", "yellow", "trainval"
    )
    data = json.loads(path.read_text())
    truth = read_partition(converted, "yellow", "trainval", "masks")
    assert {a["image_id"] for a in data["annotations"]} == set(truth)
    for a in data["annotations"]:
        n = label_objects(truth[a["image_id"]].mask)[1]
        assert a["count"] == n == len(a["segmentation"]) == len(a["bbox"]) == len(a["dots"])
        assert a["category_id"] == 2


def test_holes_and_diagonal_touching_survive_exact_formats(tmp_path):
    from fncssl.data.imageio import write_image, write_mask

    mask = np.zeros((40, 40), bool)
    mask[5:20, 5:20] = True
    mask[10:14, 10:14] = False  # a hole
    mask[25, 25] = mask[26, 26] = True  # diagonal neighbours: one 8-connected object
    root = tmp_path / "a" / "green" / "test"
    write_image(root / "images" / "x.png", np.zeros((40, 40, 3), np.uint8))
    write_mask(root / "ground_truths" / "masks" / "x.png", mask)
    archive = open_archive(tmp_path / "a")
    convert_archive(archive, ["rle", "coco-standard", "voc"])
    for fmt in ("rle", "coco-standard"):
        assert np.array_equal(
            read_partition(archive, "green", "test", fmt)["x"].binary_mask(), mask
        )
    assert len(read_partition(archive, "green", "test", "voc")["x"].polygons) == 2


def test_convert_to_other_root_and_back(sample_archive, tmp_path):
    archive = open_archive(sample_archive)
    out = tmp_path / "out"
    convert_archive(archive, ["rle"], out_root=out)
    assert sorted(p.name for p in (out / "red" / "trainval" / "ground_truths" / "rle").iterdir())
    # RLE -> masks in a third place reproduces the masks exactly
    rle_archive = open_archive(sample_archive)
    convert_archive(rle_archive, ["rle"])
    back = tmp_path / "back"
    convert_archive(rle_archive, ["masks"], from_format="rle", out_root=back)
    for p in (sample_archive / "red" / "trainval" / "ground_truths" / "masks").iterdir():
        q = back / "red" / "trainval" / "ground_truths" / "masks" / p.name
        from fncssl.data.imageio import read_mask

        assert np.array_equal(read_mask(p), read_mask(q))
