import itertools

import pytest

from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.finetune.splits import label_subset, make_split


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    from fncssl.data.synth import write_synthetic_archive

    root = write_synthetic_archive(
        tmp_path_factory.mktemp("s") / "a", ["yellow", "red"], 24, 0, (160, 128), seed=3, workers=2
    )
    archive = open_archive(root)
    return archive.select(None, ["trainval"]), archive.select(None, ["test"])


def test_label_subsets_are_nested_and_stratified(pool):
    trainval, _ = pool
    subsets = [{r.key for r in label_subset(trainval, f, seed=1)} for f in (0.1, 0.25, 0.5, 1.0)]
    for small, big in itertools.pairwise(subsets):
        assert small < big
    assert subsets[-1] == {r.key for r in trainval}
    ten = label_subset(trainval, 0.1, seed=1)
    assert {r.collection for r in ten} == {"yellow", "red"}  # every stratum represented
    assert {r.key for r in label_subset(trainval, 0.25, seed=2)} != subsets[1]


def test_split_is_disjoint_and_never_uses_test(pool):
    trainval, test = pool
    s = make_split(trainval, test, 0.2, 0.5, seed=0)
    train, val, tst = ({r.key for r in x} for x in (s.train, s.val, s.test))
    assert not (train & val) and not (train & tst) and not (val & tst)
    assert {r.key for r in s.pool} | val == {r.key for r in trainval}
    again = make_split(trainval, test, 0.2, 0.5, seed=0)
    assert [r.key for r in again.train] == [r.key for r in s.train]


def test_bad_inputs(pool):
    trainval, test = pool
    with pytest.raises(FNCError, match="test image"):
        make_split(trainval, test + trainval[:1], 0.2, 1.0, seed=0)
    with pytest.raises(FNCError, match=r"\(0, 1\]"):
        make_split(trainval, test, 0.2, 0.0, seed=0)
    with pytest.raises(FNCError, match="at least 2"):
        make_split(trainval[:1], test, 0.2, 1.0, seed=0)
