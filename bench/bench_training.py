"""Fine-tuning throughput (issue: c-ResUnet and supervised fine-tuning).

1. c-ResUnet training steps (forward + backward + Adam) on 512x512 crops at batch 8: crops/s,
   fp32; on CUDA also bf16 autocast + channels_last.
2. The training loader (LabelledCrops from 1600x1200 images with the decoded cache, batch 8):
   crops/s with 0 and 2 workers. Target: at least 3x the model's crops/s on CPU.
3. ``--e2e``: a real ``fncssl finetune`` run (bench/e2e.py): crops/s over its training steps,
   validation and full-image evaluation included, against the bare step at the same batch,
   crop and precision (target on a GPU: >= 70%). On CPU a small run (batch 4, 256 px crops,
   800x600 images); on CUDA the paper's settings (batch 32, 512 px, 1600x1200, 5 workers).

    python -m bench.bench_training [--device cuda] [--steps 3]
    python -m bench.bench_training --e2e --device cuda --precision bf16-mixed [--data ROOT]
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
from bench.e2e import add_e2e_args, run_rate
from fncssl.data.datasets import EpochSampler, LabelledCrops
from fncssl.data.imageio import read_image
from fncssl.data.layout import open_archive
from fncssl.data.synth import write_synthetic_archive
from fncssl.finetune.losses import dice_loss
from fncssl.models.cresunet import CResUnet


def model_throughput(
    device: str, steps: int, amp: bool, channels_last: bool, batch: int = 8, crop: int = 512
) -> float:
    torch.manual_seed(0)
    model = CResUnet().to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(batch, 3, crop, crop, device=device)
    y = (torch.rand(batch, 1, crop, crop, device=device) > 0.9).float()
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
    return steps * batch / (time.perf_counter() - t0)


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


def e2e(args: argparse.Namespace) -> None:
    """The real command against the bare step (see the module docstring, point 3)."""
    gpu = args.device == "cuda"
    batch, crop = (32, 512) if gpu else (4, 256)
    amp = args.precision.startswith("bf16")
    bare = model_throughput(args.device, args.steps, amp, amp and gpu, batch, crop)
    print(f"bare step ({args.device}, {args.precision}, batch {batch}, {crop}px): {bare:.2f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or str(
            write_synthetic_archive(
                Path(tmp) / "a", ["green"], 24 if gpu else 8, 0, None if gpu else (800, 600), seed=0
            )
        )
        overrides = [f"data.root={root}", "data.collections=[green]", "early_stopping_patience=0"]
        if gpu:
            overrides += ["trainer.max_epochs=3", "data.num_workers=5", *args.set]
        else:
            overrides += [
                f"data.crop_size={crop}",
                f"data.batch_size={batch}",
                "data.num_workers=0",
                "data.samples_per_epoch=32",
                "data.val_samples=8",
                "trainer.max_epochs=2",
                "eval.every_n_epochs=1",
                "eval.max_images=2",
                *args.set,
            ]
        res = run_rate(
            "finetune",
            "configs/finetune.yaml",
            overrides,
            batch,
            args.device,
            args.precision,
            args.repeats,
            args.profile,
        )
    print(
        f"fncssl finetune end to end ({args.device}, {args.precision}, batch {batch}, {crop}px, "
        f"{' '.join(args.set) or 'defaults'}): {res['items_per_s']:.2f} crops/s, median of "
        f"{[round(r, 2) for r in res['all_rates']]} = {100 * res['items_per_s'] / bare:.0f}% "
        f"of the bare step; {res['steps']} steps, {res['wall_s']:.0f} s wall"
    )
    if res["profile"]:
        print("\n".join(res["profile"].splitlines()[:40]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=3)
    add_e2e_args(ap)
    args = ap.parse_args()
    print("machine:", machine())
    if args.e2e:
        e2e(args)
        return
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
