"""Train/validation/test splits and nested label subsets, saved as ``split.json``.

The archive's test partition is the test set and is never trained or validated on. A
validation split (``val_fraction``) is drawn from trainval with the run's seed; the rest is the
training pool. A label fraction f takes, within each stratum (collection x empty/non-empty
image), the first ceil(f * n) images of one seeded permutation of the pool, so for a seed the
10% subset lies inside the 25% subset, and so on, and empty images stay represented.

A label count N (``data.label_count``) takes the first N images of one ranking of the pool
that interleaves the same per-stratum permutations in proportion (an image ranked i-th of n in
its stratum scores i / n), so count subsets are nested too (10 inside 20 inside 40).

Green/yellow twins (the same slice imaged twice, see :mod:`fncssl.finetune.twins`) move
together: each twin group is placed by its first member, so a pair is never split between
training and validation, nor between the labelled subset and the rest of the pool. A label
count can then be exceeded by one image when the last group taken is a pair.
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
from fncssl.finetune.twins import twin_groups


@dataclass
class Split:
    """Record lists of one run; ``train`` is the labelled subset actually trained on."""

    train: list[ImageRecord]
    pool: list[ImageRecord]
    val: list[ImageRecord]
    test: list[ImageRecord]

    def to_json(self, seed: int, label_fraction: float, label_count: int = 0) -> dict:
        def keys(rs: list[ImageRecord]) -> list[str]:
            return [r.key for r in rs]

        return {
            "seed": seed,
            "label_fraction": label_fraction,
            "label_count": label_count,
            "train": keys(self.train),
            "train_pool": keys(self.pool),
            "val": keys(self.val),
            "test": keys(self.test),
        }


def emptiness(records: list[ImageRecord], binarise: bool = False) -> dict[str, bool]:
    """Whether each record's mask is empty (reads every mask once)."""
    return {r.key: r.mask is not None and not read_mask(r.mask, binarise).any() for r in records}


def _strata(
    records: list[ImageRecord], rng: np.random.Generator, empty: dict[str, bool]
) -> list[list[list[ImageRecord]]]:
    """Twin groups per stratum (collection x empty image of the group's first member), each
    stratum in one seeded permutation; strata in sorted order."""
    strata: dict[tuple[str, bool], list[list[ImageRecord]]] = {}
    for members in twin_groups(records).values():
        lead = members[0]
        strata.setdefault((lead.collection, empty[lead.key]), []).append(members)
    out = []
    for key in sorted(strata):
        groups = sorted(strata[key], key=lambda g: g[0].key)
        out.append([groups[i] for i in rng.permutation(len(groups))])
    return out


def _take(
    records: list[ImageRecord], fraction: float, rng: np.random.Generator, empty: dict[str, bool]
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """(first part, rest) of a permutation stratified by (collection, empty image)."""
    first, rest = [], []
    for groups in _strata(records, rng, empty):
        k = math.ceil(fraction * len(groups))
        first += [r for g in groups[:k] for r in g]
        rest += [r for g in groups[k:] for r in g]
    return first, rest


def _take_count(
    records: list[ImageRecord], count: int, rng: np.random.Generator, empty: dict[str, bool]
) -> list[ImageRecord]:
    """The first ``count`` images (whole twin groups) of the proportional ranking."""
    ranked = [
        (i / len(groups), s, g)
        for s, groups in enumerate(_strata(records, rng, empty))
        for i, g in enumerate(groups)
    ]
    ranked.sort(key=lambda t: (t[0], t[1]))
    taken: list[ImageRecord] = []
    for _, _, g in ranked:
        if len(taken) >= count:
            break
        taken += g
    return taken


def label_subset(
    pool: list[ImageRecord],
    fraction: float,
    seed: int,
    empty: dict[str, bool] | None = None,
    count: int = 0,
) -> list[ImageRecord]:
    """The nested labelled subset of ``pool`` for ``fraction`` in (0, 1], or of ``count``
    images when ``count`` > 0 (then ``fraction`` must be 1; see the module doc)."""
    if not 0.0 < fraction <= 1.0:
        raise FNCError(f"label fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng([seed, 2])
    if count > 0:
        if fraction < 1.0:
            raise FNCError("give a label count or a label fraction below 1, not both")
        if count > len(pool):
            raise FNCError(
                f"data.label_count={count} is more than the {len(pool)} images of the "
                "training pool (trainval minus validation)"
            )
        return _take_count(pool, count, rng, empty or emptiness(pool))
    subset, _ = _take(pool, fraction, rng, empty or emptiness(pool))
    return subset


def make_split(
    trainval: list[ImageRecord],
    test: list[ImageRecord],
    val_fraction: float,
    label_fraction: float,
    seed: int,
    binarise: bool = False,
    label_count: int = 0,
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
    train = label_subset(pool, label_fraction, seed, empty, label_count)
    return Split(train, pool, val, test)


def write_split(
    path: Path, split: Split, seed: int, label_fraction: float, label_count: int = 0
) -> None:
    write_json(path, split.to_json(seed, label_fraction, label_count))
