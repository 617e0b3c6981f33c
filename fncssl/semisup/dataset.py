"""Random crops of pseudo-labelled images: image, teacher probabilities and ignore flags.

Items: ``{"image": uint8 (3, S, S), "prob": uint8 (1, S, S) (255 * p), "ignore": bool
(1, S, S), "key": str, "origin": (y, x)}``. ``ignore`` marks pixels of pseudo-objects
dropped by the object filter (:mod:`fncssl.semisup.objects`). Crops are centred on confident
pseudo-cells with probability ``foreground_bias`` and reproducible per (seed, epoch, index),
like the other crop datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fncssl.data.datasets import DecodedImageCache, _crop_origin, _CropDataset, crop_tensor
from fncssl.data.imageio import _load
from fncssl.data.layout import ImageRecord
from fncssl.errors import DataError
from fncssl.semisup.objects import dropped_objects


class PseudoLabelCrops(_CropDataset):
    """Crops of ``records`` with the probabilities stored for them in ``pseudo_dir``."""

    def __init__(
        self,
        records: Sequence[ImageRecord],
        pseudo_dir: Path,
        crop_size: int,
        samples_per_epoch: int,
        foreground_bias: float,
        seed: int,
        high: float = 0.7,
        min_object_size: int = 0,
        min_object_confidence: float = 0.0,
        cache: DecodedImageCache | None = None,
    ) -> None:
        super().__init__(records, crop_size, samples_per_epoch, foreground_bias, seed, cache)
        self.pseudo_dir = Path(pseudo_dir)
        self.filter = (high, min_object_size, min_object_confidence)

    def _prob(self, rec: ImageRecord, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        def load() -> np.ndarray:
            path = self.pseudo_dir / f"{rec.key}.png"
            prob = _load(path)
            if prob.ndim != 2 or prob.shape != shape:
                raise DataError(f"{path}: probability map {prob.shape} does not match {shape}")
            ignore = dropped_objects(prob, *self.filter)
            return np.stack([prob, ignore.astype(np.uint8)])

        both = self.cache.get(f"pseudo:{self.pseudo_dir}/{rec.key}", load)
        return both[0], both[1].astype(bool)

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        rec = self.records[int(rng.integers(len(self.records)))]
        img = self._image(rec)
        prob, ignore = self._prob(rec, img.shape[:2])
        if rec.key not in self._centres:
            cells = (prob[::4, ::4] >= self.filter[0] * 255) & ~ignore[::4, ::4]
            self._centres[rec.key] = np.argwhere(cells) * 4
        y, x = _crop_origin(
            rng, prob.shape, self.crop_size, self._centres[rec.key], self.foreground_bias
        )
        s = self.crop_size
        return {
            "image": crop_tensor(img, y, x, s),
            "prob": crop_tensor(prob, y, x, s),
            "ignore": crop_tensor(ignore, y, x, s),
            "key": rec.key,
            "origin": (y, x),
        }
