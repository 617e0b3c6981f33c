"""The LightningModule for binary cell segmentation.

Batches arrive as uint8 images (B, 3, H, W) and {0, 1} masks (B, 1, H, W); they are scaled to
[0, 1] and augmented with Kornia on the model's device. Logged to TensorBoard: train/val loss,
pixel Dice and IoU, learning rate, every ``eval.every_n_epochs`` the object F1 (segmentation
and detection, paper protocol) on full validation images with tiled inference and the paper's
post-processing, and image grids (input, truth, prediction).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytorch_lightning as pl
import torch

from fncssl.augment import SegmentationAugment
from fncssl.config import to_dict
from fncssl.data.imageio import read_image, read_mask
from fncssl.data.layout import ImageRecord
from fncssl.errors import FNCError
from fncssl.evaluation.parallel import InstancePipeline
from fncssl.evaluation.scoring import score_images
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.device_crops import DeviceImageBank
from fncssl.finetune.losses import build_loss
from fncssl.models.inference import (
    probability_map,
    probability_maps,
    tile_config,
    to_model_input,
)


class SegmentationModule(pl.LightningModule):
    """Trains ``model`` (logits (B, 1, H, W)) with the loss and schedule of ``cfg``."""

    def __init__(
        self, model: torch.nn.Module, cfg: FinetuneConfig, val_records: Sequence[ImageRecord] = ()
    ) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.lr = cfg.optim.lr  # the LR finder updates this attribute
        self.save_hyperparameters({"config": to_dict(cfg)})
        self.loss_fn = build_loss(
            cfg.loss.weights,
            cfg.loss.pos_weight,
            cfg.loss.focal_gamma,
            cfg.loss.tversky_alpha,
            cfg.loss.tversky_beta,
        )
        self.augment = SegmentationAugment(cfg.augment)
        self.val_records = list(val_records)
        self._val_sums = torch.zeros(3)
        self._grid_batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.bank: DeviceImageBank | None = None  # set when speed.device_crops is on

    def _pixels(self, batch: dict) -> dict:
        if self.bank is None:
            return batch
        return self.bank.materialise(batch, self.cfg.data.crop_size, self.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.speed.channels_last and x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        batch = self._pixels(batch)
        image, mask = self.augment(to_model_input(batch["image"]), batch["mask"].float())
        logits = self(image)
        loss = self.loss_fn(logits, mask)
        # a finiteness check waits for the GPU: on CUDA only at logging steps
        check = not loss.is_cuda or self.global_step % max(self.cfg.log_every_n_steps, 1) == 0
        if check and not torch.isfinite(loss):
            raise FNCError(
                f"loss is {loss.item()} at step {self.global_step}; stopping "
                "(lower optim.lr or check the data)"
            )
        self.log(
            "train/loss",
            loss,
            prog_bar=True,
            on_step=True,
            on_epoch=True,
            batch_size=image.shape[0],
        )
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_sums = torch.zeros(3, device=self.device)  # summed on the device, no syncs

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        batch = self._pixels(batch)
        image, mask = to_model_input(batch["image"]), batch["mask"].float()
        logits = self(image)
        self.log(
            "val/loss",
            self.loss_fn(logits, mask),
            on_epoch=True,
            batch_size=image.shape[0],
            sync_dist=True,
        )
        pred = (logits > 0).float()
        self._val_sums += torch.stack([(pred * mask).sum(), pred.sum(), mask.sum()])
        if batch_idx == 0:
            self._grid_batch = (
                image[:4].detach().cpu(),
                mask[:4].cpu(),
                torch.sigmoid(logits[:4]).detach().float().cpu(),
            )

    def on_validation_epoch_end(self) -> None:
        inter, p, t = (float(v) for v in self._val_sums.cpu())
        self.log("val/dice", 2 * inter / (p + t) if p + t else 1.0, prog_bar=True)
        self.log("val/iou", inter / (p + t - inter) if p + t - inter else 1.0)
        epoch = self.current_epoch
        if self.trainer.sanity_checking:
            return
        every = self.cfg.eval.every_n_epochs
        last = self.trainer.max_epochs is not None and epoch + 1 >= self.trainer.max_epochs
        if self.val_records and every > 0 and ((epoch + 1) % every == 0 or last):
            scores = self.full_image_scores()
            self.log("val/seg_f1", scores["segmentation"]["f1"])
            self.log("val/det_f1", scores["detection"]["f1"])
            self.log("val/count_mae", scores["counting"]["mae"])
        if self._grid_batch is not None and epoch % max(self.cfg.image_log_every_n_epochs, 1) == 0:
            self._log_grid(*self._grid_batch)

    def _log_grid(self, image: torch.Tensor, mask: torch.Tensor, prob: torch.Tensor) -> None:
        from torchvision.utils import make_grid

        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_image"):
            return
        rows = torch.cat([image, mask.repeat(1, 3, 1, 1), prob.repeat(1, 3, 1, 1)])
        grid = make_grid(rows, nrow=image.shape[0], padding=2)
        experiment.add_image("val/input_truth_prediction", grid, self.global_step)

    def predict_probability(self, image: np.ndarray) -> np.ndarray:
        """p(cell) (H, W) float32 for one uint8 (H, W, 3) image, tiled."""
        tiles = tile_config(self.cfg.model.arch, self.cfg.eval.tile, self.cfg.eval.overlap)
        return probability_map(self.model, image, tiles, self.device)

    def predict_probabilities(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """p(cell) maps of several images; same-size images share forward passes."""
        tiles = tile_config(self.cfg.model.arch, self.cfg.eval.tile, self.cfg.eval.overlap)
        return probability_maps(self.model, images, tiles, self.device)

    def full_image_scores(self) -> dict:
        """Object scores on up to ``eval.max_images`` full validation images.

        ``eval.image_batch`` images go through the model together and ``eval.workers``
        processes post-process them meanwhile; neither changes the scores."""
        e = self.cfg.eval
        records = self.val_records[: e.max_images]
        items = []
        binarise = self.cfg.data.binarise
        with InstancePipeline(e.postprocess, e.workers) as pipeline:
            for start in range(0, len(records), max(e.image_batch, 1)):
                chunk = records[start : start + max(e.image_batch, 1)]
                probs = self.predict_probabilities([read_image(r.image) for r in chunk])
                for rec, prob in zip(chunk, probs, strict=True):
                    for r, _, labels in pipeline.submit(rec, prob):
                        items.append((r.name, read_mask(r.mask, binarise), labels))
            for r, _, labels in pipeline.results():
                items.append((r.name, read_mask(r.mask, binarise), labels))
        return score_images(items)

    def configure_optimizers(self):
        opt = torch.optim.Adam(
            self.parameters(), lr=self.lr, weight_decay=self.cfg.optim.weight_decay
        )
        if self.cfg.optim.schedule == "constant":
            return opt
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=total)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
