"""Hand-made cases with known answers, and agreement with a slow definitional implementation."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment

from fncssl.data.imageio import read_mask
from fncssl.evaluation.instances import to_instances
from fncssl.evaluation.matching import match_image
from fncssl.evaluation.scoring import score_images


def canvas():
    return np.zeros((60, 80), np.int32)


def rect(a, y0, y1, x0, x1, value=1):
    a[y0:y1, x0:x1] = value
    return a


def counts(truth, pred, protocol):
    m = match_image(to_instances(truth), to_instances(pred), protocol)
    return (m.segmentation.tp, m.segmentation.fp, m.segmentation.fn), (
        m.detection.tp,
        m.detection.fp,
        m.detection.fn,
    )


def test_identical():
    t = rect(rect(canvas(), 5, 25, 5, 25, 1), 30, 50, 40, 60, 2)
    for protocol in ("paper", "strict"):
        assert counts(t, t, protocol) == ((2, 0, 0), (2, 0, 0))


@pytest.mark.parametrize(("shift", "seg"), [(5, (1, 0, 0)), (10, (0, 1, 1))])
def test_shifted(shift, seg):
    t = rect(canvas(), 10, 30, 10, 30)
    p = rect(canvas(), 10, 30, 10 + shift, 30 + shift)  # IoU 0.6 (shift 5) or 1/3 (shift 10)
    for protocol in ("paper", "strict"):
        assert counts(t, p, protocol) == (seg, (1, 0, 0))


def test_split_prediction():
    t = rect(canvas(), 10, 30, 0, 40)  # 800 px
    p = rect(rect(canvas(), 10, 30, 0, 19, 1), 10, 30, 21, 40, 2)  # halves, IoU 0.475 each
    assert counts(t, p, "paper") == ((0, 2, 1), (1, 0, 0))
    assert counts(t, p, "strict") == ((0, 2, 1), (1, 1, 0))


def test_merged_prediction():
    t = rect(rect(canvas(), 10, 30, 0, 20, 1), 10, 30, 22, 42, 2)
    p = rect(canvas(), 10, 30, 0, 42)  # IoU 400/840 with each
    assert counts(t, p, "paper") == ((0, 1, 2), (2, 0, 0))  # one prediction matches both
    assert counts(t, p, "strict") == ((0, 1, 2), (1, 0, 1))


def test_touching_cells_binary_vs_instances():
    t = rect(rect(canvas(), 0, 10, 0, 10, 1), 10, 20, 10, 20, 2)  # touch at a corner
    assert to_instances(t > 0).max() == 1  # 8-connected: one object as a binary mask
    assert to_instances(t).max() == 2  # instance labels keep them apart
    assert counts(t, t, "paper") == ((2, 0, 0), (2, 0, 0))


def test_far_detection_threshold():
    t = rect(canvas(), 0, 10, 0, 10)
    p = rect(canvas(), 0, 10, 41, 51)  # centroids 41 px apart
    assert counts(t, p, "paper") == ((0, 1, 1), (0, 1, 1))
    p2 = rect(canvas(), 0, 10, 40, 50)  # exactly 40 px: within
    assert counts(t, p2, "paper")[1] == (1, 0, 0)


def test_empty_cases_are_defined():
    t = rect(rect(canvas(), 5, 25, 5, 25, 1), 30, 50, 40, 60, 2)
    e = canvas()
    r = score_images([("a", e, t), ("b", t, e), ("c", e, e)])
    assert (r["segmentation"]["tp"], r["segmentation"]["fp"], r["segmentation"]["fn"]) == (0, 2, 2)
    imgs = {im["name"]: im for im in r["images"]}
    assert imgs["c"]["segmentation"] == {
        "tp": 0,
        "fp": 0,
        "fn": 0,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }
    # MPE terms: (2-0)/1, (0-2)/2, 0
    assert r["counting"]["mpe"] == pytest.approx((2.0 - 1.0 + 0.0) / 3)
    assert r["counting"]["mae"] == pytest.approx(4 / 3)
    both_empty = score_images([("c", e, e)])
    assert both_empty["pixel"] == {"dice": 1.0, "iou": 1.0}
    assert not any(
        np.isnan(v)
        for k in ("segmentation", "detection", "counting")
        for v in both_empty[k].values()
    )


# ---- slow definitional implementation ---------------------------------------------------


def definitional(true_labels, pred_labels, protocol, iou_t=0.5, dist_t=40.0):
    """Pair by pair: IoU from boolean masks (on the pair's joint box), centroid distances."""
    nt, npr = int(true_labels.max()), int(pred_labels.max())
    boxes_t, boxes_p = ndi.find_objects(true_labels), ndi.find_objects(pred_labels)
    cent_t = [np.argwhere(true_labels == i + 1).mean(0) for i in range(nt)]
    cent_p = [np.argwhere(pred_labels == j + 1).mean(0) for j in range(npr)]
    iou = np.zeros((nt, npr))
    dist = np.zeros((nt, npr))
    for i in range(nt):
        for j in range(npr):
            dist[i, j] = np.hypot(*(cent_t[i] - cent_p[j]))
            bt, bp = boxes_t[i], boxes_p[j]
            box = tuple(
                slice(min(a.start, b.start), max(a.stop, b.stop))
                for a, b in zip(bt, bp, strict=True)
            )
            a, b = true_labels[box] == i + 1, pred_labels[box] == j + 1
            iou[i, j] = (a & b).sum() / (a | b).sum()
    if protocol == "paper":
        seg_tp = sum(any(iou[i, j] > iou_t for j in range(npr)) for i in range(nt))
        seg_fp = sum(not any(iou[i, j] > iou_t for i in range(nt)) for j in range(npr))
        det_tp = sum(any(dist[i, j] <= dist_t for j in range(npr)) for i in range(nt))
        det_fp = sum(not any(dist[i, j] <= dist_t for i in range(nt)) for j in range(npr))
        return (seg_tp, seg_fp, nt - seg_tp), (det_tp, det_fp, nt - det_tp)
    out = []
    for score, ok in ((-iou, iou > iou_t), (dist, dist <= dist_t)):
        if nt and npr:
            r, c = linear_sum_assignment(np.where(ok, score, 1e9))
            tp = int(ok[r, c].sum())
        else:
            tp = 0
        out.append((tp, npr - tp, nt - tp))
    return tuple(out)


def perturbations(mask, rng):
    yield "dilate", ndi.binary_dilation(mask, iterations=4)
    yield "erode", ndi.binary_erosion(mask, iterations=6)
    yield "shift", np.roll(mask, (9, -7), axis=(0, 1))
    labels = to_instances(mask)
    keep = rng.random(labels.max() + 1) > 0.3
    keep[0] = False
    dropped = keep[labels]
    blobs = np.zeros_like(mask)
    for _ in range(5):
        y, x = rng.integers(0, mask.shape[0] - 30), rng.integers(0, mask.shape[1] - 30)
        blobs[y : y + 25, x : x + 25] = True
    yield "drop+add", dropped | blobs


@pytest.mark.parametrize("protocol", ["paper", "strict"])
def test_agrees_with_definitional_on_real_samples(samples_dir, protocol):
    rng = np.random.default_rng(0)
    for path in sorted(samples_dir.glob("*/masks/*.png")):
        mask = read_mask(path)[::2, ::2]  # half resolution keeps the slow loop quick
        t = to_instances(mask)
        for name, pred in perturbations(mask, rng):
            p = to_instances(pred)
            assert counts(t, p, protocol) == definitional(t, p, protocol), (path.name, name)
