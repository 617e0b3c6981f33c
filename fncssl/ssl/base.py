"""The LightningModule every pretraining method shares.

Batches are large uint8 crops (B, 3, S, S); :class:`SSLViews` turns them into two augmented
views on the model's device. A method implements ``build_heads(feat_dim)`` and
``compute_loss(v1, v2, m1, m2) -> (loss, z1, z2)`` (z: the embeddings used for monitoring).
Momentum methods set ``momentum_modules`` (online name -> momentum copy name); the copies are
deep copies with gradients off, updated every step on a cosine schedule from
``ssl.momentum`` to 1. Logged: loss, learning rate, momentum, embedding std (collapse alarm:
it falls towards 0 when every image maps to the same point; about 1/sqrt(d) is healthy),
alignment and uniformity of the normalised embeddings, and the online probe.
"""

from __future__ import annotations

import copy
from typing import ClassVar

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.scheduler import cosine_schedule
from torch import nn

from fncssl.augment import SSLViews
from fncssl.config import to_dict
from fncssl.ssl.config import PretrainConfig
from fncssl.ssl.probe import PixelProbe


def pooled(features: list[torch.Tensor]) -> torch.Tensor:
    """Global average pool of the deepest feature map: (B, C)."""
    return features[-1].mean(dim=(2, 3))


def embedding_stats(z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
    """Std of normalised embeddings, alignment and uniformity (Wang & Isola)."""
    a, b = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    out = {"ssl/embedding_std": a.std(dim=0).mean(), "ssl/alignment": (a - b).pow(2).sum(1).mean()}
    if a.shape[0] > 1:
        out["ssl/uniformity"] = torch.pdist(a).pow(2).mul(-2).exp().mean().log()
    return out


class SSLMethod(pl.LightningModule):
    """Shared training loop; see the module docstring for what a method provides."""

    min_batch_size = 2
    momentum_modules: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        encoder: nn.Module,
        feat_dim: int,
        cfg: PretrainConfig,
        probe: PixelProbe | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = encoder
        self.feat_dim = feat_dim
        self.views = SSLViews(cfg.views)
        self.probe = probe
        self.save_hyperparameters({"config": to_dict(cfg)})
        self.build_heads(feat_dim)
        for online, target in self.momentum_modules.items():
            copy_ = copy.deepcopy(getattr(self, online))  # never share modules with the online net
            deactivate_requires_grad(copy_)
            setattr(self, target, copy_)
        self.current_momentum = cfg.ssl.momentum

    def build_heads(self, feat_dim: int) -> None:
        raise NotImplementedError

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        v1, v2, m1, m2 = self.views(batch["image"])
        if self.momentum_modules:
            total = max(int(self.trainer.estimated_stepping_batches), 1)
            self.current_momentum = cosine_schedule(
                self.global_step, total, self.cfg.ssl.momentum, 1.0
            )
            for online, target in self.momentum_modules.items():
                update_momentum(getattr(self, online), getattr(self, target), self.current_momentum)
            self.log("ssl/momentum", self.current_momentum)
        loss, z1, z2 = self.compute_loss(v1, v2, m1, m2)
        bs = v1.shape[0]
        self.log("ssl/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=bs)
        for k, v in embedding_stats(z1.detach(), z2.detach()).items():
            self.log(k, v, on_step=True, on_epoch=True, batch_size=bs)
        return loss

    def run_probe(self) -> None:
        if self.probe is None or not self.trainer.is_global_zero:
            return
        scores = self.probe.evaluate(self.encoder, self.device)
        if self.logger is not None:  # explicit step: the first probe is of the random encoder
            self.logger.log_metrics(scores, step=self.global_step)
        self.probe_history.append({"epoch": self.current_epoch, "step": self.global_step, **scores})

    def on_train_start(self) -> None:
        self.probe_history: list[dict] = []
        if self.global_step == 0 and self.cfg.probe.enabled:
            self.run_probe()  # the randomly initialised encoder, for comparison

    def on_train_epoch_end(self) -> None:
        every = self.cfg.probe.every_n_epochs
        if self.cfg.probe.enabled and every > 0 and (self.current_epoch + 1) % every == 0:
            self.run_probe()

    def learning_rate(self) -> float:
        world = max(self.trainer.world_size, 1)
        return self.cfg.ssl.base_lr * self.cfg.data.batch_size * world / 256.0

    def configure_optimizers(self) -> dict:
        params = [p for p in self.parameters() if p.requires_grad]
        lr = self.learning_rate()
        if self.cfg.ssl.optimizer == "sgd":
            opt = torch.optim.SGD(
                params, lr=lr, momentum=0.9, weight_decay=self.cfg.ssl.weight_decay
            )
        else:
            opt = torch.optim.AdamW(params, lr=lr, weight_decay=self.cfg.ssl.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        per_epoch = max(total // max(self.trainer.max_epochs or 1, 1), 1)
        warmup = min(self.cfg.ssl.warmup_epochs * per_epoch, total - 1)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return cosine_schedule(step - warmup, max(total - warmup, 1), 1.0, 0.01)

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class PooledTwoViewMethod(SSLMethod):
    """Methods whose loss compares the two views' projections of the pooled bottleneck.

    Subclasses set ``self.projection`` and ``self.criterion`` in ``build_heads``.
    """

    def compute_loss(
        self, v1: torch.Tensor, v2: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z1 = self.projection(pooled(self.encoder(v1)))
        z2 = self.projection(pooled(self.encoder(v2)))
        return self.criterion(z1, z2), z1, z2
