"""The student loss: configured weights for manual and confident pseudo pixels, nothing from
the uncertain band; targets, ramp, object filter and config checks."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fncssl.config import load_config
from fncssl.errors import ConfigError
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.losses import bce_loss
from fncssl.semisup.loss import pseudo_targets, ramp_weight, student_loss
from fncssl.semisup.objects import dropped_objects

LOW, HIGH = 0.3, 0.7


def _case():
    torch.manual_seed(0)
    lab_logits = torch.randn(1, 1, 2, 3, requires_grad=True)
    mask = torch.tensor([[[[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]])
    u_logits = torch.randn(1, 1, 2, 4, requires_grad=True)
    # confident cell, confident background, band, band / confident cell (ignored), edge values
    prob = torch.tensor([[[[0.9, 0.1, 0.5, 0.65], [0.95, 0.3, 0.7, 0.31]]]])
    ignore = torch.tensor([[[[False, False, False, False], [True, False, False, False]]]])
    return lab_logits, mask, u_logits, prob, ignore


def test_targets_and_weights_by_hand():
    _, _, _, prob, ignore = _case()
    target, weight = pseudo_targets(prob, LOW, HIGH, "confidence", ignore)
    assert target.flatten().tolist() == [1, 0, 0, 0, 1, 0, 1, 0]
    expected = [0.9, 0.9, 0, 0, 0, 0.7, 0.7, 0]  # ignored pixel 4 -> 0; 0.3 and 0.7 included
    assert torch.allclose(weight.flatten(), torch.tensor(expected))
    _, uniform = pseudo_targets(prob, LOW, HIGH, "uniform", ignore)
    assert uniform.flatten().tolist() == [1, 1, 0, 0, 0, 1, 1, 0]


def test_manual_and_confident_pixels_weighted_uncertain_pixels_contribute_nothing():
    lab_logits, mask, u_logits, prob, ignore = _case()
    target, weight = pseudo_targets(prob, LOW, HIGH, "confidence", ignore)
    manual_weight, lam = 0.7, 2.5
    total, _, _ = student_loss(
        lambda lg, t: bce_loss(lg, t), lab_logits, mask, u_logits, target, weight,
        manual_weight, lam, {"bce": 1.0},
    )  # fmt: skip
    total.backward()
    # value, by hand: manual mean BCE, pseudo sum of w * BCE over all 8 pseudo pixels
    bce_l = F.binary_cross_entropy_with_logits(lab_logits.detach(), mask, reduction="none")
    bce_u = F.binary_cross_entropy_with_logits(u_logits.detach(), target, reduction="none")
    by_hand = manual_weight * bce_l.mean() + lam * (weight * bce_u).sum() / 8
    assert math.isclose(total.item(), by_hand.item(), rel_tol=1e-6)
    # gradients: d BCE / d logit = sigmoid(logit) - target
    g_l = manual_weight * (torch.sigmoid(lab_logits.detach()) - mask) / 6
    assert torch.allclose(lab_logits.grad, g_l, atol=1e-7)
    g_u = lam * weight * (torch.sigmoid(u_logits.detach()) - target) / 8
    assert torch.allclose(u_logits.grad, g_u, atol=1e-7)
    unused = weight == 0
    assert unused.sum() == 4 and (u_logits.grad[unused] == 0).all()
    assert (u_logits.grad[~unused] != 0).all()


def test_uncertain_pixels_do_not_change_the_loss_or_dice_gradient():
    lab_logits, mask, u_logits, prob, ignore = _case()
    target, weight = pseudo_targets(prob, LOW, HIGH, "confidence", ignore)
    args = (lambda lg, t: bce_loss(lg, t), lab_logits, mask)
    total, _, _ = student_loss(*args, u_logits, target, weight, 1.0, 1.0, {"dice": 1.0})
    total.backward()
    unused = weight == 0
    assert (u_logits.grad[unused] == 0).all() and (u_logits.grad[~unused] != 0).any()
    # any change of the logits in the band leaves the loss unchanged
    moved = u_logits.detach().clone()
    moved[unused] += 5.0
    again, _, _ = student_loss(*args, moved, target, weight, 1.0, 1.0, {"dice": 1.0, "bce": 1})
    base, _, _ = student_loss(
        *args, u_logits.detach(), target, weight, 1.0, 1.0, {"dice": 1.0, "bce": 1}
    )
    assert math.isclose(again.item(), base.item(), rel_tol=1e-6)


def test_ramp_rises_to_lambda_max():
    values = [ramp_weight(s, 2.0, 100) for s in (0, 25, 50, 99, 100, 1000)]
    assert math.isclose(values[0], 2.0 * math.exp(-5.0))
    assert values == sorted(values) and values[-2] == values[-1] == 2.0
    assert ramp_weight(0, 2.0, 0) == 2.0


def test_object_filter_drops_small_and_unsure_objects():
    prob = np.zeros((40, 40), np.uint8)
    prob[2:4, 2:4] = 250  # 4 px, confident
    prob[10:20, 10:20] = 250  # 100 px, confident
    prob[25:35, 25:35] = 190  # 100 px, mean p ~ 0.75
    drop = dropped_objects(prob, 0.7, min_size=10, min_confidence=0.8)
    assert drop[2:4, 2:4].all() and drop[25:35, 25:35].all()
    assert not drop[10:20, 10:20].any() and drop.sum() == 104
    assert not dropped_objects(prob, 0.7, 0, 0.0).any()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("semisup.low=0.8", "out of order"),
        ("semisup.mode=mixup", "semisup.mode"),
        ("semisup.strong.flips=true", "photometric only"),
        ("semisup.confidence=0.4", "semisup.confidence"),
        ("semisup.pseudo_loss={focal: 1}", "semisup.pseudo_loss"),
    ],
)
def test_bad_semisup_settings_are_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(FinetuneConfig, None, [override])
