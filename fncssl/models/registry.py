"""Building a segmentation network from the ``model`` section of a config.

``arch``: ``cresunet`` (the published c-ResUnet, ``n_features_start`` wide) or ``smp-unet``
(a U-Net from segmentation_models_pytorch on the timm encoder ``encoder``, e.g. resnet18 or
efficientnet_b0, via smp's ``tu-`` prefix). Both take float (B, 3, H, W) in [0, 1] with H, W
multiples of 32 for smp-unet (8 for cresunet) and return logits (B, 1, H, W). Pretrained
weights are never downloaded unless ``encoder_weights`` names them (e.g. ``imagenet``).
"""

from __future__ import annotations

import torch
from torch import nn

from fncssl.config import ARCHS, ModelConfig
from fncssl.errors import ConfigError
from fncssl.models.cresunet import CResUnet


class SmpUnet(nn.Module):
    """smp.Unet with a timm encoder; ``encoder(x)`` returns its multi-scale features."""

    def __init__(self, encoder: str = "resnet18", encoder_weights: str = "") -> None:
        super().__init__()
        import segmentation_models_pytorch as smp

        self.net = smp.Unet(
            encoder_name=f"tu-{encoder}",
            encoder_weights=encoder_weights or None,
            in_channels=3,
            classes=1,
        )
        self.encoder = self.net.encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def size_multiple(arch: str) -> int:
    """Input sides must be a multiple of this."""
    return 8 if arch == "cresunet" else 32


def build_model(
    arch: str,
    n_features_start: int = 16,
    encoder: str = "resnet18",
    encoder_weights: str = "",
    bn_momentum: float = 0.0,
) -> nn.Module:
    """A fresh network for ``arch`` (see the module docstring).

    ``bn_momentum`` > 0 overrides every BatchNorm's momentum. The published c-ResUnet uses 0.01,
    which suits its 100-epoch schedule but leaves eval-mode statistics far from converged
    in runs of a few hundred steps.
    """
    model = _build(arch, n_features_start, encoder, encoder_weights)
    if bn_momentum > 0:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = bn_momentum
    return model


def require_pretrained(encoder: str, weights: str) -> None:
    """Make sure timm's pretrained weights for ``encoder`` are in the local Hugging Face cache,
    downloading them once if not; one clear :class:`ConfigError` when that is impossible."""
    import huggingface_hub
    import timm

    key = f"model.encoder_weights={weights}"
    try:
        cfg = timm.models.get_pretrained_cfg(encoder)
    except (RuntimeError, ValueError, KeyError):
        cfg = None
    hub_id = getattr(cfg, "hf_hub_id", None)
    if not hub_id:
        raise ConfigError(f"{key}: timm has no downloadable pretrained weights for {encoder!r}")
    files = ("model.safetensors", "pytorch_model.bin")
    if any(isinstance(huggingface_hub.try_to_load_from_cache(hub_id, f), str) for f in files):
        return
    reason = ""
    for f in files:
        try:
            huggingface_hub.hf_hub_download(hub_id, f, etag_timeout=10)
            return
        except Exception as exc:  # offline, proxy, missing file: all mean "not available"
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    raise ConfigError(
        f"{key}: the weights of {encoder!r} ({hub_id}) are not in the local cache "
        f"(HF_HOME, default ~/.cache/huggingface) and could not be downloaded ({reason}). "
        "Fetch them once on a machine with network access, or leave model.encoder_weights empty"
    )


def _build(arch: str, n_features_start: int, encoder: str, encoder_weights: str) -> nn.Module:
    if arch == "cresunet":
        return CResUnet(n_features_start)
    if arch == "smp-unet":
        if encoder_weights:
            require_pretrained(encoder, encoder_weights)
        try:
            return SmpUnet(encoder, encoder_weights)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"model.encoder={encoder!r}: not a usable timm encoder ({exc})"
            ) from None
    raise ConfigError(f"model.arch={arch!r} is unknown; valid: {list(ARCHS)}")


def model_from_config(m: ModelConfig) -> nn.Module:
    """A fresh network from the ``model`` section of a config (weights not loaded)."""
    return build_model(m.arch, m.n_features_start, m.encoder, m.encoder_weights, m.bn_momentum)
