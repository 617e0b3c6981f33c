"""Pretraining throughput (issue: self-supervised pretraining).

1. SimCLR and DenseCL training steps on the c-ResUnet encoder: view pairs/s.
2. The share of a step spent generating the two Kornia views (target on GPU: under 20%).
3. The unlabelled-crop loader: crops/s against the model's pairs/s.
4. ``--e2e``: real ``fncssl pretrain`` runs of SimCLR and DenseCL (bench/e2e.py): view
   pairs/s over their training steps, loader, views, logging and checkpoints included.

    python -m bench.bench_pretrain [--device cuda] [--batch 32] [--view 128] [--steps 4]
    python -m bench.bench_pretrain --device cuda --batch 128 --view 192 --precision bf16-mixed
    python -m bench.bench_pretrain --e2e --device cuda --batch 128 --view 192 --precision bf16-mixed
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from bench.common import loader_rate, machine
from bench.e2e import add_e2e_args, run_rate
from fncssl.config import load_config
from fncssl.data.datasets import EpochSampler, UnlabelledCrops
from fncssl.data.layout import open_archive
from fncssl.data.synth import write_synthetic_archive
from fncssl.models.cresunet import CResUnet
from fncssl.ssl.config import PretrainConfig
from fncssl.ssl.methods import METHODS


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def step_rates(
    method: str, device: str, batch: int, view: int, steps: int, amp: bool = False
) -> tuple[float, float]:
    """(view pairs/s, fraction of the step spent making views); ``amp``: bf16 autocast."""
    cfg = load_config(PretrainConfig, None, [f"views.size={view}", f"ssl.method={method}"])
    torch.manual_seed(0)
    module = METHODS[method](CResUnet().encoder, 128, cfg).to(device)
    opt = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], 1e-3)
    crops = (torch.rand(batch, 3, 2 * view, 2 * view) * 255).to(torch.uint8).to(device)
    view_time = total = 0.0
    for i in range(steps + 1):
        _sync(device)
        t0 = time.perf_counter()
        v1, v2, m1, m2 = module.views(crops)
        _sync(device)
        t1 = time.perf_counter()
        with torch.autocast(device, torch.bfloat16, enabled=amp):
            loss = module.compute_loss(v1, v2, m1, m2)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if i:  # skip the warm-up step
            view_time += t1 - t0
            total += time.perf_counter() - t0
    return steps * batch / total, view_time / total


def unlabelled_loader_rate(root: Path, crop: int, batch: int, batches: int = 20) -> float:
    records = open_archive(root).select(None, ["unlabelled"])
    ds = UnlabelledCrops(records, crop, batch * batches, seed=0)
    loader = DataLoader(ds, batch_size=batch, sampler=EpochSampler(len(ds)))
    return loader_rate(loader)


def e2e(args: argparse.Namespace) -> None:
    """Real pretraining runs on a synthetic archive (or ``--data``), see point 4."""
    gpu = args.device == "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or str(
            write_synthetic_archive(
                Path(tmp) / "a", ["red"], 0, 48 if gpu else 8, (800, 600), seed=0
            )
        )
        for method in ("simclr", "densecl"):
            overrides = [
                f"data.root={root}",
                f"data.collections={'[green,yellow,red]' if args.data else '[red]'}",
                f"data.batch_size={args.batch}",
                f"data.num_workers={6 if gpu else 0}",
                f"data.samples_per_epoch={args.batch * (20 if gpu else 4)}",
                "trainer.max_epochs=2",
                f"views.size={args.view}",
                f"ssl.source_crop={2 * args.view}",
                "probe.enabled=false",
                *args.set,
            ]
            res = run_rate(
                "pretrain",
                f"configs/pretrain/{method}.yaml",
                overrides,
                args.batch,
                args.device,
                args.precision,
                args.repeats,
                args.profile,
            )
            print(
                f"fncssl pretrain end to end ({args.device}, {method}, {args.precision}, batch "
                f"{args.batch}, views {args.view}px): {res['items_per_s']:.1f} view pairs/s, "
                f"median of {[round(r, 1) for r in res['all_rates']]}; {res['steps']} steps, "
                f"{res['wall_s']:.0f} s wall"
            )
            if res["profile"]:
                print("\n".join(res["profile"].splitlines()[:30]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--view", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4)
    add_e2e_args(ap)
    args = ap.parse_args()
    print("machine:", machine())
    if args.e2e:
        e2e(args)
        return
    best = None
    amp = args.precision.startswith("bf16")
    for method in ("simclr", "densecl"):
        pairs, frac = step_rates(method, args.device, args.batch, args.view, args.steps, amp)
        best = pairs if best is None else min(best, pairs)
        print(
            f"pretrain ({args.device}, {method}, batch {args.batch}, views {args.view}px): "
            f"{pairs:.1f} view pairs/s; view generation {100 * frac:.0f}% of a step"
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_archive(Path(tmp) / "a", ["red"], 0, 8, (800, 600), seed=0)
        rate = unlabelled_loader_rate(root, 2 * args.view, args.batch)
        print(
            f"loader (unlabelled {2 * args.view}px crops, 0 workers): {rate:.0f} crops/s "
            f"({rate / best:.0f}x the slowest method's pairs/s)"
        )


if __name__ == "__main__":
    main()
