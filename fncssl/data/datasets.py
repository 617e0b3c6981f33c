"""Torch datasets of random crops from archive images, with a decoded-image cache.

``LabelledCrops`` yields ``{"image": uint8 (3, S, S), "mask": uint8 (1, S, S) in {0, 1},
"key": str, "origin": (y, x)}``; ``UnlabelledCrops`` yields the same without "mask". Crops are
centred on foreground (a mask pixel, or a bright pixel for unlabelled images) with probability
``foreground_bias``, else uniform. Each item draws from a generator seeded by
(seed, epoch, index), so a given epoch is reproducible in any worker layout; with
:class:`EpochSampler` the epoch travels inside the index.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from fncssl.data.imageio import check_same_size, read_image, read_mask
from fncssl.data.layout import ImageRecord
from fncssl.errors import DataError


class DecodedImageCache:
    """LRU cache of decoded arrays keyed by path, bounded by total bytes (per process)."""

    def __init__(self, max_bytes: int = 4 << 30) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, load) -> np.ndarray:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = load()
        with self._lock:
            self.misses += 1
            if key not in self._items:
                self._items[key] = value
                self._bytes += value.nbytes
                while self._bytes > self.max_bytes and len(self._items) > 1:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= old.nbytes
        return value


def _crop_origin(
    rng: np.random.Generator,
    shape: tuple[int, int],
    size: int,
    centres: np.ndarray | None,
    bias: float,
) -> tuple[int, int]:
    h, w = shape
    if centres is not None and len(centres) and rng.random() < bias:
        cy, cx = centres[rng.integers(len(centres))]
        y = int(np.clip(cy - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, h - size))
        x = int(np.clip(cx - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, w - size))
        return y, x
    return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))


def crop_tensor(array: np.ndarray, y: int, x: int, size: int) -> torch.Tensor:
    """The (C, S, S) tensor of an (H, W, C) array's crop at (y, x); (1, S, S) for (H, W)."""
    crop = array[y : y + size, x : x + size]
    crop = crop.transpose(2, 0, 1) if crop.ndim == 3 else crop[None]
    return torch.from_numpy(np.ascontiguousarray(crop))


class _CropDataset(Dataset):
    def __init__(
        self,
        records: Sequence[ImageRecord],
        crop_size: int,
        samples_per_epoch: int,
        foreground_bias: float,
        seed: int,
        cache: DecodedImageCache | None,
    ) -> None:
        if not records:
            raise DataError("no images to crop from (the selection is empty)")
        self.records = list(records)
        self.crop_size = crop_size
        self.samples_per_epoch = samples_per_epoch
        self.foreground_bias = foreground_bias
        self.seed = seed
        self.epoch = 0
        self.cache = cache if cache is not None else DecodedImageCache()
        self._centres: dict[str, np.ndarray] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _image(self, rec: ImageRecord) -> np.ndarray:
        img = self.cache.get(str(rec.image), lambda: read_image(rec.image))
        if min(img.shape[:2]) < self.crop_size:
            raise DataError(
                f"crop size {self.crop_size} is larger than image {rec.image} "
                f"({img.shape[1]}x{img.shape[0]})"
            )
        return img

    def _rng(self, index: int) -> np.random.Generator:
        # Indices past one epoch (from EpochSampler) carry the epoch in them.
        n = self.samples_per_epoch
        return np.random.default_rng([self.seed, self.epoch + index // n, index % n])


class EpochSampler(Sampler[int]):
    """Yields this process's share of ``epoch * n ... epoch * n + n - 1``.

    Lightning calls ``set_epoch`` each epoch; the dataset derives each item's generator from
    the index, so worker processes (persistent or not) draw new crops every epoch without being
    told the epoch. Under DDP, rank r of w takes every w-th index starting at r (run the
    Trainer with ``use_distributed_sampler=False`` so Lightning keeps this sampler).
    """

    def __init__(
        self, samples_per_epoch: int, rank: int = 0, world_size: int = 1, fixed: bool = False
    ) -> None:
        self.n = samples_per_epoch
        self.rank = rank
        self.world_size = world_size
        self.fixed = fixed  # validation: the same crops every epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        if not self.fixed:
            self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        start = self.epoch * self.n
        return iter(range(start + self.rank, start + self.n, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world_size))


class LabelledCrops(_CropDataset):
    """Random (image, mask) crops from labelled records; see the module docstring."""

    def __init__(
        self,
        records: Sequence[ImageRecord],
        crop_size: int = 512,
        samples_per_epoch: int = 256,
        foreground_bias: float = 0.5,
        seed: int = 0,
        cache: DecodedImageCache | None = None,
        binarise: bool = False,
        pixels: bool = True,
    ) -> None:
        missing = [r.image for r in records if r.mask is None]
        if missing:
            raise DataError(f"labelled crops need masks; missing for {missing[0]}")
        super().__init__(records, crop_size, samples_per_epoch, foreground_bias, seed, cache)
        self.binarise = binarise
        self.pixels = pixels  # False: items carry only "key" and "origin" (crops cut elsewhere)

    def full_image(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (H, W, 3), mask bool (H, W)) of the record ``key``, from the cache."""
        rec = next(r for r in self.records if r.key == key)
        return self._image(rec), self._mask(rec)

    def _mask(self, rec: ImageRecord) -> np.ndarray:
        return self.cache.get(str(rec.mask), lambda: read_mask(rec.mask, self.binarise))

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        rec = self.records[int(rng.integers(len(self.records)))]
        img, mask = self._image(rec), self._mask(rec)
        if rec.key not in self._centres:  # once per image: its sizes and cell positions
            check_same_size(img, mask, str(rec.image), str(rec.mask))
            self._centres[rec.key] = np.argwhere(mask[::4, ::4]) * 4
        y, x = _crop_origin(
            rng, mask.shape, self.crop_size, self._centres[rec.key], self.foreground_bias
        )
        s = self.crop_size
        if not self.pixels:  # the same draws, so the same crops as with pixels
            return {"key": rec.key, "origin": (y, x)}
        return {
            "image": crop_tensor(img, y, x, s),
            "mask": torch.from_numpy(mask[y : y + s, x : x + s][None].astype(np.uint8)),
            "key": rec.key,
            "origin": (y, x),
        }


class UnlabelledCrops(_CropDataset):
    """Random image crops, biased towards bright (likely stained) pixels; no masks needed."""

    def __init__(
        self,
        records: Sequence[ImageRecord],
        crop_size: int = 512,
        samples_per_epoch: int = 256,
        foreground_bias: float = 0.5,
        seed: int = 0,
        cache: DecodedImageCache | None = None,
    ) -> None:
        super().__init__(records, crop_size, samples_per_epoch, foreground_bias, seed, cache)

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        rec = self.records[int(rng.integers(len(self.records)))]
        img = self._image(rec)
        if rec.key not in self._centres:
            brightness = img[::8, ::8].max(axis=2)
            threshold = max(np.percentile(brightness, 99.5), 1)
            self._centres[rec.key] = np.argwhere(brightness >= threshold) * 8
        y, x = _crop_origin(
            rng, img.shape[:2], self.crop_size, self._centres[rec.key], self.foreground_bias
        )
        return {
            "image": crop_tensor(img, y, x, self.crop_size),
            "key": rec.key,
            "origin": (y, x),
        }
