"""Batched Kornia augmentations that run wherever the batch is (GPU when there is one).

Segmentation: ``SegmentationAugment(cfg)(image, mask)`` takes float images (B, 3, H, W) in
[0, 1] and masks (B, 1, H, W) in {0, 1}; geometry (flips, 90-degree rotations, rotation,
zoom) is shared by image and mask, the mask is resampled with nearest neighbour and stays
exactly binary; photometric changes (brightness/contrast "lighting", optional gamma, blur and
noise) touch the image only. No hue changes: in FNC the colour carries no meaning beyond
separating signal from background.
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import torch
from torch import nn


@dataclass
class SegAugmentConfig:
    """Augmentation switches; the defaults follow the FNC paper (lighting 0.1)."""

    flips: bool = True
    rot90: bool = True
    rotation_degrees: float = 15.0
    zoom: float = 0.1
    lighting: float = 0.1
    gamma: float = 0.0
    blur: bool = False
    noise_std: float = 0.0


class SegmentationAugment(nn.Module):
    """Image + mask augmentation; identity in eval mode."""

    def __init__(self, cfg: SegAugmentConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or SegAugmentConfig()
        geometric: list[nn.Module] = []
        if cfg.flips:
            geometric += [K.RandomHorizontalFlip(), K.RandomVerticalFlip()]
        if cfg.rot90:
            geometric.append(K.RandomRotation90(times=(0, 3), p=1.0))
        if cfg.rotation_degrees > 0 or cfg.zoom > 0:
            geometric.append(
                K.RandomAffine(
                    degrees=cfg.rotation_degrees,
                    scale=(1 - cfg.zoom, 1 + cfg.zoom) if cfg.zoom > 0 else None,
                    padding_mode="reflection",
                    p=0.75,
                )
            )
        self.geometric = (
            K.AugmentationSequential(*geometric, data_keys=["input", "mask"]) if geometric else None
        )
        photometric: list[nn.Module] = []
        if cfg.lighting > 0:
            photometric += [
                K.RandomBrightness((1 - cfg.lighting, 1 + cfg.lighting), p=0.75),
                K.RandomContrast((1 - cfg.lighting, 1 + cfg.lighting), p=0.75),
            ]
        if cfg.gamma > 0:
            photometric.append(K.RandomGamma((1 - cfg.gamma, 1 + cfg.gamma), p=0.5))
        if cfg.blur:
            photometric.append(K.RandomGaussianBlur((5, 5), (0.1, 1.5), p=0.3))
        if cfg.noise_std > 0:
            photometric.append(K.RandomGaussianNoise(std=cfg.noise_std, p=0.3))
        self.photometric = nn.Sequential(*photometric)

    @torch.no_grad()
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return image, mask
        m = mask.float()
        if self.geometric is not None:
            image, m = self.geometric(image, m)
        image = self.photometric(image).clamp(0.0, 1.0)
        return image, (m > 0.5).to(mask.dtype)
