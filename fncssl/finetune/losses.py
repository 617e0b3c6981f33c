"""Segmentation losses on cell logits (B, 1, H, W) against binary targets in {0, 1}.

``dice`` (soft Dice over the batch, the paper's loss), ``bce`` (with ``pos_weight`` for the
rare cell class), ``focal`` (torchvision's sigmoid focal loss), ``tversky`` (alpha weights
false positives, beta false negatives) and any weighted sum of them, e.g.
``{"dice": 1.0, "bce": 0.5}``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from fncssl.errors import ConfigError

EPS = 1.0
LOSS_NAMES = ("dice", "bce", "focal", "tversky")


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits.float())
    t = target.float()
    inter = (p * t).sum()
    return 1.0 - (2.0 * inter + EPS) / (p.sum() + t.sum() + EPS)


def tversky_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, beta: float = 0.7
) -> torch.Tensor:
    p = torch.sigmoid(logits.float())
    t = target.float()
    tp = (p * t).sum()
    fp = (p * (1 - t)).sum()
    fn = ((1 - p) * t).sum()
    return 1.0 - (tp + EPS) / (tp + alpha * fp + beta * fn + EPS)


def bce_loss(logits: torch.Tensor, target: torch.Tensor, pos_weight: float = 1.0) -> torch.Tensor:
    w = torch.tensor(pos_weight, device=logits.device, dtype=torch.float32)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float(), pos_weight=w)


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, alpha: float = 0.25
) -> torch.Tensor:
    return sigmoid_focal_loss(
        logits.float(), target.float(), alpha=alpha, gamma=gamma, reduction="mean"
    )


def build_loss(
    weights: dict[str, float],
    pos_weight: float = 1.0,
    focal_gamma: float = 2.0,
    tversky_alpha: float = 0.3,
    tversky_beta: float = 0.7,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A weighted sum of named losses; unknown names are a config error."""
    parts: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "dice": dice_loss,
        "bce": lambda lg, t: bce_loss(lg, t, pos_weight),
        "focal": lambda lg, t: focal_loss(lg, t, focal_gamma),
        "tversky": lambda lg, t: tversky_loss(lg, t, tversky_alpha, tversky_beta),
    }
    unknown = sorted(set(weights) - set(parts))
    if unknown or not weights:
        raise ConfigError(
            f"loss.weights: unknown loss(es) {unknown or '(none given)'}; valid: {sorted(parts)}"
        )

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * parts[name](logits, target) for name, w in weights.items())

    return loss
