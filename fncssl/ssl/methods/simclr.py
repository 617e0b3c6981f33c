"""SimCLR: NT-Xent between the two views' projections (in-batch negatives, optionally a
memory bank of past projections for small batches), gathered across processes under DDP."""

from __future__ import annotations

from lightly.loss import NTXentLoss
from lightly.models.modules import SimCLRProjectionHead

from fncssl.ssl.base import PooledTwoViewMethod


class SimCLR(PooledTwoViewMethod):
    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = SimCLRProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = NTXentLoss(
            s.temperature, memory_bank_size=s.memory_bank_size, gather_distributed=True
        )
