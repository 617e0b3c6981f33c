"""Pretraining methods by name. Each class documents its losses and heads (all from lightly)."""

from __future__ import annotations

from fncssl.errors import ConfigError
from fncssl.ssl.base import SSLMethod
from fncssl.ssl.methods.barlowtwins import BarlowTwins
from fncssl.ssl.methods.byol import BYOL
from fncssl.ssl.methods.densecl import DenseCL
from fncssl.ssl.methods.moco import MoCo
from fncssl.ssl.methods.simclr import SimCLR
from fncssl.ssl.methods.vicreg import VICReg

METHODS: dict[str, type[SSLMethod]] = {
    "simclr": SimCLR,
    "moco": MoCo,
    "byol": BYOL,
    "barlowtwins": BarlowTwins,
    "vicreg": VICReg,
    "densecl": DenseCL,
}


def method_class(name: str) -> type[SSLMethod]:
    if name not in METHODS:
        raise ConfigError(f"ssl.method={name!r} is unknown; valid: {sorted(METHODS)}")
    return METHODS[name]
