"""MoCo v2: a query from the online encoder, a key from its momentum copy, and a queue of
past keys as negatives (lightly's NT-Xent with a memory bank); symmetrised over the views."""

from __future__ import annotations

from typing import ClassVar

import torch
from lightly.loss import NTXentLoss
from lightly.models.modules import MoCoProjectionHead

from fncssl.ssl.base import SSLMethod, pooled


class MoCo(SSLMethod):
    momentum_modules: ClassVar[dict[str, str]] = {
        "encoder": "encoder_momentum",
        "projection": "projection_momentum",
    }

    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = MoCoProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = NTXentLoss(
            s.temperature, memory_bank_size=(s.queue_size, s.proj_dim), gather_distributed=True
        )

    def _key(self, v: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.projection_momentum(pooled(self.encoder_momentum(v)))

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q1 = self.projection(pooled(self.encoder(v1)))
        q2 = self.projection(pooled(self.encoder(v2)))
        loss = 0.5 * (self.criterion(q1, self._key(v2)) + self.criterion(q2, self._key(v1)))
        return loss, q1, q2
