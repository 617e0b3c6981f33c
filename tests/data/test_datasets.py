import dataclasses

import numpy as np
import pytest

from fncssl.data.datasets import DecodedImageCache, LabelledCrops, UnlabelledCrops
from fncssl.data.imageio import read_image, read_mask, write_mask
from fncssl.data.layout import open_archive
from fncssl.errors import DataError


@pytest.fixture
def records(synth_root):
    return open_archive(synth_root).select(None, ["trainval"])


def test_crops_are_slices_of_the_source(records):
    ds = LabelledCrops(records, crop_size=128, samples_per_epoch=6, seed=0)
    by_key = {r.key: r for r in records}
    for i in range(len(ds)):
        item = ds[i]
        rec = by_key[item["key"]]
        y, x = item["origin"]
        img, mask = read_image(rec.image), read_mask(rec.mask)
        assert item["image"].dtype.is_floating_point is False and item["image"].shape == (
            3,
            128,
            128,
        )
        assert np.array_equal(
            item["image"].numpy().transpose(1, 2, 0), img[y : y + 128, x : x + 128]
        )
        assert np.array_equal(item["mask"][0].numpy().astype(bool), mask[y : y + 128, x : x + 128])
        assert set(np.unique(item["mask"].numpy())) <= {0, 1}


def test_reproducible_per_epoch(records):
    a = LabelledCrops(records, 96, 4, seed=3)
    b = LabelledCrops(records, 96, 4, seed=3)
    assert [a[i]["origin"] for i in range(4)] == [b[i]["origin"] for i in range(4)]
    b.set_epoch(1)
    assert [a[i]["origin"] for i in range(4)] != [b[i]["origin"] for i in range(4)]


def test_foreground_bias_raises_foreground_share(records):
    def share(bias):
        ds = LabelledCrops(records, 64, 200, foreground_bias=bias, seed=0)
        return np.mean([ds[i]["mask"].any().item() for i in range(len(ds))])

    assert share(1.0) > share(0.0) + 0.2


def test_cache_decodes_each_image_once(records):
    cache = DecodedImageCache()
    ds = LabelledCrops(records[:1], 64, 10, seed=0, cache=cache)
    for i in range(10):
        ds[i]
    assert cache.misses == 2 and cache.hits == 18  # one image + one mask decode


def test_cache_respects_its_byte_budget():
    cache = DecodedImageCache(max_bytes=250)
    for k in range(5):
        cache.get(str(k), lambda: np.zeros(100, np.uint8))
    assert len(cache._items) == 2


def test_unlabelled_crops_and_bad_sizes(synth_root):
    unl = open_archive(synth_root).select(None, ["unlabelled"])
    ds = UnlabelledCrops(unl, 100, 3)
    assert ds[0]["image"].shape == (3, 100, 100)
    with pytest.raises(DataError, match="larger than image"):
        UnlabelledCrops(unl, 4000, 1)[0]
    with pytest.raises(DataError, match="empty"):
        LabelledCrops([], 64, 1)
    with pytest.raises(DataError, match="masks"):
        LabelledCrops(unl, 64, 1)


def test_a_mask_of_another_size_names_both_files(records, tmp_path):
    rec = records[0]
    small = tmp_path / "small.png"
    write_mask(small, read_mask(rec.mask)[:-8])
    odd = [dataclasses.replace(rec, mask=small)]
    with pytest.raises(DataError, match="differ in size") as err:
        LabelledCrops(odd, crop_size=64, samples_per_epoch=1, seed=0)[0]
    assert str(rec.image) in str(err.value) and str(small) in str(err.value)
