"""The ``fncssl pretrain`` config: the shared keys plus method, optimiser, views and probe."""

from __future__ import annotations

import dataclasses

from fncssl.augment import ViewConfig
from fncssl.config import ExperimentConfig
from fncssl.errors import ConfigError


@dataclasses.dataclass
class SSLConfig:
    """Method and its hyper-parameters. ``lr = base_lr * batch_size * devices / 256``."""

    method: str = "simclr"
    base_lr: float = 2e-3
    optimizer: str = "adamw"  # adamw | sgd
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    temperature: float = 0.2
    memory_bank_size: int = 0  # SimCLR: >0 adds a bank of negatives for small batches
    queue_size: int = 4096  # MoCo / DenseCL negatives
    momentum: float = 0.99  # start of the cosine momentum schedule (MoCo, BYOL, DenseCL)
    hidden_dim: int = 512
    proj_dim: int = 128
    dense_weight: float = 0.5  # DenseCL: weight of the dense loss (1 - it for the global one)
    source_crop: int = 384  # large foreground-biased crops the two views are cut from
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
    images: int = 6  # labelled trainval images used (half fit, half scored)
    crops: int = 8  # crops per half
    crop_size: int = 128
    steps: int = 150
    every_n_epochs: int = 1


@dataclasses.dataclass
class PretrainConfig(ExperimentConfig):
    ssl: SSLConfig = dataclasses.field(default_factory=SSLConfig)
    views: ViewConfig = dataclasses.field(default_factory=ViewConfig)
    probe: ProbeConfig = dataclasses.field(default_factory=ProbeConfig)
    log_every_n_steps: int = 10
