"""Offline ImageNet weights for the ``imagenet:<timm name>`` initialisation of a study."""

from __future__ import annotations

import os
from pathlib import Path

from fncssl.errors import FNCError


def check_imagenet_weights(name: str, where: str) -> None:
    """ImageNet weights for timm model ``name`` must already be in a local cache (this
    project never downloads them during a study)."""
    hub = Path(os.environ.get("HF_HUB_CACHE") or "")
    roots = [hub] if str(hub) else []
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    roots += [hf_home / "hub"]
    torch_home = Path(os.environ.get("TORCH_HOME") or Path.home() / ".cache" / "torch")
    found = any(any(r.glob(f"models--timm--{name}*")) for r in roots if r.is_dir()) or any(
        (torch_home / "hub" / "checkpoints").glob(f"{name}*")
    )
    if not found:
        raise FNCError(
            f"{where}: init imagenet:{name}: no ImageNet weights for timm model {name!r} in the "
            f"local caches ({', '.join(str(r) for r in roots)}, {torch_home}/hub/checkpoints); "
            "download them once with timm.create_model(name, pretrained=True) where a network "
            "is available, or drop this init value"
        )
