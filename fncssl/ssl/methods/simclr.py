"""SimCLR: NT-Xent between the two views' projections (in-batch negatives, optionally a
memory bank of past projections for small batches), gathered across processes under DDP."""

from __future__ import annotations

import torch
from lightly.loss import NTXentLoss
from lightly.models.modules import SimCLRProjectionHead

from fncssl.ssl.base import SSLMethod, pooled


class SimCLR(SSLMethod):
    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = SimCLRProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = NTXentLoss(
            s.temperature, memory_bank_size=s.memory_bank_size, gather_distributed=True
        )

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z1 = self.projection(pooled(self.encoder(v1)))
        z2 = self.projection(pooled(self.encoder(v2)))
        return self.criterion(z1, z2), z1, z2
