"""Pseudo-label targets, per-pixel weights, the weighted pseudo loss and the lambda ramp.

A teacher probability ``p`` becomes a hard target ``p >= high`` with weight ``max(p, 1 - p)``
(``weighting="confidence"``) or 1 (``"uniform"``) where ``p >= high`` or ``p <= low``; pixels in
the uncertain band ``low < p < high`` (and pixels flagged ``ignore``) get weight exactly 0, so
they add nothing to the loss or to its gradient.

The student loss is ``manual_weight * manual_loss + lambda(t) * pseudo_loss`` where
``pseudo_loss`` is a weighted sum of

* ``bce``:  sum_i w_i * BCE(logit_i, t_i) / N   (N = every pixel of the pseudo batch), and
* ``dice``: 1 - (2 sum w p t + 1) / (sum w p + sum w t + 1)   (weighted soft Dice).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pseudo_targets(
    prob: torch.Tensor,
    low: float,
    high: float,
    weighting: str = "confidence",
    ignore: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(target in {0, 1}, weight >= 0), both float and shaped like ``prob`` (values in [0, 1])."""
    p = prob.float()
    positive = p >= high
    confident = positive | (p <= low)
    if ignore is not None:
        confident &= ~ignore.bool()
    if weighting == "uniform":
        weight = confident.float()
    else:
        weight = torch.where(confident, torch.maximum(p, 1.0 - p), torch.zeros_like(p))
    return positive.float(), weight


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    per_pixel = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    return (weight * per_pixel).sum() / max(per_pixel.numel(), 1)


def weighted_dice(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits.float())
    inter = (weight * p * target).sum()
    return 1.0 - (2.0 * inter + 1.0) / ((weight * p).sum() + (weight * target).sum() + 1.0)


PSEUDO_LOSSES = {"bce": weighted_bce, "dice": weighted_dice}


def pseudo_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    weights: dict[str, float],
) -> torch.Tensor:
    """Weighted sum of the named pixel-weighted losses (see the module docstring)."""
    return sum(w * PSEUDO_LOSSES[name](logits, target, weight) for name, w in weights.items())


def ramp_weight(step: int, lambda_max: float, ramp_steps: int) -> float:
    """lambda(t): ``lambda_max * exp(-5 (1 - t)^2)`` for t = step / ramp_steps < 1, then flat."""
    if ramp_steps <= 0 or step >= ramp_steps:
        return lambda_max
    t = max(step, 0) / ramp_steps
    return lambda_max * math.exp(-5.0 * (1.0 - t) ** 2)


def pseudo_stats(prob: torch.Tensor, weight: torch.Tensor) -> dict[str, float]:
    """coverage (fraction of pixels with weight > 0) and mean teacher confidence."""
    p = prob.float()
    return {
        "coverage": float((weight > 0).float().mean()),
        "mean_confidence": float(torch.maximum(p, 1.0 - p).mean()),
    }


def student_loss(
    manual_fn,
    labelled_logits: torch.Tensor,
    mask: torch.Tensor,
    pseudo_logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    manual_weight: float,
    lam: float,
    pseudo_weights: dict[str, float],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, manual, pseudo): ``manual_weight * manual_fn(...) + lam * pseudo_loss(...)``."""
    manual = manual_fn(labelled_logits, mask)
    pseudo = pseudo_loss(pseudo_logits, target, weight, pseudo_weights)
    return manual_weight * manual + lam * pseudo, manual, pseudo
