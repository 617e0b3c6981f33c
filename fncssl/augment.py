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
        image, m = self.transform(image, mask.float())
        return image, (m > 0.5).to(mask.dtype)

    @torch.no_grad()
    def transform(
        self, image: torch.Tensor, maps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like ``forward`` for float maps (B, C, H, W): same geometry (nearest resampling),
        photometry on the image only, maps not thresholded (e.g. pseudo-label weights)."""
        if not self.training:
            return image, maps
        if self.geometric is not None:
            image, maps = self.geometric(image, maps)
        return self.photometric(image).clamp(0.0, 1.0), maps


@dataclass
class ViewConfig:
    """Two-view generation for SSL from large crops (uint8 (B, 3, S, S))."""

    size: int = 192
    scale_min: float = 0.25
    flips: bool = True
    rot90: bool = True
    brightness: float = 0.3
    contrast: float = 0.3
    gamma: float = 0.3
    blur_p: float = 0.3
    noise_std: float = 0.02
    hue: float = 0.0  # off by default: colour carries no meaning in FNC


class SSLViews(nn.Module):
    """Random resized crops + flips + 90-degree rotations + intensity changes, batched.

    ``forward(crops_uint8)`` returns ``(view1, view2, m1, m2)``: float views (B, 3, s, s) in
    [0, 1] and the (B, 3, 3) matrices mapping input-crop pixel coordinates to each view's
    pixel coordinates (the geometry, so dense methods can match the same locations).
    """

    def __init__(self, cfg: ViewConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ViewConfig()
        geometric: list[nn.Module] = [
            K.RandomResizedCrop((cfg.size, cfg.size), scale=(cfg.scale_min, 1.0), p=1.0)
        ]
        if cfg.flips:
            geometric += [K.RandomHorizontalFlip(), K.RandomVerticalFlip()]
        if cfg.rot90:
            geometric.append(K.RandomRotation90(times=(0, 3), p=1.0))
        self.geometric = K.AugmentationSequential(*geometric, data_keys=["input"])
        photometric: list[nn.Module] = []
        if cfg.brightness > 0 or cfg.contrast > 0 or cfg.hue > 0:
            photometric.append(
                K.ColorJiggle(brightness=cfg.brightness, contrast=cfg.contrast, hue=cfg.hue, p=0.8)
            )
        if cfg.gamma > 0:
            photometric.append(K.RandomGamma((1 - cfg.gamma, 1 + cfg.gamma), p=0.5))
        if cfg.blur_p > 0:
            photometric.append(K.RandomGaussianBlur((7, 7), (0.1, 2.0), p=cfg.blur_p))
        if cfg.noise_std > 0:
            photometric.append(K.RandomGaussianNoise(std=cfg.noise_std, p=0.5))
        self.photometric = nn.Sequential(*photometric)

    def _view(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = self.geometric(x)
        matrix = self.geometric.transform_matrix
        return self.photometric(v).clamp(0.0, 1.0), matrix

    @torch.no_grad()
    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = crops.float() / 255.0 if crops.dtype == torch.uint8 else crops
        v1, m1 = self._view(x)
        v2, m2 = self._view(x)
        return v1, v2, m1, m2


def match_locations(
    m1: torch.Tensor, m2: torch.Tensor, grid1: int, grid2: int, view_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each cell of view 1's feature grid, the view-2 cell showing the same input pixel.

    ``m1``, ``m2``: (B, 3, 3) input->view matrices. Returns ``index`` (B, grid1*grid1) into
    view 2's flattened grid and ``valid`` (B, grid1*grid1), False where the location falls
    outside view 2.
    """
    b = m1.shape[0]
    step1, step2 = view_size / grid1, view_size / grid2
    c = (torch.arange(grid1, device=m1.device, dtype=torch.float32) + 0.5) * step1
    ys, xs = torch.meshgrid(c, c, indexing="ij")
    pts = torch.stack([xs.flatten(), ys.flatten(), torch.ones_like(xs.flatten())], 0)  # (3, N)
    to_view2 = m2.float() @ torch.linalg.inv(m1.float())  # (B, 3, 3)
    q = to_view2 @ pts.expand(b, -1, -1)
    x2, y2 = q[:, 0] / q[:, 2], q[:, 1] / q[:, 2]
    valid = (x2 >= 0) & (x2 < view_size) & (y2 >= 0) & (y2 < view_size)
    gx = (x2 / step2).floor().clamp(0, grid2 - 1).long()
    gy = (y2 / step2).floor().clamp(0, grid2 - 1).long()
    return gy * grid2 + gx, valid
