"""VICReg: invariance between the views plus variance and covariance regularisation of each
view's expander output (non-contrastive)."""

from __future__ import annotations

from lightly.loss import VICRegLoss
from lightly.models.modules import BarlowTwinsProjectionHead

from fncssl.ssl.base import PooledTwoViewMethod


class VICReg(PooledTwoViewMethod):
    min_batch_size = 4

    def build_heads(self, feat_dim: int) -> None:
        s = self.cfg.ssl
        self.projection = BarlowTwinsProjectionHead(feat_dim, s.hidden_dim, s.proj_dim)
        self.criterion = VICRegLoss(gather_distributed=True)
