"""The ``semisup`` section of the fine-tuning config.

``mode: none`` is plain supervised fine-tuning. ``pseudolabel``: a teacher (``teacher``: any
CHECKPOINT form; empty = train one first in the sub-run ``<run>/teacher`` at the same split)
labels the unlabelled images offline into ``pseudo_dir`` (empty = ``<round>/pseudo``), and a
student learns from manual + pseudo-labelled crops; ``rounds`` > 1 makes each student the next
teacher. ``consistency``: an EMA copy of the student (Mean Teacher) predicts weak views of
unlabelled crops and supervises strong views where it is confident (FixMatch).

Pixel targets: teacher probability ``p >= high`` is a cell, ``p <= low`` background, anything
in between (the uncertain band) is ignored. In consistency mode the band is
``(1 - confidence, confidence)``.
"""

from __future__ import annotations

import dataclasses

from fncssl.augment import SegAugmentConfig
from fncssl.errors import ConfigError

MODES = ("none", "pseudolabel", "consistency")
TTA = ("none", "flips", "d4")
WEIGHTING = ("confidence", "uniform")
PSEUDO_LOSSES = ("bce", "dice")


def _strong_default() -> SegAugmentConfig:
    """Photometric-only strong view: the weak view's geometry is reused unchanged."""
    return SegAugmentConfig(
        flips=False,
        rot90=False,
        rotation_degrees=0.0,
        zoom=0.0,
        lighting=0.4,
        gamma=0.3,
        blur=True,
        noise_std=0.03,
    )


@dataclasses.dataclass
class SemisupConfig:
    """Settings of both semi-supervised modes (each mode reads its own keys)."""

    mode: str = "none"
    # -- where unlabelled images come from
    unlabelled_pool: bool = True  # also use the training pool images outside the label subset
    max_unlabelled: int = 0  # 0 = every unlabelled image
    unlabelled_ratio: float = 1.0  # unlabelled (pseudo) crops per labelled crop in a batch
    # -- the student loss: manual_weight * manual + lambda(t) * pseudo
    manual_weight: float = 1.0
    lambda_max: float = 1.0
    ramp_steps: int = 0  # sigmoid ramp-up of lambda over this many steps (0 = constant)
    pseudo_loss: dict[str, float] = dataclasses.field(default_factory=lambda: {"bce": 1.0})
    weighting: str = "confidence"  # per-pixel weight max(p, 1 - p), or uniform 1
    # -- offline pseudo-labels
    teacher: str = ""
    pseudo_dir: str = ""
    low: float = 0.3
    high: float = 0.7
    min_object_size: int = 0  # drop (ignore) pseudo-objects smaller than this (pixels)
    min_object_confidence: float = 0.0  # ... or with a lower mean probability
    tta: str = "none"  # none | flips | d4 (flips and 90-degree rotations)
    tile_batch_size: int = 8
    rounds: int = 1
    init_from_teacher: bool = False  # each student starts from its teacher's weights
    # -- online consistency
    ema_decay: float = 0.99
    confidence: float = 0.9
    strong: SegAugmentConfig = dataclasses.field(default_factory=_strong_default)

    def __post_init__(self) -> None:
        _choice("semisup.mode", self.mode, MODES)
        _choice("semisup.tta", self.tta, TTA)
        _choice("semisup.weighting", self.weighting, WEIGHTING)
        if not 0.0 <= self.low < self.high <= 1.0:
            raise ConfigError(
                f"semisup.low={self.low} and semisup.high={self.high} are out of order: "
                "need 0 <= low < high <= 1"
            )
        if not 0.5 < self.confidence <= 1.0:
            raise ConfigError(f"semisup.confidence must be in (0.5, 1], got {self.confidence}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"semisup.ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.min_object_confidence <= 1.0:
            raise ConfigError("semisup.min_object_confidence must be in [0, 1]")
        if self.rounds < 1:
            raise ConfigError(f"semisup.rounds must be at least 1, got {self.rounds}")
        if self.unlabelled_ratio <= 0:
            raise ConfigError(
                f"semisup.unlabelled_ratio must be positive, got {self.unlabelled_ratio}"
            )
        if self.lambda_max < 0 or self.manual_weight < 0:
            raise ConfigError("semisup.lambda_max and semisup.manual_weight must be >= 0")
        if self.min_object_size < 0 or self.max_unlabelled < 0 or self.ramp_steps < 0:
            raise ConfigError("semisup.min_object_size, max_unlabelled and ramp_steps must be >= 0")
        bad = sorted(set(self.pseudo_loss) - set(PSEUDO_LOSSES))
        if bad or not self.pseudo_loss:
            raise ConfigError(
                f"semisup.pseudo_loss: unknown loss(es) {bad or '(none given)'}; "
                f"valid: {list(PSEUDO_LOSSES)}"
            )
        s = self.strong
        if s.flips or s.rot90 or s.rotation_degrees or s.zoom:
            raise ConfigError(
                "semisup.strong must be photometric only (flips, rot90, rotation_degrees and "
                "zoom off): the strong view shares the weak view's geometry"
            )

    @property
    def band(self) -> tuple[float, float]:
        """(low, high) of the mode: the configured band, or the consistency confidence."""
        if self.mode == "consistency":
            return 1.0 - self.confidence, self.confidence
        return self.low, self.high


def _choice(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"{key} must be one of {list(valid)}, got {value!r}")
