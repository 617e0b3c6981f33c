"""BYOL: the online network (projection + prediction) regresses the momentum target's
projection of the other view (negative cosine similarity); no negatives."""

from __future__ import annotations

from typing import ClassVar

import torch
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead

from fncssl.ssl.base import SSLMethod, pooled


class BYOL(SSLMethod):
    momentum_modules: ClassVar[dict[str, str]] = {
        "encoder": "encoder_momentum",
        "projection": "projection_momentum",
    }

    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = BYOLProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.prediction = BYOLPredictionHead(s.proj_dim, s.hidden_dim, s.proj_dim)
        self.criterion = NegativeCosineSimilarity()

    def _target(self, v: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.projection_momentum(pooled(self.encoder_momentum(v)))

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z1 = self.projection(pooled(self.encoder(v1)))
        z2 = self.projection(pooled(self.encoder(v2)))
        p1, p2 = self.prediction(z1), self.prediction(z2)
        loss = 0.5 * (self.criterion(p1, self._target(v2)) + self.criterion(p2, self._target(v1)))
        return loss, z1, z2
