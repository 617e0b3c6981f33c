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


def test_a_single_blob_with_a_flat_top_stays_one_object():
    """The maximum filter turns each peak of the distance map into a plateau; the whole
    plateau must seed one marker. Thinning it to separate points (what recent scikit-image
    peak_local_max does) cut the bar into four pieces and a real 212-px blob into six."""
    for w, h in ((14, 20), (12, 60), (30, 40), (20, 90)):
        prob = np.zeros((120, 160), np.float32)
        cv2.ellipse(prob, (80, 60), (w, h // 2), 30, 0, 360, 1.0, -1)
        assert binarise(prob).any(), (w, h)
        assert probability_to_instances(prob).max() == 1, (w, h)
    rect = np.zeros((60, 120), np.float32)
    rect[20:32, 10:110] = 1  # a 12 x 100 bar: its distance map is a flat ridge
    assert probability_to_instances(rect).max() == 1


def test_plateau_maxima_match_a_brute_force_window_maximum():
    """Each kept pixel equals the largest value of its own component within the window."""
    from scipy import ndimage as ndi

    from fncssl.evaluation.postprocess import plateau_maxima

    rng = np.random.default_rng(0)
    values = np.round(rng.uniform(0, 4, (40, 50))).astype(np.float32)
    components, _ = ndi.label(rng.random((40, 50)) > 0.3)
    got = plateau_maxima(values, components, 5)
    want = np.zeros_like(got)
    for y in range(40):
        for x in range(50):
            c = components[y, x]
            if c == 0:
                continue
            ys, xs = slice(max(y - 2, 0), y + 3), slice(max(x - 2, 0), x + 3)
            window = np.where(components[ys, xs] == c, values[ys, xs], 0)
            want[y, x] = values[y, x] == window.max()
    assert np.array_equal(got, want)
