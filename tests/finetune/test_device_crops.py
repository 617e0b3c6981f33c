"""speed.device_crops and the other speed switches change where work happens, not results."""

import json
import warnings

import pytest
import torch
from test_finetune_cli import finetune, scalar

from fncssl.config import load_config
from fncssl.data.datasets import LabelledCrops
from fncssl.data.layout import open_archive
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.datamodule import _collate
from fncssl.finetune.device_crops import DeviceImageBank
from fncssl.finetune.module import SegmentationModule
from fncssl.models.cresunet import CResUnet


def batches(records, pixels):
    ds = LabelledCrops(records, 64, 8, 0.5, seed=3, pixels=pixels)
    return ds, [_collate([ds[i] for i in range(j, j + 4)]) for j in (0, 4)]


def test_device_crops_give_the_loader_crops_and_the_same_step(synth_root):
    records = [r for r in open_archive(synth_root).select(["red"], ["trainval"]) if r.mask]
    _, plain = batches(records, True)
    ds, lean = batches(records, False)
    assert "image" not in lean[0] and len(lean[0]["origin"]) == 4
    bank = DeviceImageBank([ds])
    cfg = load_config(FinetuneConfig, None, ["data.crop_size=64"])
    losses = []
    for use_bank, data in ((False, plain), (True, lean)):
        torch.manual_seed(0)
        module = SegmentationModule(CResUnet(8), cfg)
        module.bank = bank if use_bank else None
        for a, b in zip(plain, data, strict=True):
            got = module._pixels(b)
            assert torch.equal(got["image"], a["image"]) and torch.equal(got["mask"], a["mask"])
        torch.manual_seed(1)  # the augmentation's draws
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # self.log outside a Trainer
            losses.append(module.training_step(data[0], 0).item())
    assert losses[0] == losses[1]


@pytest.mark.slow
def test_seeded_smoke_finetune_metrics_do_not_depend_on_speed_switches(synth_root, tmp_path):
    runs = {}
    for name, extra in {
        "plain": ["eval.image_batch=1"],
        "fast": ["speed.device_crops=true", "eval.image_batch=4", "eval.workers=1"],
    }.items():
        assert finetune(synth_root, tmp_path / name, *extra) == 0
        run = tmp_path / name / "r"
        metrics = json.loads((run / "metrics.json").read_text())
        runs[name] = (scalar(run, "train/loss_step"), scalar(run, "val/seg_f1"), metrics["paper"])
    assert runs["plain"] == runs["fast"]
