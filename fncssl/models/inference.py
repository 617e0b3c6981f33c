"""Running a segmentation network on whole images.

Models take float (B, 3, H, W) in [0, 1] and return cell logits (B, 1, H, W);
``probability_map`` turns one uint8 (H, W, 3) image of any size into p(cell) (H, W) float32
with tiled inference, ``probability_maps`` does a list of images with the tiles of same-size
images batched together (fewer, fuller forward passes on a GPU), and ``load_model`` rebuilds
a network from any whole-model checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from fncssl.errors import FNCError
from fncssl.models.checkpoint import load_strict, read_weights
from fncssl.models.registry import build_model, size_multiple
from fncssl.models.tiling import TileConfig, predict_tiled, predict_tiled_batch


def to_model_input(image_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 in [0, 1]."""
    return image_uint8.float().div_(255.0)


@torch.no_grad()
def probability_map(
    model: nn.Module, image: np.ndarray, tiles: TileConfig, device: torch.device | str | None = None
) -> np.ndarray:
    """p(cell) (H, W) float32 for one uint8 (H, W, 3) image; the model is put in eval mode."""
    was_training = model.training
    model.eval()
    x = to_model_input(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))))
    logits = predict_tiled(model, x, tiles, device)
    model.train(was_training)
    return torch.sigmoid(logits[0]).numpy()


@torch.no_grad()
def probability_maps(
    model: nn.Module,
    images: list[np.ndarray],
    tiles: TileConfig,
    device: torch.device | str | None = None,
) -> list[np.ndarray]:
    """p(cell) (H, W) float32 for each uint8 (H, W, 3) image, in order.

    Consecutive images of the same size share forward passes (their tiles are batched); each
    map equals :func:`probability_map` of that image alone (to float rounding)."""
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = []
    i = 0
    while i < len(images):
        j = i + 1
        while j < len(images) and images[j].shape == images[i].shape:
            j += 1
        batch = torch.from_numpy(np.stack([im.transpose(2, 0, 1) for im in images[i:j]]))
        logits = predict_tiled_batch(model, to_model_input(batch), tiles, device)
        out += list(torch.sigmoid(logits[:, 0]).numpy())
        i = j
    model.train(was_training)
    return out


def load_model(spec: str | Path) -> tuple[nn.Module, str]:
    """(network with the checkpoint's weights, arch) from a run, .ckpt or model.pth."""
    model, arch, _ = load_model_with_config(spec)
    return model, arch


def load_model_with_config(spec: str | Path) -> tuple[nn.Module, str, dict]:
    """(network, arch, the config saved with the checkpoint; ``{}``-like for model.pth)."""
    weights = read_weights(spec)
    if weights.kind == "encoder":
        raise FNCError(
            f"{weights.path} holds an SSL encoder only; fine-tune it first "
            "(fncssl finetune ... model.init=ssl:PATH)"
        )
    m = weights.config.get("model", {})
    arch = m.get("arch", "cresunet")
    n_features = m.get("n_features_start")
    if n_features is None and arch == "cresunet":
        key = "encoder.conv_block.conv_block.conv2d_2.weight"
        if key not in weights.state_dict:
            raise FNCError(f"{weights.path}: not a c-ResUnet state dict (no {key})")
        n_features = int(weights.state_dict[key].shape[0])
    model = build_model(arch, n_features or 16, m.get("encoder", "resnet18"))
    load_strict(model, weights.state_dict, str(weights.path))
    return model.eval(), arch, weights.config


def tile_config(arch: str, tile: int = 512, overlap: int = 64) -> TileConfig:
    return TileConfig(tile, overlap, multiple=size_multiple(arch))
