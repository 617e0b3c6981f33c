"""Training batches with labelled and unlabelled (or pseudo-labelled) crops side by side.

``train_dataloader`` returns ``{"labelled": loader, "unlabelled": loader}`` (Lightning cycles
the shorter one). The unlabelled loader draws ``round(unlabelled_ratio * batch_size)`` crops
per step from a dataset of ``unlabelled_ratio * samples_per_epoch`` items, so both loaders
have the same number of batches per epoch. Validation is the fine-tuning one.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from fncssl.data.datasets import EpochSampler
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.datamodule import SegmentationData
from fncssl.finetune.splits import Split


def unlabelled_samples(cfg: FinetuneConfig) -> int:
    """Items per epoch of the unlabelled dataset."""
    return max(1, round(cfg.semisup.unlabelled_ratio * cfg.data.samples_per_epoch))


class SemiSupervisedData(SegmentationData):
    def __init__(self, split: Split, cfg: FinetuneConfig, unlabelled: Dataset) -> None:
        super().__init__(split, cfg)
        self.unlabelled_set = unlabelled
        self.unlabelled_batch = max(1, round(cfg.semisup.unlabelled_ratio * cfg.data.batch_size))

    def train_dataloader(self) -> dict[str, DataLoader]:
        d = self.cfg.data
        rank, world = (
            (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        )
        n = len(self.unlabelled_set)  # type: ignore[arg-type]
        unlabelled = DataLoader(
            self.unlabelled_set,
            batch_size=self.unlabelled_batch,
            num_workers=d.num_workers,
            sampler=EpochSampler(n, rank, world),
            persistent_workers=d.num_workers > 0,
            pin_memory=self.cfg.speed.pin_memory and torch.cuda.is_available(),
            drop_last=n >= self.unlabelled_batch,
        )
        return {"labelled": super().train_dataloader(), "unlabelled": unlabelled}
