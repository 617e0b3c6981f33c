"""Sliding-window inference for any model mapping (B, 3, H, W) to (B, C, H, W).

Tiles of at most ``tile`` px (shrunk so that they share each side evenly, sides a multiple
of ``multiple``) overlap by at least ``overlap`` px and are blended with weights that are zero in
the outer ``overlap // 4`` px of every seam-side tile edge, then ramp linearly to one; edges on
the image border keep weight one. So a model whose receptive field reaches no further than
``overlap // 4`` px gives exactly the untiled result. Tiles (of one image, or of a batch of
same-size images) go through the model in batches of ``batch_size``, so peak activation memory
is bounded by the tile size and batch, not by the image size; ``tile <= 0`` runs whole images.
Images smaller than a tile, or whose sides are not a multiple of ``multiple`` (the model's
downsampling factor), are reflect-padded.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TileConfig:
    """Sliding-window settings (pixels)."""

    tile: int = 512
    overlap: int = 64
    batch_size: int = 4
    multiple: int = 8


def _axis_layout(length: int, max_tile: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """(tile length, starts) covering ``length`` with the fewest tiles of at most ``max_tile``.

    Tiles are shrunk to share the length evenly (each overlap at least ``overlap``), so a
    1200-px side with 512-px tiles uses three 424-px tiles rather than three 512-px ones.
    """
    if length <= max_tile:
        return length, [0]
    n = math.ceil((length - overlap) / (max_tile - overlap))
    tile = min(max_tile, math.ceil((length + (n - 1) * overlap) / n / multiple) * multiple)
    starts = [(i * (length - tile)) // (n - 1) for i in range(n)]
    return tile, starts


def _ramp(length: int, margin: int, ramp: int, low_edge: bool, high_edge: bool) -> torch.Tensor:
    w = torch.ones(length)
    profile = torch.cat([torch.zeros(margin), torch.linspace(0, 1, ramp + 2)[1:-1]])
    n = min(len(profile), length)
    if low_edge:
        w[:n] = profile[:n]
    if high_edge:
        w[length - n :] = torch.minimum(w[length - n :], profile[:n].flip(0))
    return w


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_tiled(
    model: torch.nn.Module,
    image: torch.Tensor,
    cfg: TileConfig = TileConfig(),
    device: torch.device | str | None = None,
    autocast: bool = True,
) -> torch.Tensor:
    """Model output (C, H, W) float32 on the CPU for one image (3, H, W) of any size.

    ``image`` is float (already normalised as the model expects). ``autocast`` applies bf16
    autocast on CUDA only.
    """
    if image.ndim != 3:
        raise ValueError(f"expected one image (3, H, W), got shape {tuple(image.shape)}")
    return predict_tiled_batch(model, image[None], cfg, device, autocast)[0]


def _tile_weights(
    ph: int, pw: int, tile_h: int, tile_w: int, positions: list[tuple[int, int]], overlap: int
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Blending weight of every tile (tile_h, tile_w) and their sum over the image (ph, pw)."""
    margin, ramp = overlap // 4, max(overlap - 2 * (overlap // 4), 0)
    weights, total = [], torch.zeros(ph, pw)
    for y, x0 in positions:
        wy = _ramp(tile_h, margin, ramp, y > 0, y + tile_h < ph)
        wx = _ramp(tile_w, margin, ramp, x0 > 0, x0 + tile_w < pw)
        weights.append(wy[:, None] * wx[None, :])
        total[y : y + tile_h, x0 : x0 + tile_w] += weights[-1]
    return weights, total


@torch.no_grad()
def predict_tiled_batch(
    model: torch.nn.Module,
    images: torch.Tensor,
    cfg: TileConfig = TileConfig(),
    device: torch.device | str | None = None,
    autocast: bool = True,
) -> torch.Tensor:
    """Model output (B, C, H, W) float32 on the CPU for a batch of same-size images (B, 3, H, W).

    The images are copied to ``device`` once, their tiles are cut there and share forward
    passes of ``cfg.batch_size`` tiles, and the blending accumulators live there too
    (B x (3 + C) x H x W floats besides the model's activations). ``cfg.tile <= 0`` runs
    each image whole (padded to a multiple of ``cfg.multiple``): fastest on a GPU when it fits.
    Each image's result equals :func:`predict_tiled` on it alone (same tiles, same weights).
    """
    if images.ndim != 4:
        raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(images.shape)}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    b, _, h, w = images.shape
    m = cfg.multiple
    ch, cw = math.ceil(h / m) * m, math.ceil(w / m) * m
    tile_h = min(cfg.tile, ch) if cfg.tile > 0 else ch
    tile_w = min(cfg.tile, cw) if cfg.tile > 0 else cw
    ph, pw = max(tile_h, ch), max(tile_w, cw)
    x = images.float()
    if (ph, pw) != (h, w):
        mode = "reflect" if ph - h < h and pw - w < w else "replicate"
        x = F.pad(x, (0, pw - w, 0, ph - h), mode=mode)
    x = x.to(device)  # one copy of the images; tiles are cut on the device
    tile_h, ys = _axis_layout(ph, tile_h, cfg.overlap, m)
    tile_w, xs = _axis_layout(pw, tile_w, cfg.overlap, m)
    positions = [(y, x0) for y in ys for x0 in xs]
    weights, total = _tile_weights(ph, pw, tile_h, tile_w, positions, cfg.overlap)
    weights = [wgt.to(device) for wgt in weights]
    jobs = [(i, j) for i in range(b) for j in range(len(positions))]  # (image, tile)
    out: torch.Tensor | None = None
    for start in range(0, len(jobs), max(cfg.batch_size, 1)):
        chunk = jobs[start : start + max(cfg.batch_size, 1)]
        corners = [(i, *positions[j]) for i, j in chunk]
        batch = torch.stack([x[i, :, y : y + tile_h, x0 : x0 + tile_w] for i, y, x0 in corners])
        with _autocast(device, autocast):
            pred = model(batch)
        pred = pred.float()
        if out is None:
            out = torch.zeros(b, pred.shape[1], ph, pw, device=device)
        for (i, j), p in zip(chunk, pred, strict=True):
            y, x0 = positions[j]
            out[i, :, y : y + tile_h, x0 : x0 + tile_w] += p * weights[j]
    assert out is not None
    out = out.cpu() / total.clamp_min(1e-8)
    return out[:, :, :h, :w]
