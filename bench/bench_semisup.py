"""Pseudo-labelling speed and student vs teacher (issue: pseudo-labelling and consistency).

1. ``time``: seconds per 1600x1200 image for ``write_pseudolabels`` with the paper's c-ResUnet
   (16 features, random weights: speed does not depend on them), 512-px tiles in batches of
   8, without TTA and with d4 TTA (8 passes).
2. ``compare``: at label fraction 0.1 on a small red synthetic archive, for each seed a
   teacher (supervised, the labelled subset only) and one pseudo-label student round trained
   with the same schedule from scratch; test F1 (paper protocol) of both, mean/std over
   seeds and the paired difference.

    python -m bench.bench_semisup time [--device cuda] [--images 3]
    python -m bench.bench_semisup compare [--seeds 0 1 2] [--out DIR]
    python -m bench.bench_semisup summarise DIR      # the table again, from finished runs
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.common import machine
from fncssl.config import load_config
from fncssl.data.layout import open_archive
from fncssl.data.synth import write_synthetic_archive
from fncssl.finetune.config import FinetuneConfig
from fncssl.finetune.run import run_finetune
from fncssl.models.cresunet import CResUnet
from fncssl.semisup.pseudolabel import unlabelled_records, write_pseudolabels

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke" / "pseudolabel.yaml"
COMPARE = [  # the demo's recipe (lr, dice + bce, foreground bias): ~2 min a seed, idle CPU
    "data.label_fraction=0.1",
    "data.crop_size=128",
    "data.batch_size=8",
    "data.samples_per_epoch=64",
    "data.val_samples=16",
    "data.foreground_bias=0.7",
    "trainer.max_epochs=16",
    "optim.lr=0.003",
    "loss.weights={dice: 1.0, bce: 1.0}",
    "eval.every_n_epochs=0",
    "semisup.max_unlabelled=6",
    "semisup.unlabelled_ratio=0.5",
    "semisup.lambda_max=1.0",
]


def pseudolabel_time(device: str, images: int, work: Path) -> None:
    root = write_synthetic_archive(
        work / "a", ["red"], labelled=2, unlabelled=images, size=(1600, 1200), seed=0
    )
    torch.manual_seed(0)
    teacher = work / "model.pth"
    torch.save({"model": CResUnet().state_dict()}, teacher)
    records = unlabelled_records(open_archive(root), ["red"])
    print(f"machine: {machine()}")
    for tta, recs in (("none", records), ("d4", records[:1])):
        t0 = time.perf_counter()
        write_pseudolabels(teacher, recs, work / f"pl-{tta}", tta, 512, 64, 8, device)
        per = (time.perf_counter() - t0) / len(recs)
        print(f"tta={tta}: {per:.2f} s per image over {len(recs)} image(s) on {device}; "
              f"1124 images -> {1124 * per / 60:.1f} min")  # fmt: skip


def compare(seeds: list[int], out: Path) -> None:
    root = write_synthetic_archive(
        out / "archive", ["red"], labelled=24, unlabelled=12, size=(480, 360), seed=3
    )
    for seed in seeds:
        cfg = load_config(
            FinetuneConfig,
            SMOKE,
            [*COMPARE, f"seed={seed}", f"data.root={root}", f"run.dir={out}", f"run.name=s{seed}"],
        )
        t0 = time.perf_counter()
        run_finetune(cfg)
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    summarise(out)


def _scores(metrics: Path) -> dict[str, float]:
    paper = json.loads(metrics.read_text())["paper"]
    return {
        "seg": paper["segmentation"]["f1"],
        "det": paper["detection"]["f1"],
        "dice": paper["pixel"]["dice"],
    }


def summarise(out: Path) -> None:
    """Teacher vs student test scores of every ``s<seed>`` run under ``out``."""
    rows = []
    for parent in sorted(out.glob("s[0-9]*")):
        if (parent / "metrics.json").is_file():
            teacher = _scores(parent / "teacher" / "metrics.json")
            student = _scores(parent / "metrics.json")
            rows.append({"run": parent.name, "teacher": teacher, "student": student})
            print(rows[-1])
    (out / "compare.json").write_text(json.dumps(rows, indent=1))
    print(f"machine: {machine()}")
    for task in ("seg", "det", "dice"):
        t = [r["teacher"][task] for r in rows]
        s = [r["student"][task] for r in rows]
        d = [b - a for a, b in zip(t, s, strict=True)]
        sd = statistics.stdev if len(rows) > 1 else (lambda _: 0.0)
        print(f"{task}: teacher {statistics.mean(t):.3f} +- {sd(t):.3f}, student "
              f"{statistics.mean(s):.3f} +- {sd(s):.3f}, paired student - teacher "
              f"{statistics.mean(d):+.3f} +- {sd(d):.3f} ({sum(x > 0 for x in d)}/{len(d)} "
              "seeds better)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("time")
    t.add_argument("--device", default="cpu")
    t.add_argument("--images", type=int, default=3)
    c = sub.add_parser("compare")
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    c.add_argument("--out", default="")
    r = sub.add_parser("summarise")
    r.add_argument("out")
    a = p.parse_args()
    if a.what == "time":
        with tempfile.TemporaryDirectory() as tmp:
            pseudolabel_time(a.device, a.images, Path(tmp))
    elif a.what == "summarise":
        summarise(Path(a.out))
    else:
        out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="semisup-bench-"))
        compare(a.seeds, out)


if __name__ == "__main__":
    main()
