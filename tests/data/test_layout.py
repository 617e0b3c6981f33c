import shutil

import pytest

from fncssl.data.layout import open_archive
from fncssl.data.metadata import parse_original_name, read_metadata_txt
from fncssl.errors import DataError


def test_v2_discovery_counts(synth_root):
    archive = open_archive(synth_root)
    assert archive.version == "v2" and not archive.problems
    for c in ("green", "yellow", "red"):
        labelled = archive.select([c], ["trainval", "test"])
        assert len(labelled) == 4 and all(r.mask and r.metadata for r in labelled)
        assert len(archive.select([c], ["test"])) == 1
        assert len(archive.select([c], ["unlabelled"])) == 5
        assert all(r.mask is None for r in archive.select([c], ["unlabelled"]))


def test_unknown_names_and_empty_archives(synth_root, tmp_path):
    archive = open_archive(synth_root)
    with pytest.raises(DataError, match="blue"):
        archive.select(["blue"])
    with pytest.raises(DataError, match="validation"):
        archive.select(None, ["validation"])
    with pytest.raises(DataError, match="no images"):
        open_archive(tmp_path)
    with pytest.raises(DataError, match="not found"):
        open_archive(tmp_path / "missing")


def test_missing_mask_and_orphan_mask_are_reported(synth_copy):
    part = synth_copy / "red" / "trainval"
    mask = next((part / "ground_truths" / "masks").iterdir())
    mask.unlink()
    (part / "ground_truths" / "masks" / "orphan.png").write_bytes(b"")
    (synth_copy / "purple").mkdir()
    problems = open_archive(synth_copy).problems
    assert any("missing mask" in p and mask.stem in p for p in problems)
    assert any("orphan.png" in p for p in problems)
    assert any("purple" in p for p in problems)


def test_v1_flat_layout(synth_root, tmp_path):
    src = synth_root / "yellow" / "trainval"
    shutil.copytree(src / "images", tmp_path / "all_images" / "images")
    shutil.copytree(src / "ground_truths" / "masks", tmp_path / "all_masks" / "masks")
    archive = open_archive(tmp_path)
    assert archive.version == "v1"
    assert {r.partition for r in archive.records} == {"all"}
    assert all(r.mask is not None and r.collection == "yellow" for r in archive.records)


def test_original_names_of_real_files():
    a = parse_original_name("MAR31S1C1R2_DMHr_200x_r")
    assert (a.animal, a.sample, a.column, a.row, a.brain_area, a.zoom, a.collection) == (
        "MAR31",
        1,
        1,
        2,
        "DMHr",
        "200x",
        "red",
    )
    b = parse_original_name("RT353S2C1R5_r1")
    assert (b.animal, b.sample, b.brain_area, b.collection) == ("RT353", 2, None, "red")
    c = parse_original_name("Mar19bS1C4R2_LHr_200x")
    assert (c.animal, c.column, c.row, c.collection) == ("Mar19b", 4, 2, None)
    assert parse_original_name("holiday_photo") is None


def test_metadata_txt(synth_root, tmp_path):
    rec = open_archive(synth_root).select(["green"], ["trainval"])[0]
    meta = read_metadata_txt(rec.metadata)
    assert meta["ImageWidth"] == "480" and meta["ImageLength"] == "360"
    bad = tmp_path / "bad.txt"
    bad.write_text("# header\nno tab here\n")
    with pytest.raises(DataError, match="bad.txt"):
        read_metadata_txt(bad)
