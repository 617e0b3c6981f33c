"""Every selected image/mask pair is checked once, before training or measuring (issue 11)."""

import numpy as np
import pytest
from PIL import Image

from fncssl.cli import main
from fncssl.data.check import pair_problems
from fncssl.data.datasets import DecodedImageCache
from fncssl.data.layout import open_archive
from fncssl.errors import DataError


def break_archive(root):
    """red: one truncated test image, one wrong-size trainval mask, one missing trainval mask."""
    archive = open_archive(root)
    trainval = archive.select(["red"], ["trainval"])
    (test,) = archive.select(["red"], ["test"])
    data = test.image.read_bytes()
    test.image.write_bytes(data[: len(data) // 2])
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(trainval[0].mask)
    trainval[1].mask.unlink()
    return test, trainval[0], trainval[1]


def make_nonbinary(root):
    rec = open_archive(root).select(["red"], ["trainval"])[0]
    mask = np.asarray(Image.open(rec.mask))
    Image.fromarray(np.where(mask > 0, 200, 0).astype(np.uint8)).save(rec.mask)
    return rec


def test_pair_problems_lists_every_problem(synth_copy):
    test, resized, unmasked = break_archive(synth_copy)
    records = open_archive(synth_copy).select(["red"], ["trainval", "test"])
    headers_only = pair_problems(records)
    assert len(headers_only) == 2  # the truncated image has a readable header
    assert any(str(resized.mask) in p and "30x40" in p for p in headers_only)
    assert any(unmasked.stem in p and "without a mask" in p for p in headers_only)
    cache = DecodedImageCache()
    decoded = pair_problems(records, cache=cache)
    assert len(decoded) == 3 and any(str(test.image) in p for p in decoded)
    assert cache.misses == 2  # the one good pair (image + mask) is now cached


def test_finetune_reports_all_problems_before_writing_anything(synth_copy, tmp_path, capsys):
    break_archive(synth_copy)
    runs = tmp_path / "runs"
    args = ["finetune", "configs/smoke/finetune.yaml", f"data.root={synth_copy}", f"run.dir={runs}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err and "Traceback" not in err
    assert not runs.exists()  # a fixed archive reruns under the same name


def test_binarise_flag_and_key_where_the_message_points(synth_copy, tmp_path, capsys):
    rec = make_nonbinary(synth_copy)
    out = tmp_path / "stats"
    assert main(["stats", str(synth_copy), "--out", str(out)]) == 2
    assert "--binarise" in capsys.readouterr().err
    assert main(["stats", str(synth_copy), "--out", str(out), "--binarise"]) == 0
    from fncssl.config import load_config
    from fncssl.finetune.config import FinetuneConfig
    from fncssl.finetune.run import prepare_split

    base = ["data.collections=[red]", f"data.root={synth_copy}", "data.crop_size=128"]
    with pytest.raises(DataError, match="binarise"):
        prepare_split(load_config(FinetuneConfig, None, base))
    _, split = prepare_split(load_config(FinetuneConfig, None, [*base, "data.binarise=true"]))
    assert rec.key in {r.key for r in split.train + split.val}


def test_stats_refuses_wrong_size_and_missing_masks(synth_copy, tmp_path, capsys):
    _, resized, unmasked = break_archive(synth_copy)
    assert main(["stats", str(synth_copy), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert str(resized.mask) in err and unmasked.stem in err
