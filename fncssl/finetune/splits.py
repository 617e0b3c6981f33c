"""Train/validation/test splits and nested label subsets, saved as ``split.json``.

The archive's test partition is the test set and is never trained or validated on. A
validation split (``val_fraction``) is drawn from trainval with the run's seed; the rest is the
training pool. A label fraction f takes, within each stratum (collection x empty/non-empty
image), the first ceil(f * n) images of one seeded permutation of the pool, so for a seed the
10% subset lies inside the 25% subset, and so on, and empty images stay represented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fncssl.data.atomic import write_json
from fncssl.data.imageio import read_mask
from fncssl.data.layout import ImageRecord
from fncssl.errors import FNCError


@dataclass
class Split:
    """Record lists of one run; ``train`` is the labelled subset actually trained on."""

    train: list[ImageRecord]
    pool: list[ImageRecord]
    val: list[ImageRecord]
    test: list[ImageRecord]

    def to_json(self, seed: int, label_fraction: float) -> dict:
        def keys(rs: list[ImageRecord]) -> list[str]:
            return [r.key for r in rs]

        return {
            "seed": seed,
            "label_fraction": label_fraction,
            "train": keys(self.train),
            "train_pool": keys(self.pool),
            "val": keys(self.val),
            "test": keys(self.test),
        }


def emptiness(records: list[ImageRecord], binarise: bool = False) -> dict[str, bool]:
    """Whether each record's mask is empty (reads every mask once)."""
    return {r.key: r.mask is not None and not read_mask(r.mask, binarise).any() for r in records}


def _take(
    records: list[ImageRecord], fraction: float, rng: np.random.Generator, empty: dict[str, bool]
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """(first part, rest) of a permutation stratified by (collection, empty image)."""
    strata: dict[tuple[str, bool], list[ImageRecord]] = {}
    for r in records:
        strata.setdefault((r.collection, empty[r.key]), []).append(r)
    first, rest = [], []
    for key in sorted(strata):
        group = sorted(strata[key], key=lambda r: r.key)
        order = rng.permutation(len(group))
        k = math.ceil(fraction * len(group))
        first += [group[i] for i in order[:k]]
        rest += [group[i] for i in order[k:]]
    return first, rest


def label_subset(
    pool: list[ImageRecord], fraction: float, seed: int, empty: dict[str, bool] | None = None
) -> list[ImageRecord]:
    """The nested labelled subset of ``pool`` for ``fraction`` in (0, 1] (see module doc)."""
    if not 0.0 < fraction <= 1.0:
        raise FNCError(f"label fraction must be in (0, 1], got {fraction}")
    subset, _ = _take(pool, fraction, np.random.default_rng([seed, 2]), empty or emptiness(pool))
    return subset


def make_split(
    trainval: list[ImageRecord],
    test: list[ImageRecord],
    val_fraction: float,
    label_fraction: float,
    seed: int,
    binarise: bool = False,
) -> Split:
    """Validation from trainval, then the nested label subset of the remaining pool."""
    if len(trainval) < 2:
        raise FNCError(
            f"need at least 2 labelled trainval images for a validation split, "
            f"found {len(trainval)}"
        )
    test_keys = {r.key for r in test}
    if any(r.key in test_keys for r in trainval):
        raise FNCError("a test image is listed among the training images")
    empty = emptiness(trainval, binarise)
    val, pool = _take(trainval, val_fraction, np.random.default_rng([seed, 1]), empty)
    if not pool:
        raise FNCError("the validation split left no training images; lower data.val_fraction")
    return Split(label_subset(pool, label_fraction, seed, empty), pool, val, test)


def write_split(path: Path, split: Split, seed: int, label_fraction: float) -> None:
    write_json(path, split.to_json(seed, label_fraction))
