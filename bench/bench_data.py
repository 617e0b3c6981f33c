"""Data-layer benchmarks (issue: foundation and data layer).

1. Indexing an archive with the real image counts (1874 images): target < 1 s.
2. 512x512 crops/s from 1600x1200 images with the decoded-image cache vs decoding the PNG for
   every crop: target >= 20x.

    python -m bench.bench_data [--root ARCHIVE_WITH_1874_IMAGES]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import machine, time_repeats
from fncssl.data.datasets import DecodedImageCache, LabelledCrops
from fncssl.data.layout import open_archive
from fncssl.data.synth import write_synthetic_archive


class _NoCache(DecodedImageCache):
    """Decodes on every access: the baseline."""

    def get(self, key, load):
        return load()


def bench_index(root: Path) -> None:
    n = len(open_archive(root).records)
    t = time_repeats(lambda: open_archive(root), repeats=7)
    print(f"index: {n} images in {t * 1000:.1f} ms (median of 7)")


def bench_crops(root: Path, crops: int = 200) -> None:
    records = open_archive(root).select(["green"], ["trainval", "test"])
    rates = {}
    for name, cache, n in (
        ("decode every crop", _NoCache(), crops // 10),
        ("decoded cache", DecodedImageCache(), crops),
    ):
        ds = LabelledCrops(records, 512, n + len(records), seed=0, cache=cache)
        for i in range(len(records)):  # warm up: first decodes, foreground index, page cache
            ds[n + i]
        t0 = time.perf_counter()
        for i in range(n):
            ds[i]
        rates[name] = n / (time.perf_counter() - t0)
        print(f"crops: {name}: {rates[name]:.1f} crops/s (512x512 from 1600x1200)")
    print(f"crops: speed-up {rates['decoded cache'] / rates['decode every crop']:.0f}x")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--root", default="")
    args = p.parse_args()
    print("machine:", machine())
    with tempfile.TemporaryDirectory() as tmp:
        if args.root:
            index_root = Path(args.root)
        else:  # the real counts (1874 images) at a tiny size: indexing never opens images
            index_root = write_synthetic_archive(Path(tmp) / "index", size=(96, 72), seed=0)
        bench_index(index_root)
        crop_root = write_synthetic_archive(Path(tmp) / "crops", ["green"], 6, 0, seed=0)
        bench_crops(crop_root)


if __name__ == "__main__":
    main()
