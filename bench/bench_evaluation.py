"""Evaluation benchmarks (issue: shared evaluation).

1. Segmentation + detection matching on a 2272x1704 mask with ~60 true and ~80 predicted
   objects: contingency-table matching vs a naive loop over object pairs (target >= 200x),
   checking both give identical TP/FP/FN.
2. Tiled inference of one 1600x1200 image vs one whole-image forward pass of the c-ResUnet
   (target <= 1.3x the time), with peak memory of each (run in separate processes); then the
   tiles of 4 images batched 8 per forward, and on CUDA 4 whole images in one forward.
3. ``--predict CHECKPOINT``: images/s of real ``fncssl predict`` runs over a folder of images
   (``--images DIR``, default: synthetic 1600x1200 images), one image at a time and serial
   post-processing (the old path) against batched tiles / whole images and post-processing in
   worker processes. Each run's outputs are checked to be identical to the first run's.

    python -m bench.bench_evaluation [--device cuda]
    python -m bench.bench_evaluation --predict runs/<finetune run> --device cuda --workers 8
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import cv2
import numpy as np

from bench.common import machine, time_repeats
from fncssl.evaluation.instances import to_instances
from fncssl.evaluation.matching import match_image


def random_discs(rng: np.random.Generator, n: int, shape=(1704, 2272)) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    for _ in range(n):
        cv2.circle(
            m,
            (int(rng.uniform(30, shape[1] - 30)), int(rng.uniform(30, shape[0] - 30))),
            int(rng.uniform(12, 28)),
            1,
            -1,
        )
    return m.astype(bool)


def naive_match(t: np.ndarray, p: np.ndarray, iou_t=0.5, dist_t=40.0):
    """The baseline: every (true, predicted) pair compared as full-image boolean masks."""
    nt, npr = int(t.max()), int(p.max())
    objs_t = [t == i + 1 for i in range(nt)]
    objs_p = [p == j + 1 for j in range(npr)]
    ct = [np.argwhere(o).mean(0) for o in objs_t]
    cp = [np.argwhere(o).mean(0) for o in objs_p]
    iou = np.array([[(a & b).sum() / (a | b).sum() for b in objs_p] for a in objs_t])
    dist = np.array([[np.hypot(*(a - b)) for b in cp] for a in ct])
    seg_tp = int((iou > iou_t).any(1).sum())
    det_tp = int((dist <= dist_t).any(1).sum())
    return (
        (seg_tp, int((~(iou > iou_t).any(0)).sum()), nt - seg_tp),
        (det_tp, int((~(dist <= dist_t).any(0)).sum()), nt - det_tp),
    )


def bench_matching() -> None:
    rng = np.random.default_rng(0)
    t = to_instances(random_discs(rng, 64))
    p = to_instances(random_discs(rng, 88))
    print(f"matching: {t.max()} true vs {p.max()} predicted objects on 2272x1704")
    fast_time = time_repeats(lambda: match_image(t, p), repeats=5)
    t0 = time.perf_counter()
    slow = naive_match(t, p)
    slow_time = time.perf_counter() - t0
    m = match_image(t, p)
    fast = (
        (m.segmentation.tp, m.segmentation.fp, m.segmentation.fn),
        (m.detection.tp, m.detection.fp, m.detection.fn),
    )
    assert fast == slow, (fast, slow)
    print(
        f"matching: contingency {fast_time * 1000:.1f} ms, naive pairs {slow_time:.2f} s, "
        f"speed-up {slow_time / fast_time:.0f}x, identical TP/FP/FN {fast}"
    )


def _inference_child(mode: str, device: str) -> None:
    import torch

    from fncssl.models.cresunet import CResUnet
    from fncssl.models.tiling import TileConfig, predict_tiled, predict_tiled_batch

    torch.manual_seed(0)
    model = CResUnet().eval().to(device)
    x = torch.rand(3, 1200, 1600)
    x4 = torch.rand(4, 3, 1200, 1600)

    def run() -> None:
        with torch.no_grad():
            if mode == "whole":
                model(x[None].to(device)).cpu()
            elif mode == "tiled":
                predict_tiled(model, x, TileConfig(tile=512, overlap=64, batch_size=1), device)
            elif mode == "batched-tiles-x4":  # 4 images, 8 tiles per forward; time per image
                predict_tiled_batch(model, x4, TileConfig(512, 64, batch_size=8), device)
            else:  # "whole-x4": 4 whole images in one forward, through the tiling code
                predict_tiled_batch(model, x4, TileConfig(0, 64, batch_size=4), device)
        if device == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = time_repeats(run, repeats=3) / (4 if mode.endswith("x4") else 1)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def bench_tiling(device: str) -> None:
    res = {}
    modes = ["whole", "tiled", "batched-tiles-x4"] + (["whole-x4"] if device == "cuda" else [])
    for mode in modes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_evaluation", "--child", mode, "--device", device],
            capture_output=True,
            text=True,
            check=True,
        )
        res[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        kind = "peak GPU memory" if device == "cuda" else "peak RSS"
        print(
            f"inference ({device}): {mode}: {res[mode]['seconds']:.2f} s per image, "
            f"{kind} {res[mode]['peak_mib']:.0f} MiB"
        )
    print(
        f"inference ({device}): tiled / whole = "
        f"{res['tiled']['seconds'] / res['whole']['seconds']:.2f}x"
    )


def bench_predict(args: argparse.Namespace) -> None:
    """Point 3 of the module docstring."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        images = args.images
        if not images:
            from fncssl.data.synth import write_synthetic_archive

            root = write_synthetic_archive(Path(tmp) / "a", ["green"], 0, args.n_images, seed=0)
            images = str(root / "green" / "unlabelled" / "images")
        n = len(list(Path(images).iterdir()))
        settings = [("one image at a time, serial post-processing", 1, 0, 512)]
        settings.append(
            (
                f"batched x{args.image_batch}, {args.workers} workers",
                args.image_batch,
                args.workers,
                512,
            )
        )
        if args.device == "cuda":
            settings.append(
                (
                    f"whole images x{args.image_batch}, {args.workers} workers",
                    args.image_batch,
                    args.workers,
                    0,
                )
            )
        first = None
        for label, batch, workers, tile in settings:
            out = Path(tmp) / f"out-{batch}-{workers}-{tile}"
            cmd = [
                sys.executable,
                "-m",
                "fncssl",
                "predict",
                args.predict,
                images,
                "--out",
                str(out),
                "--device",
                args.device,
                "--image-batch",
                str(batch),
                "--workers",
                str(workers),
                "--tile",
                str(tile),
            ]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            counts = (out / "counts.csv").read_text()
            same = ""
            if tile and first is not None:  # whole-image maps differ slightly at tile seams
                same = ", same counts" if counts == first else ", COUNTS DIFFER"
            first = first or counts
            print(
                f"predict ({args.device}, {label}, tile {tile or 'whole'}): {n} images in "
                f"{wall:.1f} s = {n / wall:.2f} images/s{same}"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--child", default="")
    ap.add_argument("--predict", default="", help="checkpoint: time fncssl predict runs")
    ap.add_argument("--images", default="", help="--predict: folder of images")
    ap.add_argument("--n-images", type=int, default=6, help="--predict: synthetic images")
    ap.add_argument("--image-batch", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.child:
        _inference_child(args.child, args.device)
        return
    print("machine:", machine())
    if args.predict:
        bench_predict(args)
        return
    bench_matching()
    bench_tiling(args.device)


if __name__ == "__main__":
    main()
