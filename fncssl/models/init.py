"""Initialising a network: ``scratch``, ``ssl:<encoder.pt>`` or ``checkpoint:<path>``.

``ssl:`` loads an exported SSL encoder into ``model.encoder`` (every encoder tensor, names and
shapes checked); ``checkpoint:`` loads a whole model from any CHECKPOINT form (a run, a
Lightning ``.ckpt`` or a published ``model.pth``). Mismatches are errors naming the keys.
"""

from __future__ import annotations

from torch import nn

from fncssl.errors import FNCError
from fncssl.models.checkpoint import load_strict, read_weights


def initialise(model: nn.Module, init: str, arch: str) -> str:
    """Apply ``init`` to ``model``; returns a one-line description of what was loaded."""
    kind, _, path = init.partition(":")
    if kind == "scratch" and not path:
        return "initialised from scratch (random weights)"
    if kind not in ("ssl", "checkpoint") or not path:
        raise FNCError(
            f"model.init={init!r}: expected scratch, ssl:<encoder.pt> or "
            "checkpoint:<run dir, .ckpt or model.pth>"
        )
    weights = read_weights(path)
    saved_arch = weights.config.get("model", {}).get("arch")
    if saved_arch and saved_arch != arch:
        raise FNCError(f"{weights.path} holds a {saved_arch} model, but model.arch is {arch}")
    if kind == "ssl":
        if weights.kind != "encoder":
            raise FNCError(
                f"{weights.path} is a {weights.kind} checkpoint, not an SSL encoder.pt; "
                "use model.init=checkpoint:... for whole models"
            )
        n = load_strict(model.encoder, weights.state_dict, str(weights.path))
        return f"loaded {n} encoder tensors from {weights.path}"
    if weights.kind == "encoder":
        raise FNCError(f"{weights.path} holds an encoder only; use model.init=ssl:{path}")
    n = load_strict(model, weights.state_dict, str(weights.path))
    return f"loaded {n} tensors from {weights.path} ({weights.kind} checkpoint)"
