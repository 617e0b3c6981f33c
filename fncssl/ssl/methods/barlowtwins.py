"""Barlow Twins: push the cross-correlation of the two views' projections to the identity
(redundancy reduction); needs a few samples per process for its batch statistics."""

from __future__ import annotations

import torch
from lightly.loss import BarlowTwinsLoss
from lightly.models.modules import BarlowTwinsProjectionHead

from fncssl.ssl.base import SSLMethod, pooled


class BarlowTwins(SSLMethod):
    min_batch_size = 4

    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = BarlowTwinsProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = BarlowTwinsLoss(gather_distributed=True)

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z1 = self.projection(pooled(self.encoder(v1)))
        z2 = self.projection(pooled(self.encoder(v2)))
        return self.criterion(z1, z2), z1, z2
