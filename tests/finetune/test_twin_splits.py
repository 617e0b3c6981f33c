"""Green/yellow twins never straddle a split; ``data.label_count`` subsets are nested."""

import itertools

import pytest

from fncssl.config import load_config
from fncssl.data.layout import open_archive
from fncssl.errors import ConfigError, FNCError
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.splits import label_subset, make_split
from fncssl.finetune.twins import twin_groups, twin_key, twins_of


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from fncssl.data.synth import write_synthetic_archive

    root = write_synthetic_archive(
        tmp_path_factory.mktemp("tw") / "a", ["green", "yellow", "red"], 14, 0, (128, 96), 5, 2
    )
    return open_archive(root)


def pairs(records):
    groups = [g for g in twin_groups(records).values() if len(g) > 1]
    return [{r.key for r in g} for g in groups]


def test_twins_are_found_by_name(archive):
    lab = archive.select(None, ["trainval", "test"])
    found = pairs(lab)
    assert len(found) == 14  # green i and yellow i, every labelled index
    for keys in found:
        assert {k.split("/")[0] for k in keys} == {"green", "yellow"}
        assert len({k.rsplit("_", 1)[0].split("/")[-1] for k in keys}) == 1
    assert all(twin_key(r) is None for r in archive.select(["red"]))


@pytest.mark.parametrize("collections", [["green", "yellow"], ["green", "yellow", "red"]])
def test_twin_green_yellow_images_never_straddle_a_split(archive, collections):
    trainval = archive.select(collections, ["trainval"])
    test = archive.select(collections, ["test"])
    twins = pairs(trainval + test)
    assert twins
    part = {r.key: r.partition for r in trainval + test}
    for keys in twins:  # the archive keeps twins in one partition
        assert len({part[k] for k in keys}) == 1
    straddles = 0
    for seed, (fraction, count) in itertools.product(
        range(6), [(0.25, 0), (0.5, 0), (1.0, 0), (1.0, 3), (1.0, 7)]
    ):
        s = make_split(trainval, test, 0.3, fraction, seed, label_count=count)
        sides = {
            "train": {r.key for r in s.train},
            "pool": {r.key for r in s.pool},
            "val": {r.key for r in s.val},
            "test": {r.key for r in s.test},
        }
        for keys in twins:
            # every side holds the whole pair or none of it
            for name, side in sides.items():
                assert len(keys & side) in (0, len(keys)), (seed, name, keys)
        straddles += sum(1 for keys in twins if keys <= sides["val"])
    assert straddles > 0  # pairs really do land in validation (together)


def test_cross_collection_twins_of_training_images_are_found(archive):
    green = archive.select(["green"], ["trainval"])
    yellow_test = archive.select(["yellow"], ["test"])
    yellow_tv = archive.select(["yellow"], ["trainval"])
    assert not twins_of(green, yellow_test)  # twins share a partition
    assert twins_of(green, yellow_tv) == {r.key for r in yellow_tv}


def test_label_count_subsets_are_nested_and_exact(archive):
    pool = archive.select(["red", "yellow"], ["trainval"])
    subsets = [{r.key for r in label_subset(pool, 1.0, 3, count=n)} for n in (2, 4, 8, 12)]
    assert [len(s) for s in subsets] == [2, 4, 8, 12]
    for small, big in itertools.pairwise(subsets):
        assert small < big
    assert {k.split("/")[0] for k in subsets[1]} == {"red", "yellow"}  # proportional
    with pytest.raises(FNCError, match="more than the"):
        label_subset(pool, 1.0, 3, count=len(pool) + 1)
    with pytest.raises(FNCError, match="not both"):
        label_subset(pool, 0.5, 3, count=2)


def test_label_count_config_key(tmp_path):
    cfg = load_config(FinetuneConfig, None, ["data.label_count=10"])
    assert cfg.data.label_count == 10
    with pytest.raises(ConfigError, match="exclude each other"):
        load_config(FinetuneConfig, None, ["data.label_count=10", "data.label_fraction=0.5"])
    with pytest.raises(ConfigError, match="label_count"):
        load_config(FinetuneConfig, None, ["data.label_count=-1"])
