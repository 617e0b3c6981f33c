import cv2
import numpy as np

from fncssl.evaluation.postprocess import PostprocessConfig, binarise, probability_to_instances


def discs(*centres_radii, shape=(120, 220)):
    u = np.zeros(shape, np.uint8)
    for (x, y), r in centres_radii:
        cv2.circle(u, (x, y), r, 1, -1)
    return u.astype(np.float32)


def test_threshold_is_strict_greater():
    prob = np.full((30, 30), 0.5, np.float32)
    assert not binarise(prob, PostprocessConfig(min_size=0)).any()
    assert binarise(prob + 0.01, PostprocessConfig(min_size=0)).all()


def test_hole_filling_limit():
    prob = np.ones((40, 40), np.float32)
    prob[5:10, 5:15] = 0  # 50 px hole: filled
    prob[20:31, 20:25] = 0  # 55 px hole: kept
    mask = binarise(prob, PostprocessConfig(min_size=0))
    assert mask[5:10, 5:15].all() and not mask[20:31, 20:25].any()


def test_small_objects_removed_under_200px():
    prob = np.zeros((50, 100), np.float32)
    prob[2:12, 2:22] = 1  # 200 px: kept
    prob[30:41, 50:68] = 1  # 198 px: removed
    prob[30:41, 50:68][0, 0] = 0
    prob[30:41, 50:68][0, 1] = 0
    labels = probability_to_instances(prob, PostprocessConfig(watershed=False))
    assert labels.max() == 1 and labels[5, 5] == 1


def test_watershed_splits_touching_discs_and_can_be_switched_off():
    prob = discs(((60, 60), 28), ((110, 60), 28))
    assert probability_to_instances(prob).max() == 2
    assert probability_to_instances(prob, PostprocessConfig(watershed=False)).max() == 1
    single = discs(((60, 60), 28))
    assert probability_to_instances(single).max() == 1


def test_smoothing_removes_thin_spurs():
    prob = discs(((60, 60), 25))
    prob[58:61, 85:130] = 1  # a 3-px spur
    plain = binarise(prob, PostprocessConfig(min_size=0))
    smooth = binarise(prob, PostprocessConfig(min_size=0, smooth_radius=2))
    assert plain[59, 120] and not smooth[59, 120] and smooth[60, 60]
