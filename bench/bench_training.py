"""Fine-tuning throughput (issue: c-ResUnet and supervised fine-tuning).

1. c-ResUnet training steps (forward + backward + Adam) on 512x512 crops at batch 8: crops/s,
   fp32; on CUDA also bf16 autocast + channels_last.
2. The training loader (LabelledCrops from 1600x1200 images with the decoded cache, batch 8):
   crops/s with 0 and 2 workers. Target: at least 3x the model's crops/s on CPU.

    python -m bench.bench_training [--device cuda] [--steps 3]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from bench.common import loader_rate, machine
from fncssl.data.datasets import EpochSampler, LabelledCrops
from fncssl.data.imageio import read_image
from fncssl.data.layout import open_archive
from fncssl.data.synth import write_synthetic_archive
from fncssl.finetune.losses import dice_loss
from fncssl.models.cresunet import CResUnet


def model_throughput(device: str, steps: int, amp: bool, channels_last: bool) -> float:
    torch.manual_seed(0)
    model = CResUnet().to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(8, 3, 512, 512, device=device)
    y = (torch.rand(8, 1, 512, 512, device=device) > 0.9).float()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        ctx = torch.autocast("cuda", torch.bfloat16) if amp else contextlib.nullcontext()
        with ctx:
            loss = dice_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * 8 / (time.perf_counter() - t0)


def loader_throughput(root: Path, workers: int, batches: int = 12) -> float:
    records = open_archive(root).select(["green"], ["trainval", "test"])
    ds = LabelledCrops(records, 512, batches * 8, seed=0)
    for rec in records:  # the cache is per process; workers fill their own on first use
        ds.cache.get(str(rec.image), lambda r=rec: read_image(r.image))
    loader = DataLoader(
        ds,
        batch_size=8,
        num_workers=workers,
        sampler=EpochSampler(len(ds)),
        persistent_workers=workers > 0,
    )
    return loader_rate(loader)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    print("machine:", machine())
    fp32 = model_throughput(args.device, args.steps, amp=False, channels_last=False)
    print(f"train ({args.device}, fp32, batch 8, 512x512): {fp32:.2f} crops/s")
    if args.device == "cuda":
        fast = model_throughput(args.device, args.steps, amp=True, channels_last=True)
        print(
            f"train (cuda, bf16 autocast + channels_last): {fast:.2f} crops/s "
            f"({fast / fp32:.1f}x fp32)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_archive(Path(tmp) / "a", ["green"], 6, 0, seed=0)
        for workers in (0, 2):
            rate = loader_throughput(root, workers)
            print(
                f"loader ({workers} workers, batch 8, 512x512 from 1600x1200): {rate:.1f} crops/s "
                f"({rate / fp32:.0f}x the fp32 model)"
            )


if __name__ == "__main__":
    main()
