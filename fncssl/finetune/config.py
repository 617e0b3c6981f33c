"""The ``fncssl finetune`` config: the shared keys plus loss, optimiser, augmentation,
validation and speed settings. See ``configs/finetune.yaml`` for the paper's settings."""

from __future__ import annotations

import dataclasses

from fncssl.augment import SegAugmentConfig
from fncssl.config import DataConfig, ExperimentConfig, setting
from fncssl.errors import ConfigError
from fncssl.evaluation.postprocess import PostprocessConfig
from fncssl.finetune.losses import LOSS_NAMES
from fncssl.semisup.config import SemisupConfig


@dataclasses.dataclass
class LossConfig:
    """Weighted sum of dice, bce, focal and tversky (see fncssl.finetune.losses)."""

    weights: dict[str, float] = setting(  # noqa: RUF009 (a field, as dataclasses.field)
        default_factory=lambda: {"dice": 1.0}, keys=LOSS_NAMES, ge=0.0
    )
    pos_weight: float = setting(1.0, gt=0.0, used_if=("weights", ("bce",)))
    focal_gamma: float = setting(2.0, ge=0.0, used_if=("weights", ("focal",)))
    tversky_alpha: float = setting(0.3, ge=0.0, used_if=("weights", ("tversky",)))
    tversky_beta: float = setting(0.7, ge=0.0, used_if=("weights", ("tversky",)))


@dataclasses.dataclass
class OptimConfig:
    """Adam with a one-cycle schedule (``schedule: constant`` to switch it off)."""

    lr: float = 1e-3
    weight_decay: float = setting(0.0, ge=0.0)
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

    every_n_epochs: int = setting(5, ge=0)  # 0: never
    max_images: int = setting(8, ge=1)
    tile: int = setting(512, check=(lambda v: v == 0 or v >= 32, "0 (whole images) or >= 32"))
    overlap: int = setting(64, ge=0)
    image_batch: int = setting(4, ge=1)  # images whose tiles share forward passes (same results)
    workers: int = setting(0, ge=0)  # post-processing processes beside the model (0: in-process)
    postprocess: PostprocessConfig = dataclasses.field(default_factory=PostprocessConfig)

    def __post_init__(self) -> None:
        if self.tile and self.overlap >= self.tile:
            raise ConfigError(
                f"eval.overlap={self.overlap} must be smaller than eval.tile={self.tile}"
            )


@dataclasses.dataclass
class SpeedConfig:
    """GPU switches; all harmless on CPU (channels_last and pinning only act on CUDA).

    ``device_crops``: cut training/validation crops on the model's device from decoded images
    kept there (see fncssl.finetune.device_crops); the same crops, so the same results."""

    channels_last: bool = True
    compile: bool = False
    pin_memory: bool = True
    device_crops: bool = False


@dataclasses.dataclass
class FinetuneDataConfig(DataConfig):
    """The shared data keys plus ``label_count``: train on this many images of the training
    pool (0 = use ``label_fraction``). Count subsets are nested like fraction subsets."""

    label_count: int = setting(0, ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.label_count and self.label_fraction < 1.0:
            raise ConfigError(
                "data.label_count and data.label_fraction < 1 exclude each other: give one "
                f"(got label_count={self.label_count}, label_fraction={self.label_fraction})"
            )


@dataclasses.dataclass
class FinetuneConfig(ExperimentConfig):
    """Everything ``fncssl finetune`` reads."""

    data: FinetuneDataConfig = dataclasses.field(default_factory=FinetuneDataConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    augment: SegAugmentConfig = dataclasses.field(default_factory=SegAugmentConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    speed: SpeedConfig = dataclasses.field(default_factory=SpeedConfig)
    early_stopping_patience: int = setting(20, ge=0)
    log_every_n_steps: int = setting(10, ge=1)
    image_log_every_n_epochs: int = setting(5, ge=1)
    semisup: SemisupConfig = dataclasses.field(default_factory=SemisupConfig)
