"""The ``fncssl pretrain`` config: the shared keys plus method, optimiser, views and probe."""

from __future__ import annotations

import dataclasses

from fncssl.augment import ViewConfig
from fncssl.config import ExperimentConfig, setting
from fncssl.errors import ConfigError

SSL_METHODS = ("simclr", "moco", "byol", "barlowtwins", "vicreg", "densecl")
CONTRASTIVE = ("simclr", "moco", "densecl")
MOMENTUM = ("moco", "byol", "densecl")
QUEUE = ("moco", "densecl")


@dataclasses.dataclass
class SSLConfig:
    """Method and its hyper-parameters. ``lr = base_lr * batch_size * devices / 256``."""

    method: str = setting("simclr", choices=SSL_METHODS)
    base_lr: float = setting(2e-3, gt=0.0)
    optimizer: str = "adamw"  # adamw | sgd
    weight_decay: float = setting(1e-4, ge=0.0)
    warmup_epochs: int = setting(1, ge=0)
    temperature: float = setting(0.2, gt=0.0, used_if=("method", CONTRASTIVE))
    # SimCLR: >0 adds a bank of negatives for small batches
    memory_bank_size: int = setting(0, ge=0, used_if=("method", ("simclr",)))
    queue_size: int = setting(4096, ge=1, used_if=("method", QUEUE))  # MoCo / DenseCL negatives
    # start of the cosine momentum schedule (MoCo, BYOL, DenseCL)
    momentum: float = setting(0.99, used_if=("method", MOMENTUM))
    hidden_dim: int = setting(512, ge=1)
    proj_dim: int = setting(128, ge=1)
    # DenseCL: weight of the dense loss (1 - it for the global one)
    dense_weight: float = setting(0.5, ge=0.0, le=1.0, used_if=("method", ("densecl",)))
    source_crop: int = setting(384, ge=8)  # large foreground-biased crops the views are cut from
    include_trainval: bool = False  # also use trainval images, without their labels
    extra_images: list[str] = dataclasses.field(default_factory=list)
    sync_batchnorm: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in ("adamw", "sgd"):
            raise ConfigError(f"ssl.optimizer must be adamw or sgd, got {self.optimizer!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"ssl.momentum must be in [0, 1), got {self.momentum}")


@dataclasses.dataclass
class ProbeConfig:
    """Online linear per-pixel probe on detached encoder features (never on test images)."""

    enabled: bool = True
    # labelled trainval images used (half fit, half scored)
    images: int = setting(6, ge=2)
    crops: int = setting(8, ge=1)  # crops per half
    crop_size: int = setting(128, ge=8)
    steps: int = setting(150, ge=1)
    every_n_epochs: int = setting(1, ge=0)  # 0: before training only


@dataclasses.dataclass
class PretrainConfig(ExperimentConfig):
    """Everything ``fncssl pretrain`` reads; ``unread_keys`` are shared keys it never reads."""

    command = "fncssl pretrain"
    unread_keys = (
        "data.label_fraction",
        "data.val_fraction",
        "data.val_samples",
        "data.crop_size",
        "model.init",
    )
    ssl: SSLConfig = dataclasses.field(default_factory=SSLConfig)
    views: ViewConfig = dataclasses.field(default_factory=ViewConfig)
    probe: ProbeConfig = dataclasses.field(default_factory=ProbeConfig)
    log_every_n_steps: int = 10
