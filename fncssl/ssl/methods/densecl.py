"""DenseCL: MoCo's global contrast plus a dense one on the encoder's bottleneck map.

Every location of view 1's map is paired with the location of view 2's map that shows the
same input pixel, found from the views' crop/flip/rotation geometry (``match_locations``);
pairs that fall outside view 2 are dropped. Both losses use queues of momentum keys. The
momentum branch is a deep copy of the online encoder and heads (never the online modules).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from lightly.loss import NTXentLoss
from lightly.models.modules import DenseCLProjectionHead, MoCoProjectionHead

from fncssl.augment import match_locations
from fncssl.ssl.base import SSLMethod


class DenseCL(SSLMethod):
    momentum_modules: ClassVar[dict[str, str]] = {
        "encoder": "encoder_momentum",
        "projection": "projection_momentum",
        "dense_projection": "dense_projection_momentum",
    }

    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = MoCoProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.dense_projection = DenseCLProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = NTXentLoss(
            s.temperature, memory_bank_size=(s.queue_size, s.proj_dim), gather_distributed=True
        )
        self.dense_criterion = NTXentLoss(
            s.temperature, memory_bank_size=(s.queue_size, s.proj_dim), gather_distributed=True
        )

    @staticmethod
    def _tokens(feature_map: torch.Tensor) -> torch.Tensor:
        return feature_map.flatten(2).transpose(1, 2)  # (B, h*w, C)

    def _branch(self, v: torch.Tensor, momentum: bool) -> tuple[torch.Tensor, torch.Tensor, int]:
        enc = self.encoder_momentum if momentum else self.encoder
        proj = self.projection_momentum if momentum else self.projection
        dense = self.dense_projection_momentum if momentum else self.dense_projection
        fmap = enc(v)[-1]
        return proj(fmap.mean(dim=(2, 3))), dense(self._tokens(fmap)), fmap.shape[-1]

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q_global, q_dense, grid = self._branch(v1, momentum=False)
        with torch.no_grad():
            k_global, k_dense, grid2 = self._branch(v2, momentum=True)
        global_loss = self.criterion(q_global, k_global)
        index, valid = match_locations(m1, m2, grid, grid2, v1.shape[-1])
        k_matched = torch.gather(k_dense, 1, index[..., None].expand(-1, -1, k_dense.shape[-1]))
        if valid.any():
            dense_loss = self.dense_criterion(q_dense[valid], k_matched[valid])
        else:
            dense_loss = q_dense.sum() * 0.0
        w = self.cfg.ssl.dense_weight
        return (1 - w) * global_loss + w * dense_loss, q_global, k_global
