import json

import numpy as np
import pytest

from fncssl.data.imageio import read_mask
from fncssl.data.layout import open_archive
from fncssl.errors import DataError
from fncssl.evaluation.evaluate import evaluate_records
from fncssl.evaluation.postprocess import PostprocessConfig


def test_oracle_predictor_scores_perfectly_and_writes_outputs(synth_root, tmp_path):
    records = open_archive(synth_root).select(["red", "yellow"], ["trainval", "test"])
    truth = {r.image.name: read_mask(r.mask) for r in records}
    calls = []

    def oracle(image):
        calls.append(image.shape)
        return truth[records[len(calls) - 1].image.name].astype(np.float32)

    post = PostprocessConfig(min_size=0, fill_holes=0, watershed=False)
    results = evaluate_records(oracle, records, tmp_path, post)
    for protocol in ("paper", "strict"):
        r = results[protocol]
        n_true = sum(im["true_count"] for im in r["images"])
        assert r["segmentation"]["tp"] == n_true and r["segmentation"]["fp"] == 0
        assert r["counting"]["mae"] == 0 and r["pixel"]["dice"] == 1.0
        if n_true:
            assert r["coco"]["segm"]["ap"] == pytest.approx(1.0)
        saved = json.loads((tmp_path / f"metrics_{protocol}.json").read_text())
        assert saved["segmentation"] == r["segmentation"]
    assert "seg F1" in (tmp_path / "table2.md").read_text()
    assert len(list((tmp_path / "overlays").iterdir())) == min(5, len(records))


def test_blank_predictor_misses_everything(synth_root, tmp_path):
    records = open_archive(synth_root).select(["red"], ["trainval"])
    r = evaluate_records(lambda im: np.zeros(im.shape[:2]), records, tmp_path)["paper"]
    assert r["segmentation"]["tp"] == 0 and r["counting"]["mpe"] <= 0
    assert r["segmentation"]["fn"] == sum(im["true_count"] for im in r["images"])


def test_bad_predictions_are_rejected(synth_root, tmp_path):
    records = open_archive(synth_root).select(["red"], ["trainval"])
    with pytest.raises(DataError, match="differs from image size"):
        evaluate_records(lambda im: np.zeros((5, 5)), records, tmp_path)
    with pytest.raises(DataError, match="nothing to evaluate"):
        evaluate_records(lambda im: im, [], tmp_path)
