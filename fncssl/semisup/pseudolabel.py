"""``fncssl pseudolabel``: a teacher labels unlabelled images with per-pixel probabilities.

Every image goes through tiled full-resolution inference (optionally averaged over test-time
flips, or flips and 90-degree rotations: ``tta=flips|d4``) and is stored as ``<key>.png``, a
uint8 PNG of ``round(255 * p(cell))``, inside the output folder, followed by ``manifest.json``
(see :mod:`fncssl.semisup.manifest`). Test images are never pseudo-labelled: only the
``unlabelled`` partition (plus training-pool images passed in by the caller and hand-listed
``extra_images``) is selected, and any test image among them is an error.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fncssl.data.atomic import refuse_output_inside, write_bytes
from fncssl.data.imageio import encode_png, read_image
from fncssl.data.layout import Archive, ImageRecord, open_archive
from fncssl.errors import ConfigError, FNCError
from fncssl.models.inference import load_model, to_model_input
from fncssl.models.registry import size_multiple
from fncssl.models.tiling import TileConfig, predict_tiled
from fncssl.semisup.config import TTA
from fncssl.semisup.manifest import image_entry, pseudo_file, teacher_identity, write_manifest
from fncssl.ssl.data import assert_no_test


@dataclasses.dataclass
class PseudoLabelConfig:
    """``k=v`` settings of ``fncssl pseudolabel`` (empty root = the synthetic archive)."""

    root: str = ""
    collections: list[str] = dataclasses.field(default_factory=list)  # empty = teacher's
    extra_images: list[str] = dataclasses.field(default_factory=list)
    max_images: int = 0  # 0 = all
    tta: str = "none"
    tile: int = 512
    overlap: int = 64
    batch_size: int = 8
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.tta not in TTA:
            raise ConfigError(f"tta must be one of {list(TTA)}, got {self.tta!r}")
        if self.max_images < 0 or self.tile <= 0 or self.batch_size <= 0:
            raise ConfigError("max_images must be >= 0, tile and batch_size positive")


def unlabelled_records(
    archive: Archive,
    collections: list[str] | None,
    max_images: int = 0,
    extra_images: list[str] | tuple[str, ...] = (),
    pool: list[ImageRecord] | tuple[ImageRecord, ...] = (),
) -> list[ImageRecord]:
    """Images to pseudo-label: the unlabelled partition, ``pool`` and ``extra_images``.

    Raises when the selection is empty or holds a test image (by path or file stem).
    """
    records = archive.select(collections, ["unlabelled"])
    if max_images:
        records = records[:max_images]
    records += list(pool)
    for item in extra_images:
        p = Path(item)
        if not p.is_file():
            raise FNCError(f"extra_images: not found: {p}")
        records.append(ImageRecord("extra", "extra", p.stem, p))
    assert_no_test(records, archive.select(None, ["test"]), "images to pseudo-label")
    if not records:
        raise FNCError(
            f"no unlabelled images to pseudo-label for collections {collections or 'all'} "
            f"in {archive.root}"
        )
    return records


def _dihedral(tta: str) -> list[tuple[int, bool]]:
    """(quarter turns, horizontal flip) pairs of the chosen test-time augmentation."""
    if tta == "d4":
        return [(k, f) for k in range(4) for f in (False, True)]
    if tta == "flips":
        return [(0, False), (0, True), (2, False), (2, True)]  # id, h-flip, rot180, v-flip
    return [(0, False)]


@torch.no_grad()
def tta_probability(
    model: nn.Module, image: np.ndarray, tiles: TileConfig, device: str, tta: str = "none"
) -> np.ndarray:
    """p(cell) (H, W) float32 for a uint8 (H, W, 3) image, averaged over the TTA transforms."""
    model.eval()
    x = to_model_input(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))))
    total = torch.zeros(image.shape[:2])
    transforms = _dihedral(tta)
    for k, flip in transforms:
        t = torch.rot90(x, k, dims=(1, 2))
        t = t.flip(2) if flip else t
        p = torch.sigmoid(predict_tiled(model, t, tiles, device)[0])
        p = p.flip(1) if flip else p
        total += torch.rot90(p, -k, dims=(0, 1))
    return (total / len(transforms)).numpy()


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def write_pseudolabels(
    teacher: str | Path,
    records: list[ImageRecord],
    out: Path,
    tta: str = "none",
    tile: int = 512,
    overlap: int = 64,
    batch_size: int = 8,
    device: str = "auto",
) -> dict:
    """Label ``records`` with ``teacher`` into ``out``; returns the manifest written."""
    identity = teacher_identity(teacher)
    model, arch = load_model(teacher)
    device = resolve_device(device)
    model.to(device)
    tiles = TileConfig(tile, overlap, batch_size, size_multiple(arch))
    images, start = [], time.perf_counter()
    for rec in records:
        prob = tta_probability(model, read_image(rec.image), tiles, device, tta)
        q = np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)
        write_bytes(out / pseudo_file(rec), encode_png(q, compression=1))
        images.append(image_entry(rec))
    seconds = time.perf_counter() - start
    settings = {
        "tta": tta,
        "tile": tile,
        "overlap": overlap,
        "batch_size": batch_size,
        "device": device,
        "arch": arch,
        "seconds": round(seconds, 3),
    }
    print(f"[pseudolabel] {len(records)} image(s) in {seconds:.1f} s -> {out}")
    return write_manifest(out, identity, images, settings)


def run_pseudolabel(checkpoint: str, out: Path, cfg: PseudoLabelConfig) -> dict:
    """The CLI command: select the images, then :func:`write_pseudolabels`. The archive and
    collections default to the teacher run's own (its ``config.yaml`` or the checkpoint's
    saved config); the checkpoint is read first, so a bad path fails before any data work."""
    from fncssl.data.default_archive import data_root
    from fncssl.finetune.evaluate_checkpoint import run_config
    from fncssl.models.checkpoint import read_weights

    saved = run_config(checkpoint) or read_weights(checkpoint).config or {}
    data = saved.get("data") or {}
    root = Path(cfg.root or saved.get("data_root_resolved") or data.get("root") or data_root(""))
    cols = cfg.collections or data.get("collections")
    refuse_output_inside(out, [root], "the archive")
    records = unlabelled_records(open_archive(root), cols, cfg.max_images, cfg.extra_images)
    return write_pseudolabels(
        checkpoint, records, out, cfg.tta, cfg.tile, cfg.overlap, cfg.batch_size, cfg.device
    )
