import numpy as np
import pytest
from PIL import Image

from fncssl.data.atomic import atomic_open
from fncssl.data.imageio import (
    check_same_size,
    read_image,
    read_mask,
    write_image,
    write_mask,
)
from fncssl.errors import DataError


def test_mask_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    mask = rng.random((37, 53)) > 0.7
    write_mask(tmp_path / "m.png", mask)
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)
    assert set(np.unique(np.asarray(Image.open(tmp_path / "m.png"))).tolist()) == {0, 255}


def test_image_round_trip_is_exact(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_image(tmp_path / "i.png", img)
    assert np.array_equal(read_image(tmp_path / "i.png"), img)


def test_truncated_png_names_the_file(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    write_image(tmp_path / "i.png", img)
    data = (tmp_path / "i.png").read_bytes()
    (tmp_path / "i.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="i.png"):
        read_image(tmp_path / "i.png")
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="junk.png"):
        read_image(tmp_path / "junk.png")
    with pytest.raises(DataError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_non_binary_mask_lists_values_and_binarise_option(tmp_path):
    arr = np.zeros((10, 10), np.uint8)
    arr[2:5, 2:5] = 255
    arr[7, 7] = 128
    Image.fromarray(arr).save(tmp_path / "m.png")
    with pytest.raises(DataError) as err:
        read_mask(tmp_path / "m.png")
    assert "m.png" in str(err.value) and "128" in str(err.value)
    assert "--binarise" in str(err.value)
    got = read_mask(tmp_path / "m.png", binarise=True)
    assert got.sum() == 10 and got[7, 7]


def test_a_dim_mask_is_not_told_to_binarise_which_would_empty_it(tmp_path):
    """A 0/100 mask would threshold to nothing at 127: the error says to rescale it instead."""
    arr = np.zeros((10, 10), np.uint8)
    arr[2:5, 2:5] = 100
    Image.fromarray(arr).save(tmp_path / "m.png")
    with pytest.raises(DataError) as err:
        read_mask(tmp_path / "m.png")
    assert "m.png" in str(err.value) and "rescale it to 0/255" in str(err.value)
    assert "pass --binarise" not in str(err.value)
    assert not read_mask(tmp_path / "m.png", binarise=True).any()  # why it is not suggested


def test_atomic_writer_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_size_check_names_both_files_width_by_height():
    image, mask = np.zeros((120, 160, 3), np.uint8), np.zeros((120, 150), bool)
    check_same_size(image, np.zeros((120, 160), bool), "a.png", "m.png")  # same size: no error
    with pytest.raises(DataError) as err:
        check_same_size(image, mask, "a.png", "m.png")
    assert str(err.value) == (
        "a.png: image 160x120 and its mask m.png 150x120 (width x height) differ in size"
    )
    with pytest.raises(DataError, match="^image 160x120 and its mask 150x120 "):
        check_same_size(image, mask)
