import os
import pickle

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from fncssl.data.imageio import read_mask
from fncssl.data.rle import (
    decode_rle,
    encode_mask,
    read_rle_pickle,
    safe_unpickle,
    write_rle_pickle,
)
from fncssl.errors import DataError


def test_random_masks_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        mask = rng.random((31 + i, 47)) > 0.5
        write_rle_pickle(tmp_path / f"{i}.pickle", mask)
        assert np.array_equal(read_rle_pickle(tmp_path / f"{i}.pickle"), mask)


def test_written_structure_matches_pycocotools(tmp_path):
    mask = np.zeros((12, 9), bool)
    mask[3:6, 2:8] = True
    write_rle_pickle(tmp_path / "m.pickle", mask)
    with open(tmp_path / "m.pickle", "rb") as fh:
        stored = pickle.load(fh)  # our own file, known to be plain data
    ref = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert stored == {"size": [12, 9], "counts": ref["counts"]}
    assert isinstance(stored["counts"], bytes)


def test_real_sample_rle_round_trip_exact(samples_dir, tmp_path):
    for path in sorted(samples_dir.glob("*/masks/*.png")):
        mask = read_mask(path)
        write_rle_pickle(tmp_path / "x.pickle", mask)
        assert np.array_equal(read_rle_pickle(tmp_path / "x.pickle"), mask), path.name
        assert np.array_equal(decode_rle(encode_mask(mask)), mask)


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"size": [2, 2], "counts": _Exploit(str(marker))})
    # sanity: the payload really would run code under plain pickle.loads
    (tmp_path / "evil.pickle").write_bytes(payload)
    with pytest.raises(DataError, match=r"evil\.pickle.*(refused|unsafe)"):
        read_rle_pickle(tmp_path / "evil.pickle")
    assert not marker.exists()
    pickle.loads(payload)
    assert marker.exists()


def test_pickle_of_other_classes_and_corrupt_data():
    with pytest.raises(DataError, match="refused"):
        safe_unpickle(pickle.dumps(np.zeros(3)))
    with pytest.raises(DataError, match="corrupt"):
        safe_unpickle(b"\x80\x04\x95garbage")
    # protocol 2 (bytes via _codecs.encode) is plain data and must load
    data = pickle.dumps({"size": [1, 1], "counts": b"01"}, protocol=2)
    assert safe_unpickle(data) == {"size": [1, 1], "counts": b"01"}


def test_wrong_structure_is_a_clear_error(tmp_path):
    (tmp_path / "w.pickle").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DataError, match=r"w\.pickle.*size"):
        read_rle_pickle(tmp_path / "w.pickle")
