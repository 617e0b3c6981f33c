import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from fncssl.cli import main
from fncssl.data.imageio import read_mask, write_mask
from fncssl.errors import DataError
from fncssl.evaluation.scoring import pair_folders, score_folders


@pytest.fixture
def folders(samples_dir, tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    for p in sorted(samples_dir.glob("yellow/masks/*.png")):
        m = read_mask(p)
        write_mask(gt / p.name, m)
        write_mask(pred / p.name, ndi.binary_dilation(m, iterations=2))
    return gt, pred


def test_score_cli_writes_design_json_and_csv(folders, tmp_path, capsys):
    gt, pred = folders
    out = tmp_path / "s.json"
    assert main(["score", "--gt", str(gt), "--pred", str(pred), "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert set(r) >= {
        "protocol",
        "iou_threshold",
        "distance_threshold",
        "segmentation",
        "detection",
        "counting",
        "pixel",
        "images",
    }
    assert r["detection"]["f1"] == 1.0 and r["counting"]["mae"] == 0.0
    assert 0.5 < r["pixel"]["dice"] < 1.0
    assert len(out.with_suffix(".csv").read_text().splitlines()) == 1 + len(r["images"])
    assert "seg F1" in capsys.readouterr().out


def test_instance_label_predictions(folders, tmp_path):
    gt, _ = folders
    pred = tmp_path / "inst"
    pred.mkdir()
    for p in gt.iterdir():
        labels, _ = ndi.label(read_mask(p), structure=np.ones((3, 3)))
        Image.fromarray(labels.astype(np.uint16)).save(pred / p.name)
    r = score_folders(gt, pred)
    assert r["segmentation"]["f1"] == 1.0


def test_bad_folders(folders, tmp_path, capsys):
    gt, pred = folders
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no mask images"):
        pair_folders(gt, tmp_path / "empty")
    extra = pred / "extra_image.png"
    write_mask(extra, np.zeros((4, 4), bool))
    with pytest.raises(DataError, match="extra_image"):
        pair_folders(gt, pred)
    extra.unlink()
    first = sorted(pred.iterdir())[0]
    write_mask(first, np.zeros((10, 10), bool))
    assert (
        main(["score", "--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "x.json")])
        == 2
    )
    err = capsys.readouterr().err
    assert "differ in size" in err and first.stem in err
    assert not (tmp_path / "x.json").exists()


def test_score_thresholds_out_of_range_are_refused():
    """An IoU threshold of 1 or more matches nothing and a non-positive distance matches
    nothing: both are refused with the option's name instead of scoring F1 = 0."""
    from fncssl.errors import ConfigError
    from fncssl.evaluation.scoring import ScoreConfig

    for kwargs, name in (
        ({"iou_threshold": 1.5}, "--iou-threshold"),
        ({"iou_threshold": -0.1}, "--iou-threshold"),
        ({"distance_threshold": -1.0}, "--distance-threshold"),
        ({"distance_threshold": 0.0}, "--distance-threshold"),
    ):
        with pytest.raises(ConfigError, match=name):
            ScoreConfig(**kwargs)
    ScoreConfig(iou_threshold=0.0, distance_threshold=0.5)  # the edges that still mean something
