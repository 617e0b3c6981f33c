"""Training crops cut on the model's device from device-resident decoded images.

With ``speed.device_crops`` the loaders yield only ``{"key", "origin"}`` per crop (the same
random draws as usual, so the same crops); :class:`DeviceImageBank` keeps each record's decoded
image (3, H, W) and mask (1, H, W) as uint8 on the device after first use and slices the batch
there, so no pixels cross the host-device link after the first epoch and the loader workers do
no pixel work. A collection of the FNC archive fits in a GPU's memory (green: about 2 GB).
On a CPU this only moves work around, so it is off by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from fncssl.data.datasets import LabelledCrops


class DeviceImageBank:
    """Decoded images and masks of the datasets' records, on one device, loaded on demand."""

    def __init__(self, datasets: Sequence[LabelledCrops]) -> None:
        self._source = {r.key: ds for ds in datasets for r in ds.records}
        self._bank: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def _get(self, key: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        held = self._bank.get(key)
        if held is None or held[0].device != device:
            image, mask = self._source[key].full_image(key)
            held = (
                torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).to(device),
                torch.from_numpy(mask.astype(np.uint8)[None]).to(device),
            )
            self._bank[key] = held
        return held

    def crops(
        self, keys: Sequence[str], origins: Sequence[tuple[int, int]], size: int, device
    ) -> dict[str, torch.Tensor]:
        """{"image": uint8 (B, 3, S, S), "mask": uint8 (B, 1, S, S)} cut on ``device``."""
        device = torch.device(device)
        images, masks = [], []
        for key, (y, x) in zip(keys, origins, strict=True):
            image, mask = self._get(key, device)
            images.append(image[:, y : y + size, x : x + size])
            masks.append(mask[:, y : y + size, x : x + size])
        return {"image": torch.stack(images), "mask": torch.stack(masks)}

    def materialise(self, batch: dict, size: int, device) -> dict:
        """``batch`` with "image" and "mask" cut on the device when the loader left them out."""
        if "image" in batch:
            return batch
        return {**batch, **self.crops(batch["key"], batch["origin"], size, device)}
