"""The ``fncssl finetune`` config: the shared keys plus loss, optimiser, augmentation,
validation and speed settings. See ``configs/finetune.yaml`` for the paper's settings."""

from __future__ import annotations

import dataclasses

from fncssl.augment import SegAugmentConfig
from fncssl.config import ExperimentConfig
from fncssl.errors import ConfigError
from fncssl.evaluation.postprocess import PostprocessConfig
from fncssl.semisup.config import SemisupConfig


@dataclasses.dataclass
class LossConfig:
    """Weighted sum of dice, bce, focal and tversky (see fncssl.finetune.losses)."""

    weights: dict[str, float] = dataclasses.field(default_factory=lambda: {"dice": 1.0})
    pos_weight: float = 1.0
    focal_gamma: float = 2.0
    tversky_alpha: float = 0.3
    tversky_beta: float = 0.7


@dataclasses.dataclass
class OptimConfig:
    """Adam with a one-cycle schedule (``schedule: constant`` to switch it off)."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    lr_find: bool = False

    def __post_init__(self) -> None:
        if self.schedule not in ("onecycle", "constant"):
            raise ConfigError(f"optim.schedule must be onecycle or constant, got {self.schedule!r}")
        if self.lr <= 0:
            raise ConfigError(f"optim.lr must be positive, got {self.lr}")


@dataclasses.dataclass
class EvalConfig:
    """Full-image validation (tiled inference + post-processing) every N epochs."""

    every_n_epochs: int = 5
    max_images: int = 8
    tile: int = 512
    overlap: int = 64
    postprocess: PostprocessConfig = dataclasses.field(default_factory=PostprocessConfig)


@dataclasses.dataclass
class SpeedConfig:
    """GPU switches; all harmless on CPU (channels_last and pinning only act on CUDA)."""

    channels_last: bool = True
    compile: bool = False
    pin_memory: bool = True


@dataclasses.dataclass
class FinetuneConfig(ExperimentConfig):
    """Everything ``fncssl finetune`` reads."""

    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    augment: SegAugmentConfig = dataclasses.field(default_factory=SegAugmentConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    speed: SpeedConfig = dataclasses.field(default_factory=SpeedConfig)
    early_stopping_patience: int = 20
    log_every_n_steps: int = 10
    image_log_every_n_epochs: int = 5
    semisup: SemisupConfig = dataclasses.field(default_factory=SemisupConfig)
