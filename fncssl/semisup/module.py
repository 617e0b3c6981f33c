"""The student's LightningModule: the fine-tuning module plus a pseudo-label or EMA teacher.

Training batches are ``{"labelled": {...}, "unlabelled": {...}}``. In ``pseudolabel`` mode
the unlabelled part carries stored teacher probabilities: targets and weights
(:func:`~fncssl.semisup.loss.pseudo_targets`) go through the same random geometry as their
image. In ``consistency`` mode the EMA teacher predicts the *weak* view (the fine-tuning
geometry: flips, 90-degree turns, small affine; no photometric change) and the student sees
the *strong* view, which is the weak view plus strong photometric changes only, so the
teacher's target needs no geometric correction. Labelled and unlabelled crops share one
forward pass. Logged: ``train/manual_loss``, ``train/pseudo_loss``, ``semisup/lambda``,
``semisup/coverage`` (fraction of pseudo pixels with weight > 0), ``semisup/mean_confidence``,
and on validation crops ``val/pseudo_agreement`` (teacher's confident pixels that match the
truth) and ``val/pseudo_coverage``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import torch
from lightly.models.utils import update_momentum
from torch import nn

from fncssl.augment import SegmentationAugment
from fncssl.data.layout import ImageRecord
from fncssl.errors import FNCError
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.module import SegmentationModule
from fncssl.models.inference import to_model_input
from fncssl.semisup.loss import pseudo_stats, pseudo_targets, ramp_weight, student_loss


class SemiSupervisedModule(SegmentationModule):
    """``model`` is the student; ``teacher`` (pseudolabel mode, optional) is only used to
    report its agreement with the truth on validation crops and is not saved."""

    def __init__(
        self,
        model: nn.Module,
        cfg: FinetuneConfig,
        val_records: Sequence[ImageRecord] = (),
        teacher: nn.Module | None = None,
    ) -> None:
        super().__init__(model, cfg, val_records)
        s = cfg.semisup
        self.low, self.high = s.band
        self.ema: nn.Module | None = None
        self._frozen: list[nn.Module] = []
        if s.mode == "consistency":
            self.ema = copy.deepcopy(model).requires_grad_(False)
            weak = dataclasses.replace(
                cfg.augment, lighting=0.0, gamma=0.0, blur=False, noise_std=0.0
            )
            self.weak = SegmentationAugment(weak)
            self.strong = SegmentationAugment(s.strong)
        elif teacher is not None:
            self._frozen = [teacher.eval().requires_grad_(False)]
        self._agree = torch.zeros(3)

    @property
    def teacher(self) -> nn.Module | None:
        return self.ema if self.ema is not None else (self._frozen[0] if self._frozen else None)

    @torch.no_grad()
    def teacher_probability(self, image: torch.Tensor) -> torch.Tensor:
        """Teacher p(cell) (B, 1, H, W) for float images, in eval mode."""
        teacher = self.teacher
        assert teacher is not None
        teacher.to(self.device).eval()
        return torch.sigmoid(teacher(image).float())

    def _unlabelled_views(
        self, unl: dict
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(student input, target, weight, teacher probability) for the unlabelled crops."""
        s = self.cfg.semisup
        image = to_model_input(unl["image"])
        if s.mode == "pseudolabel":
            prob = unl["prob"].float() / 255.0
            target, weight = pseudo_targets(prob, self.low, self.high, s.weighting, unl["ignore"])
            image, maps = self.augment.transform(image, torch.cat([target, weight], 1))
            return image, (maps[:, :1] > 0.5).float(), maps[:, 1:], prob
        blank = torch.zeros_like(image[:, :1])
        weak, _ = self.weak.transform(image, blank)
        prob = self.teacher_probability(weak)
        target, weight = pseudo_targets(prob, self.low, self.high, s.weighting)
        strong, _ = self.strong.transform(weak, blank)
        return strong, target, weight, prob

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        s = self.cfg.semisup
        lab = batch["labelled"]
        image, mask = self.augment(to_model_input(lab["image"]), lab["mask"].float())
        u_image, target, weight, prob = self._unlabelled_views(batch["unlabelled"])
        logits = self(torch.cat([image, u_image]))
        b = image.shape[0]
        lam = ramp_weight(self.global_step, s.lambda_max, s.ramp_steps)
        loss, manual, pseudo = student_loss(
            self.loss_fn, logits[:b], mask, logits[b:], target, weight,
            s.manual_weight, lam, s.pseudo_loss,
        )  # fmt: skip
        if not torch.isfinite(loss):
            raise FNCError(
                f"loss is {loss.item()} at step {self.global_step}; stopping "
                "(lower optim.lr or check the data)"
            )
        stats = pseudo_stats(prob, weight)
        log = {"batch_size": b, "on_step": True, "on_epoch": True}
        self.log("train/loss", loss, prog_bar=True, **log)
        self.log("train/manual_loss", manual, **log)
        self.log("train/pseudo_loss", pseudo, **log)
        self.log("semisup/lambda", lam, **log)
        self.log("semisup/coverage", stats["coverage"], **log)
        self.log("semisup/mean_confidence", stats["mean_confidence"], **log)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.ema is not None:
            update_momentum(self.model, self.ema, self.cfg.semisup.ema_decay)
            for own, ema in zip(self.model.buffers(), self.ema.buffers(), strict=True):
                ema.copy_(own)

    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        self._agree = torch.zeros(3)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        super().validation_step(batch, batch_idx)
        if self.teacher is None:
            return
        prob = self.teacher_probability(to_model_input(batch["image"]))
        target, weight = pseudo_targets(prob, self.low, self.high, "uniform")
        covered = weight > 0
        agree = covered & (target == batch["mask"].float())
        self._agree += torch.tensor(
            [float(agree.sum()), float(covered.sum()), float(covered.numel())]
        )

    def on_validation_epoch_end(self) -> None:
        agree, covered, total = (float(v) for v in self._agree)
        if total:
            self.log("val/pseudo_agreement", agree / covered if covered else 1.0)
            self.log("val/pseudo_coverage", covered / total)
        super().on_validation_epoch_end()
