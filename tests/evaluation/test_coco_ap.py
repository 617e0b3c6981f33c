import numpy as np
import pytest

from fncssl.evaluation.coco_ap import coco_ap, instance_scores


def square(shape, y, x, s, value=1, out=None):
    a = np.zeros(shape, np.int32) if out is None else out
    a[y : y + s, x : x + s] = value
    return a


def test_perfect_prediction_scores_one():
    t = square((64, 64), 10, 10, 20)
    r = coco_ap([t], [(t.copy(), np.array([0.9]))])
    assert r["segm"]["ap"] == pytest.approx(1.0) and r["bbox"]["ap50"] == pytest.approx(1.0)


def test_higher_scored_false_positive_halves_ap():
    t = square((64, 64), 10, 10, 20)
    p = square((64, 64), 40, 40, 20, value=2, out=t.copy())  # label 1 = match, 2 = FP
    r = coco_ap([t], [(p, np.array([0.5, 0.9]))])
    # precision at recall 1 is 1/2 after the FP ranked first -> AP = 0.5 at every IoU
    assert r["segm"]["ap50"] == pytest.approx(0.5) and r["segm"]["ap"] == pytest.approx(0.5)
    r2 = coco_ap([t], [(p, np.array([0.9, 0.5]))])
    assert r2["segm"]["ap"] == pytest.approx(1.0)


def test_no_predictions_is_zero():
    t = square((32, 32), 4, 4, 8)
    assert coco_ap([t], [(np.zeros_like(t), np.array([]))])["segm"]["ap"] == 0.0


def test_instance_scores_are_mean_probability():
    labels = np.array([[1, 1, 0], [2, 2, 2]])
    prob = np.array([[0.2, 0.4, 0.9], [1.0, 0.5, 0.0]])
    assert np.allclose(instance_scores(labels, prob), [0.3, 0.5])
