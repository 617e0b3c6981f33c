"""Data loading for fine-tuning: random labelled crops for training and fixed validation crops.

Training crops change every epoch (an :class:`EpochSampler` whose ``set_epoch`` Lightning calls
puts the epoch into the indices) and are reproducible for a seed; validation crops are fixed.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from fncssl.data.datasets import DecodedImageCache, EpochSampler, LabelledCrops
from fncssl.data.imageio import image_size
from fncssl.errors import FNCError
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.splits import Split


def check_crop_fits(split: Split, crop: int, multiple: int) -> None:
    """Fail before training when the crop cannot be cut from every image."""
    if crop % multiple:
        raise FNCError(f"data.crop_size={crop} must be a multiple of {multiple} for this model")
    for rec in split.train + split.val:
        h, w = image_size(rec.image)
        if min(h, w) < crop:
            raise FNCError(f"data.crop_size={crop} is larger than image {rec.image} ({w}x{h})")


class SegmentationData(pl.LightningDataModule):
    def __init__(
        self, split: Split, cfg: FinetuneConfig, cache: DecodedImageCache | None = None
    ) -> None:
        super().__init__()
        d = cfg.data
        self.cfg = cfg
        cache = cache if cache is not None else DecodedImageCache()
        pixels = not cfg.speed.device_crops
        self.train_set = LabelledCrops(
            split.train,
            d.crop_size,
            d.samples_per_epoch,
            d.foreground_bias,
            cfg.seed,
            cache=cache,
            binarise=d.binarise,
            pixels=pixels,
        )
        self.val_set = LabelledCrops(
            split.val,
            d.crop_size,
            d.val_samples,
            d.foreground_bias,
            cfg.seed + 10_000,
            cache=cache,
            binarise=d.binarise,
            pixels=pixels,
        )

    def _loader(self, dataset: LabelledCrops) -> DataLoader:
        d = self.cfg.data
        return DataLoader(
            dataset,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            sampler=self._sampler(dataset),
            persistent_workers=d.num_workers > 0,
            pin_memory=self.cfg.speed.pin_memory and torch.cuda.is_available(),
            drop_last=dataset is self.train_set and len(dataset) >= d.batch_size,
            collate_fn=_collate,
        )

    def _sampler(self, dataset: LabelledCrops) -> EpochSampler:
        rank, world = (
            (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        )
        return EpochSampler(len(dataset), rank, world, fixed=dataset is not self.train_set)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set)


def _collate(items: list[dict]) -> dict:
    """Stack pixels when the items carry them; keys (and crop origins) stay lists."""
    out: dict = {"key": [i["key"] for i in items]}
    if "image" in items[0]:
        out["image"] = torch.stack([i["image"] for i in items])
        out["mask"] = torch.stack([i["mask"] for i in items])
    else:
        out["origin"] = [i["origin"] for i in items]
    return out
