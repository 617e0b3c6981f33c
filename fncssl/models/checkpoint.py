"""Reading weights from every CHECKPOINT form and loading them strictly.

Forms: a run directory (its ``checkpoints/best.ckpt``, else ``last.ckpt``), a Lightning
``.ckpt`` (weights under ``state_dict`` with a ``model.`` prefix), an exported ``encoder.pt``
(``{"encoder": state_dict, "config": {...}}``), or a published FNC ``model.pth``
(``{"model": state_dict, "opt": ...}``). Everything goes through ``torch.load(...,
weights_only=True)``. A mismatch in names or shapes is an error naming the keys, never a
silent partial load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fncssl.errors import FNCError, first_few


@dataclass
class LoadedWeights:
    """Weights read from a checkpoint, what kind it was, and any saved config."""

    state_dict: dict[str, torch.Tensor]
    kind: str  # "lightning" | "encoder" | "published"
    path: Path
    config: dict[str, Any] = field(default_factory=dict)


def _torch_load(path: Path) -> Any:
    if not path.is_file():
        raise FNCError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign/corrupt files
        raise FNCError(
            f"{path}: not a loadable checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]})"
        ) from None


def resolve_checkpoint(spec: str | Path) -> Path:
    """A file path for a run directory or a checkpoint file."""
    p = Path(spec)
    if p.is_dir():
        for name in ("best.ckpt", "last.ckpt"):
            if (p / "checkpoints" / name).is_file():
                return p / "checkpoints" / name
        raise FNCError(f"{p}: a run directory without checkpoints/best.ckpt or last.ckpt")
    return p


def read_weights(spec: str | Path) -> LoadedWeights:
    """Read any CHECKPOINT form (see the module docstring)."""
    path = resolve_checkpoint(spec)
    obj = _torch_load(path)
    if not isinstance(obj, dict):
        raise FNCError(f"{path}: expected a dict checkpoint, got {type(obj).__name__}")
    if "state_dict" in obj:
        # "model." is the LightningModule attribute; "_orig_mod." appears under torch.compile
        sd = {
            k.removeprefix("model.").replace("_orig_mod.", ""): v
            for k, v in obj["state_dict"].items()
            if k.startswith("model.")
        }
        config = obj.get("hyper_parameters", {}).get("config", {})
        return LoadedWeights(sd, "lightning", path, config)
    if "encoder" in obj:
        return LoadedWeights(obj["encoder"], "encoder", path, obj.get("config", {}))
    if "model" in obj and isinstance(obj["model"], dict):
        return LoadedWeights(obj["model"], "published", path, {"model": {"arch": "cresunet"}})
    raise FNCError(
        f"{path}: unrecognised checkpoint (keys {sorted(obj)[:8]}); expected a "
        "Lightning .ckpt, an encoder.pt or a published model.pth"
    )


def load_strict(module: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> int:
    """Load every tensor of ``module`` from ``state_dict``; returns how many were loaded."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys: {first_few(missing, 5, in_all=True)}")
        if unexpected:
            parts.append(f"unexpected keys: {first_few(unexpected, 5, in_all=True)}")
        if wrong:
            parts.append(
                "shape mismatch: "
                + first_few(
                    [f"{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}" for k in wrong],
                    5,
                    in_all=True,
                )
            )
        raise FNCError(f"{source} does not fit the model: " + "; ".join(parts))
    module.load_state_dict(state_dict, strict=True)
    return len(state_dict)
