"""Sliding-window inference for any model mapping (B, 3, H, W) to (B, C, H, W).

Tiles of at most ``tile`` px (shrunk so that they share each side evenly, sides a multiple
of ``multiple``) overlap by at least ``overlap`` px and are blended with weights that are zero in
the outer ``overlap // 4`` px of every seam-side tile edge, then ramp linearly to one; edges on
the image border keep weight one. So a model whose receptive field reaches no further than
``overlap // 4`` px gives exactly the untiled result. Tiles go through the model in batches of
``batch_size``; the accumulators live on the CPU, so peak device memory is bounded by the tile
size and batch, not by the image size. Images smaller than a tile, or whose sides are not a
multiple of ``multiple`` (the model's downsampling factor), are reflect-padded.
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
    device = torch.device(device) if device is not None else next(model.parameters()).device
    _, h, w = image.shape
    m = cfg.multiple
    tile_h = min(cfg.tile, math.ceil(h / m) * m)
    tile_w = min(cfg.tile, math.ceil(w / m) * m)
    ph, pw = max(tile_h, math.ceil(h / m) * m), max(tile_w, math.ceil(w / m) * m)
    x = image.float()
    if (ph, pw) != (h, w):
        mode = "reflect" if ph - h < h and pw - w < w else "replicate"
        x = F.pad(x[None], (0, pw - w, 0, ph - h), mode=mode)[0]
    margin, ramp = cfg.overlap // 4, max(cfg.overlap - 2 * (cfg.overlap // 4), 0)
    tile_h, ys = _axis_layout(ph, tile_h, cfg.overlap, m)
    tile_w, xs = _axis_layout(pw, tile_w, cfg.overlap, m)
    positions = [(y, x0) for y in ys for x0 in xs]
    out: torch.Tensor | None = None
    weight = torch.zeros(1, ph, pw)
    for i in range(0, len(positions), cfg.batch_size):
        chunk = positions[i : i + cfg.batch_size]
        batch = torch.stack([x[:, y : y + tile_h, x0 : x0 + tile_w] for y, x0 in chunk]).to(device)
        with _autocast(device, autocast):
            pred = model(batch)
        pred = pred.float().cpu()
        if out is None:
            out = torch.zeros(pred.shape[1], ph, pw)
        for (y, x0), p in zip(chunk, pred, strict=True):
            wy = _ramp(tile_h, margin, ramp, y > 0, y + tile_h < ph)
            wx = _ramp(tile_w, margin, ramp, x0 > 0, x0 + tile_w < pw)
            wgt = wy[:, None] * wx[None, :]
            out[:, y : y + tile_h, x0 : x0 + tile_w] += p * wgt
            weight[:, y : y + tile_h, x0 : x0 + tile_w] += wgt
    assert out is not None
    return (out / weight.clamp_min(1e-8))[:, :h, :w]
