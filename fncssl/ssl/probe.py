"""Online quality signal: a linear per-pixel cell/background probe on frozen encoder features.

Each evaluation fits a fresh logistic regression (class-balanced) on the detached features of
labelled crops from a few trainval images and scores pixel Dice on crops of other trainval
images; test images are never touched. Features: the encoder's last two maps, the deeper one
upsampled to the other's resolution and concatenated; the target is the mask average-pooled
to that resolution (> 0.5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fncssl.data.datasets import LabelledCrops
from fncssl.data.layout import ImageRecord
from fncssl.ssl.config import ProbeConfig


class PixelProbe:
    def __init__(
        self, records: list[ImageRecord], cfg: ProbeConfig, seed: int, binarise: bool = False
    ) -> None:
        half = max(len(records) // 2, 1)
        fit, score = records[:half], records[half:] or records[:half]
        self.cfg = cfg
        self.fit_set = LabelledCrops(
            fit, cfg.crop_size, cfg.crops, 0.7, seed + 101, binarise=binarise
        )
        self.score_set = LabelledCrops(
            score, cfg.crop_size, cfg.crops, 0.7, seed + 202, binarise=binarise
        )

    @staticmethod
    def _batch(ds: LabelledCrops) -> tuple[torch.Tensor, torch.Tensor]:
        items = [ds[i] for i in range(len(ds))]
        return (
            torch.stack([i["image"] for i in items]).float() / 255.0,
            torch.stack([i["mask"] for i in items]).float(),
        )

    @torch.no_grad()
    def features(self, encoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
        was_training = encoder.training
        encoder.eval()
        feats = encoder(images)
        encoder.train(was_training)
        a, b = feats[-2], feats[-1]
        b = F.interpolate(b, size=a.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([a, b], 1).float()

    def evaluate(self, encoder: nn.Module, device: torch.device) -> dict[str, float]:
        """Fit on one half, score on the other: pixel Dice and balanced accuracy.

        The probe's initialisation draws from a forked, fixed-seed stream, so the training
        run's global random stream (augmentations) continues untouched.
        """
        devices = [device] if torch.device(device).type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(0)
            return self._evaluate(encoder, device)

    def _evaluate(self, encoder: nn.Module, device: torch.device) -> dict[str, float]:
        (xf, mf), (xs, ms) = self._batch(self.fit_set), self._batch(self.score_set)
        f_fit = self.features(encoder, xf.to(device))
        f_score = self.features(encoder, xs.to(device))
        size = f_fit.shape[-2:]
        y_fit = (F.adaptive_avg_pool2d(mf.to(device), size) > 0.5).float()
        y_score = (F.adaptive_avg_pool2d(ms.to(device), size) > 0.5).float()
        mean = f_fit.mean((0, 2, 3), keepdim=True)
        std = f_fit.std((0, 2, 3), keepdim=True) + 1e-6
        f_fit, f_score = (f_fit - mean) / std, (f_score - mean) / std
        probe = nn.Conv2d(f_fit.shape[1], 1, 1).to(device)
        pos = y_fit.mean().clamp(1e-4, 1 - 1e-4)
        weight = ((1 - pos) / pos).detach()
        opt = torch.optim.Adam(probe.parameters(), lr=0.05)
        with torch.enable_grad():
            for _ in range(self.cfg.steps):
                opt.zero_grad()
                loss = F.binary_cross_entropy_with_logits(probe(f_fit), y_fit, pos_weight=weight)
                loss.backward()
                opt.step()
        with torch.no_grad():
            pred = (probe(f_score) > 0).float()
        inter = (pred * y_score).sum()
        dice = float(2 * inter / (pred.sum() + y_score.sum()).clamp_min(1))
        tpr = float(inter / y_score.sum().clamp_min(1))
        tnr = float(((1 - pred) * (1 - y_score)).sum() / (1 - y_score).sum().clamp_min(1))
        return {"probe/dice": dice, "probe/balanced_accuracy": 0.5 * (tpr + tnr)}
