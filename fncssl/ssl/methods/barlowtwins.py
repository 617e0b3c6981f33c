"""Barlow Twins: push the cross-correlation of the two views' projections to the identity
(redundancy reduction); needs a few samples per process for its batch statistics."""

from __future__ import annotations

from lightly.loss import BarlowTwinsLoss
from lightly.models.modules import BarlowTwinsProjectionHead

from fncssl.ssl.base import PooledTwoViewMethod


class BarlowTwins(PooledTwoViewMethod):
    min_batch_size = 4

    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = BarlowTwinsProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = BarlowTwinsLoss(gather_distributed=True)
