"""Batched Kornia augmentations that run wherever the batch is (GPU when there is one).

Segmentation: ``SegmentationAugment(cfg)(image, mask)`` takes float images (B, 3, H, W) in
[0, 1] and masks (B, 1, H, W) in {0, 1}; geometry (flips, 90-degree rotations, rotation,
zoom) is shared by image and mask, the mask is resampled with nearest neighbour and stays
exactly binary; photometric changes (brightness/contrast "lighting", optional gamma, blur and
noise) touch the image only. No hue changes: in FNC the colour carries no meaning beyond
separating signal from background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import kornia.augmentation as K
import torch
from torch import nn

from fncssl.config import setting


@dataclass
class SegAugmentConfig:
    """Augmentation switches; the defaults follow the FNC paper (lighting 0.1)."""

    flips: bool = True
    rot90: bool = True
    rotation_degrees: float = setting(15.0, ge=0.0, le=180.0)
    zoom: float = setting(0.1, ge=0.0, lt=1.0)  # scale in [1 - zoom, 1 + zoom]
    lighting: float = setting(0.1, ge=0.0, lt=1.0)
    gamma: float = setting(0.0, ge=0.0, lt=1.0)
    blur: bool = False
    noise_std: float = setting(0.0, ge=0.0)


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

    size: int = setting(192, ge=8)
    scale_min: float = setting(0.25, gt=0.0, le=1.0)
    flips: bool = True
    rot90: bool = True
    brightness: float = setting(0.3, ge=0.0, le=1.0)
    contrast: float = setting(0.3, ge=0.0, le=1.0)
    gamma: float = setting(0.3, ge=0.0, lt=1.0)
    blur_p: float = setting(0.3, ge=0.0, le=1.0)
    noise_std: float = setting(0.02, ge=0.0)
    hue: float = setting(0.0, ge=0.0, le=0.5)  # off by default: colour carries no meaning in FNC


def view_matrices(
    boxes: torch.Tensor, hflip: torch.Tensor, vflip: torch.Tensor, rot90: torch.Tensor, size: int
) -> torch.Tensor:
    """(B, 3, 3) input->view pixel matrices: crop ``boxes`` then flip, then rotate.

    ``boxes`` (B, 4) float ``(x0, y0, w, h)`` in input pixels (edges, so a box covering a
    whole S-px crop is ``(0, 0, S, S)``), resized to ``size`` px with pixel-centre alignment
    (as ``F.interpolate(..., align_corners=False)``); ``hflip``/``vflip`` (B,) bool mirror the
    view; ``rot90`` (B,) int k rotates it like ``torch.rot90(view, k, dims=(-2, -1))``.
    Pixel coordinates are indices (x right, y down), as Kornia's ``warp_affine`` uses.
    """
    b = boxes.shape[0]
    boxes = boxes.double()
    last = size - 1.0
    m = torch.zeros(b, 3, 3, dtype=torch.float64)
    ax, ay = size / boxes[:, 2], size / boxes[:, 3]
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = ax, ay, 1.0
    m[:, 0, 2] = (0.5 - boxes[:, 0]) * ax - 0.5
    m[:, 1, 2] = (0.5 - boxes[:, 1]) * ay - 0.5
    flip = torch.eye(3, dtype=torch.float64).repeat(b, 1, 1)
    flip[hflip, 0, 0], flip[hflip, 0, 2] = -1.0, last
    flip[vflip, 1, 1], flip[vflip, 1, 2] = -1.0, last
    # torch.rot90(k=1) on (y, x): view (u, v) shows (x, y) = (last - v, u), so u = y, v = last - x
    quarter = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, last], [0.0, 0.0, 1.0]], dtype=m.dtype)
    turns = torch.stack([torch.linalg.matrix_power(quarter, k) for k in range(4)])
    return (turns[rot90.long() % 4] @ flip @ m).float()


def warp_views(x: torch.Tensor, matrices: torch.Tensor, size: int) -> torch.Tensor:
    """One bilinear ``warp_affine`` of the batch ``x`` (B, C, S, S) by (B, 3, 3) matrices."""
    from kornia.geometry.transform import warp_affine

    m = matrices.to(device=x.device, dtype=x.dtype)[:, :2]
    return warp_affine(x, m, (size, size), mode="bilinear", padding_mode="border")


class SSLViews(nn.Module):
    """Random resized crops + flips + 90-degree rotations + intensity changes, batched.

    ``forward(crops_uint8)`` returns ``(view1, view2, m1, m2)``: float views (B, 3, s, s) in
    [0, 1] and the (B, 3, 3) matrices mapping input-crop pixel coordinates to each view's
    pixel coordinates (the geometry, so dense methods can match the same locations).

    Each view is ONE affine warp of the whole batch (crop, flips and rotation composed into a
    single matrix, :func:`view_matrices`), and every intensity change acts on the whole batch
    with per-sample factors: no per-sample Python loop. Random numbers come from torch's
    global generator (CPU; seeded by ``seed_everything``), the pixels stay on their device.
    Intensity steps: contrast then brightness (p=0.8), gamma (p=0.5), Gaussian blur 7x7
    (p=``blur_p``), Gaussian noise (p=0.5), optional hue (p=0.8), clamped to [0, 1].
    """

    def __init__(self, cfg: ViewConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ViewConfig()

    def sample_matrices(self, n: int, source: int) -> torch.Tensor:
        """(n, 3, 3) random input->view matrices for ``source``-px square crops."""
        cfg = self.cfg
        area = source * source * torch.empty(n).uniform_(cfg.scale_min, 1.0)
        ratio = torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3)).exp()
        w = (area * ratio).sqrt().clamp(1.0, source)
        h = (area / ratio).sqrt().clamp(1.0, source)
        x0 = torch.rand(n) * (source - w)
        y0 = torch.rand(n) * (source - h)
        boxes = torch.stack([x0, y0, w, h], 1)
        off = torch.zeros(n, dtype=torch.bool)
        hflip = torch.rand(n) < 0.5 if cfg.flips else off
        vflip = torch.rand(n) < 0.5 if cfg.flips else off
        k = torch.randint(0, 4, (n,)) if cfg.rot90 else torch.zeros(n, dtype=torch.long)
        return view_matrices(boxes, hflip, vflip, k, cfg.size)

    def intensity(self, v: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Per-sample random intensity changes of a float batch (B, 3, s, s), whole batch.

        ``scale`` first maps the input to [0, 1] (1/255 for warped uint8 pixels)."""
        cfg, b = self.cfg, v.shape[0]

        def factor(spread: float, p: float, neutral: float) -> torch.Tensor:
            f = torch.empty(b).uniform_(neutral - spread, neutral + spread)
            return torch.where(torch.rand(b) < p, f, torch.full_like(f, neutral))

        params = torch.stack(
            [
                factor(cfg.contrast, 0.8, 1.0),
                factor(cfg.brightness, 0.8, 0.0),
                factor(cfg.gamma, 0.5, 1.0),
                torch.empty(b).uniform_(0.1, 2.0),
                (torch.rand(b) < cfg.blur_p).float(),
                (torch.rand(b) < 0.5).float() * cfg.noise_std,
                factor(cfg.hue, 0.8, 0.0),
            ],
            1,
        ).to(v.device, non_blocking=True)
        p = params[:, :, None, None, None].unbind(1)
        v = (v * (p[0] * scale) + p[1]).clamp(0.0, 1.0)
        if cfg.gamma > 0:
            v = v.pow(p[2])
        if cfg.blur_p > 0:
            from kornia.filters import gaussian_blur2d

            sigma = params[:, 3:4].expand(-1, 2)
            v = torch.where(p[4] > 0, gaussian_blur2d(v, (7, 7), sigma), v)
        if cfg.noise_std > 0:
            v = v + torch.randn_like(v) * p[5]
        if cfg.hue > 0:
            from kornia.enhance import adjust_hue

            v = adjust_hue(v, params[:, 6] * 2 * math.pi)
        return v.clamp(0.0, 1.0)

    def _view(self, x: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        matrix = self.sample_matrices(x.shape[0], x.shape[-1])
        v = warp_views(x, matrix, self.cfg.size)
        return self.intensity(v, scale), matrix.to(x.device)

    @torch.no_grad()
    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if crops.shape[-1] != crops.shape[-2]:
            raise ValueError(f"SSL views need square crops, got {tuple(crops.shape)}")
        # uint8 crops are warped as 0..255 floats and scaled after the warp (a smaller tensor)
        scale = 1 / 255.0 if crops.dtype == torch.uint8 else 1.0
        x = crops.float()
        v1, m1 = self._view(x, scale)
        v2, m2 = self._view(x, scale)
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
