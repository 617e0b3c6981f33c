"""Sim-to-real: train the c-ResUnet on synthetic images only, score it on the real samples.

For each collection with real labelled samples (yellow and red in ../shared/fnc-samples), a
synthetic collection is rendered with ``fncssl synth``, a fresh c-ResUnet is trained on random
crops of it (foreground-biased, flips and 90-degree rotations, Dice + BCE, Adam with a one-cycle
learning rate), then every real image is predicted whole (tiled) and scored with the paper's
protocol (threshold 0.5, hole filling, small-object removal, watershed; IoU 0.5 / 40 px).
Each seed renders its own archive and trains its own model; the table gives every seed and
the mean ± std over seeds, and whether every real image with more than 5 cells was counted
within 30% of its true count. The same model also predicts ``--heldout`` synthetic images it
never trained on (a separate archive, seed + 10000), scored the same way: the sim-to-sim
figure. The gap between the two tables is the domain gap; a count bias (mean signed error,
% of the true count) that shows on both is the training recipe's, not the renderer's.
With ``--tune-threshold N`` the same model also predicts N synthetic validation images (seed +
20000), picks the probability threshold with the best detection F1 on them, and scores the
real and held-out images again at that threshold: a validation-chosen threshold, paired with
the paper's 0.5 by construction. The real images never choose anything.

    python -m bench.bench_sim2real                  # CPU-sized: 300 steps of 160 px, 3 seeds
    python -m bench.bench_sim2real --gpu --workers 16   # paper-sized: 283 images, 512 px, batch 32

The real samples are only read, never copied. Results: JSON in --out and a Markdown table on
stdout (paste it into bench/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.bench_label_cut import (
    bodies_found,
    median_object_area,
    object_breakdown,
    unmarked_bodies,
)
from bench.common import counts_within, machine, out_file_problem
from fncssl.argtypes import OneLineErrorParser, bounded
from fncssl.data.atomic import write_text
from fncssl.data.imageio import read_image, read_mask
from fncssl.data.synth import write_synthetic_archive
from fncssl.data.synth_check import find_labelled, smoothed
from fncssl.errors import FNCError
from fncssl.evaluation.postprocess import PostprocessConfig, probability_to_instances
from fncssl.evaluation.scoring import score_images
from fncssl.finetune.losses import bce_loss, dice_loss
from fncssl.models.inference import probability_map, tile_config
from fncssl.models.registry import build_model
from fncssl.sigterm import exit_on_sigterm

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "fnc-samples"
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "sim2real.json"  # gitignored


def sample_crops(
    rng: np.random.Generator,
    images: list[np.ndarray],
    masks: list[np.ndarray],
    n: int,
    size: int,
    fg_share: float = 2 / 3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, size, size) float in [0, 1] and (n, 1, size, size) targets; a share ``fg_share``
    of them placed over a random cell pixel, the rest anywhere (0 = plain random crops)."""
    xs, ys = [], []
    for _ in range(n):
        i = int(rng.integers(len(images)))
        im, m = images[i], masks[i]
        h, w = m.shape
        pos = np.flatnonzero(m[::4, ::4]) if rng.random() < fg_share else np.empty(0)
        if pos.size:
            k = int(pos[rng.integers(pos.size)])
            cy, cx = (k // ((w + 3) // 4)) * 4, (k % ((w + 3) // 4)) * 4
            y0 = int(np.clip(cy - rng.integers(size), 0, h - size))
            x0 = int(np.clip(cx - rng.integers(size), 0, w - size))
        else:
            y0, x0 = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        a = im[y0 : y0 + size, x0 : x0 + size]
        b = m[y0 : y0 + size, x0 : x0 + size]
        k = int(rng.integers(4))
        a, b = np.rot90(a, k), np.rot90(b, k)
        if rng.random() < 0.5:
            a, b = a[:, ::-1], b[:, ::-1]
        xs.append(np.ascontiguousarray(a.transpose(2, 0, 1)))
        ys.append(np.ascontiguousarray(b[None]))
    x = torch.from_numpy(np.stack(xs)).float().div_(255.0)
    return x, torch.from_numpy(np.stack(ys)).float()


def train(
    images: list[np.ndarray],
    masks: list[np.ndarray],
    steps: int,
    crop: int,
    batch: int,
    device: str,
    seed: int,
    pos_weight: float = 3.0,
    fg_share: float = 2 / 3,
) -> torch.nn.Module:
    """A c-ResUnet trained on the given (synthetic) images with Dice + 0.5 BCE (cell pixels
    weighted ``pos_weight``); returns it in eval mode."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model("cresunet", bn_momentum=0.1).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps, pct_start=0.2)
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        x, y = sample_crops(rng, images, masks, batch, crop, fg_share)
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = dice_loss(logits, y) + 0.5 * bce_loss(logits, y, pos_weight=pos_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0 or step == steps - 1:
            print(
                f"  step {step:5d} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    return model.eval()


# Each run renders up to three archives whose seeds must never meet: training (the run's seed,
# 0 to HELDOUT_SEED_OFFSET - 1), held-out (seed + HELDOUT_SEED_OFFSET) and threshold validation
# (seed + VALIDATION_SEED_OFFSET).
HELDOUT_SEED_OFFSET = 10_000
VALIDATION_SEED_OFFSET = 2 * HELDOUT_SEED_OFFSET
THRESHOLD_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.30, 0.35, ..., 0.90
PAPER_THRESHOLD = 0.5


def predict(
    model: torch.nn.Module, collection: str, samples: Path, device: str
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, true mask, float (H, W) probability map) for each labelled image of
    ``collection`` under ``samples`` (the real samples or a synthetic archive)."""
    items = []
    for x in find_labelled(samples):
        if x.collection != collection:
            continue
        prob = probability_map(model, read_image(x.image), tile_config("cresunet"), device)
        items.append((x.image.stem, read_mask(x.mask, True), prob))
    return items


def score_at(items: list[tuple[str, np.ndarray, np.ndarray]], threshold: float) -> dict:
    """Paper-protocol scores of predicted probability maps binarised at ``threshold``
    (the rest of the post-processing at the paper's defaults)."""
    cfg = PostprocessConfig(threshold=threshold)
    return score_images((n, m, probability_to_instances(p, cfg)) for n, m, p in items)


def audit_real(
    samples: Path, collection: str, items: list[tuple[str, np.ndarray, np.ndarray]]
) -> dict[str, dict]:
    """{image stem: {"bodies": [(peak, found), ...], "objects": {...}}} for the real images:
    each unmarked cell body (``bench_label_cut``) and whether the model's objects at the paper
    threshold lie on it, and where each of those objects lies (``object_breakdown``)."""
    images = {x.image.stem: x.image for x in find_labelled(samples) if x.collection == collection}
    median_area = median_object_area([m for _, m, _ in items])
    cfg = PostprocessConfig(threshold=PAPER_THRESHOLD)
    out = {}
    for name, mask, prob in items:
        smooth = smoothed(read_image(images[name]).max(axis=2))
        body, peak = unmarked_bodies(smooth, mask, median_area)
        predicted = probability_to_instances(prob, cfg)
        out[name] = {
            "bodies": bodies_found(body, peak, predicted),
            "objects": object_breakdown(mask, body, predicted),
        }
    return out


def choose_threshold(by_threshold: dict[float, dict]) -> float:
    """The threshold with the highest detection F1; a tie goes to the one nearest 0.5, and
    two equally near (0.4 and 0.6) to the lower one."""
    return max(
        by_threshold,
        key=lambda t: (
            by_threshold[t]["detection"]["f1"],
            -round(abs(t - PAPER_THRESHOLD), 6),
            -t,
        ),
    )


def _render(args: argparse.Namespace, work: Path, collection: str, n: int, seed: int) -> Path:
    """A labelled-only synthetic archive of ``n`` images of ``collection`` under ``work``."""
    return write_synthetic_archive(
        work / f"{collection}-{seed}", [collection], n, 0, None, seed=seed, workers=args.workers
    )


def run_one(args: argparse.Namespace, collection: str, seed: int, work: Path, device: str) -> dict:
    """Render, train and score one (collection, seed); the seed drives both archive and model."""
    t0 = time.perf_counter()
    found = find_labelled(_render(args, work, collection, args.images, seed))
    images = [read_image(x.image) for x in found]
    masks = [read_mask(x.mask) for x in found]
    t_synth = time.perf_counter() - t0
    print(
        f"{collection} seed {seed}: {len(images)} synthetic images in {t_synth:.0f} s; training",
        flush=True,
    )
    model = train(
        images,
        masks,
        args.steps,
        args.crop,
        args.batch,
        device,
        seed,
        args.pos_weight,
        args.fg_share,
    )
    t_train = time.perf_counter() - t0 - t_synth
    real = predict(model, collection, Path(args.samples), device)
    scores = score_at(real, PAPER_THRESHOLD)
    scores["real_audit"] = audit_real(Path(args.samples), collection, real)
    t_tune = time.perf_counter()
    if args.tune_threshold > 0:  # chosen on synthetic images only; the real ones choose nothing
        val_seed = VALIDATION_SEED_OFFSET + seed
        val = _render(args, work, collection, args.tune_threshold, val_seed)
        val_items = predict(model, collection, val, device)
        on_val = {t: score_at(val_items, t) for t in THRESHOLD_GRID}
        chosen = choose_threshold(on_val)
        cells = sum(i["true_count"] for i in on_val[chosen]["images"])
        print(
            f"  threshold chosen on {len(val_items)} synthetic images ({cells} cells): {chosen}",
            flush=True,
        )
        scores["tuned"] = {
            "threshold": chosen,
            "validation_cells": cells,
            "validation_det_f1": {str(t): r["detection"]["f1"] for t, r in on_val.items()},
            "real": score_at(real, chosen),
        }
    t_held = time.perf_counter()
    if args.heldout > 0:
        held = _render(args, work, collection, args.heldout, HELDOUT_SEED_OFFSET + seed)
        held_items = predict(model, collection, held, device)
        scores["synthetic_heldout"] = score_at(held_items, PAPER_THRESHOLD)
        if "tuned" in scores:
            scores["tuned"]["synthetic_heldout"] = score_at(
                held_items, scores["tuned"]["threshold"]
            )
    held_s = time.perf_counter() - t_held
    scores["timing_s"] = {
        "synth": t_synth,
        "train": t_train,
        "tuning": t_held - t_tune,
        "heldout": held_s,
    }
    return scores


def count_ok(scores: dict) -> bool:
    """True when every image with more than 5 cells is counted within 30% (``counts_within``)."""
    return counts_within((i["pred_count"], i["true_count"]) for i in scores["images"])


def count_bias(scores: dict) -> float:
    """Mean signed count error in % of the true count over images with cells (> 0 means
    over-counting), or NaN when no image has a cell."""
    errors = [
        100.0 * (i["pred_count"] - i["true_count"]) / i["true_count"]
        for i in scores["images"]
        if i["true_count"] > 0
    ]
    return float(np.mean(errors)) if errors else float("nan")


def run(args: argparse.Namespace) -> dict:
    device = "cuda" if args.gpu and torch.cuda.is_available() else "cpu"
    seeds = args.seeds
    results = {"machine": machine(), "settings": vars(args), "collections": {}}
    with tempfile.TemporaryDirectory(prefix="sim2real-") as tmp:  # archives are removed after
        work = Path(tmp)
        for c in args.collections.split(","):
            results["collections"][c] = {str(s): run_one(args, c, s, work, device) for s in seeds}
    return results


def _signed(value: float) -> str:
    return f"{value:+.0f}" if math.isfinite(value) else "n/a"


def _signed_mean_std(values: list[float]) -> str:
    """Signed mean ± std (whole percent) of the finite values, or n/a when there are none."""
    a = np.asarray([v for v in values if math.isfinite(v)], float)
    if not a.size:
        return "n/a"
    return f"{a.mean():+.0f} ± {a.std(ddof=1):.0f}" if a.size > 1 else f"{a.mean():+.0f}"


def _mean_std(values: list[float]) -> str:
    a = np.asarray(values, float)
    return f"{a.mean():.2f} ± {a.std(ddof=1):.2f}" if a.size > 1 else f"{a.mean():.2f}"


def _pick(collections: dict[str, dict[str, dict]], key: str) -> dict[str, dict[str, dict]]:
    """``collection -> seed -> run[key]`` for the runs that have ``key``."""
    return {
        c: {s: r[key] for s, r in by_seed.items() if key in r} for c, by_seed in collections.items()
    }


def markdown(results: dict) -> str:
    """One row per (collection, seed), then mean ± std over seeds; per-image pred/true counts.
    A second table scores the held-out synthetic images, when there are any; with a threshold
    chosen on validation images, the real (and held-out) images again at that threshold."""
    real = results["collections"]
    held = _pick(real, "synthetic_heldout")
    text = "Real samples:\n\n" + _table(real)
    found = _found_lines(real)
    if found:
        text += (
            "\n\nWhere the predicted objects on the real images lie (at least half of each;"
            " unmarked cell bodies as in bench_label_cut):\n\n" + found
        )
    if any(held.values()):
        text += "\n\nSynthetic held-out images (never trained on):\n\n" + _table(held)
    tuned = _pick(real, "tuned")
    if any(tuned.values()):
        chosen = "; ".join(
            f"{c} " + ", ".join(f"seed {s}: {t['threshold']:.2f}" for s, t in by_seed.items())
            for c, by_seed in tuned.items()
            if by_seed
        )
        text += (
            "\n\nThreshold chosen on synthetic validation images (highest det F1), "
            f"same models ({chosen}); real samples:\n\n" + _table(_pick(tuned, "real"))
        )
        tuned_held = _pick(tuned, "synthetic_heldout")
        if any(tuned_held.values()):
            text += "\n\nThe same, synthetic held-out images:\n\n" + _table(tuned_held)
    return text


def _found_lines(collections: dict[str, dict[str, dict]]) -> str:
    """One line per (collection, seed) with ``real_audit``; empty when no run has it."""
    lines = []
    for c, by_seed in collections.items():
        for seed, r in by_seed.items():
            for name, a in r.get("real_audit", {}).items():
                o, bodies = a["objects"], a["bodies"]
                found = " ".join(f"{p:.1f}" for p, h in bodies if h) or "none"
                lines.append(
                    f"- {c} seed {seed}, {name}: {o['objects']} objects = {o['cells']} on cells"
                    f" + {o['splits']} more on a cell + {o['bodies']} on unmarked bodies"
                    f" + {o['other']} elsewhere; cells missed {o['missed']}; bodies found"
                    f" {sum(h for _, h in bodies)} of {len(bodies)} ({found})"
                )
    return "\n".join(lines)


def _table(collections: dict[str, dict[str, dict]]) -> str:
    lines = [
        "| collection | seed | seg F1 | seg P | seg R | det F1 | det P | det R | count MAE |"
        " count bias % | per-image counts (pred/true) | counts within 30% |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = [("segmentation", "f1"), ("segmentation", "precision"), ("segmentation", "recall"),
            ("detection", "f1"), ("detection", "precision"), ("detection", "recall"),
            ("counting", "mae")]  # fmt: skip
    for c, by_seed in collections.items():
        if not by_seed:
            continue
        for seed, r in by_seed.items():
            counts = ", ".join(f"{i['pred_count']}/{i['true_count']}" for i in r["images"])
            cells = " | ".join(f"{r[a][b]:.2f}" for a, b in keys)
            ok = "yes" if count_ok(r) else "no"
            lines.append(f"| {c} | {seed} | {cells} | {_signed(count_bias(r))} | {counts} | {ok} |")
        if len(by_seed) > 1:
            runs = list(by_seed.values())
            cells = " | ".join(_mean_std([r[a][b] for r in runs]) for a, b in keys)
            bias = _signed_mean_std([count_bias(r) for r in runs])
            ok = sum(count_ok(r) for r in runs)
            lines.append(
                f"| {c} | mean ± std (n={len(runs)}) | {cells} | {bias} | | {ok}/{len(runs)} |"
            )
    return "\n".join(lines)


def seed_list(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]`` (an argparse type: bad text is a usage error)."""
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"repeated seed in {text!r}")
    if not all(0 <= s < HELDOUT_SEED_OFFSET for s in seeds):  # see HELDOUT_SEED_OFFSET
        raise argparse.ArgumentTypeError(f"seeds must be 0 to {HELDOUT_SEED_OFFSET - 1}: {text!r}")
    return seeds


def main() -> None:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--collections",
        default="yellow,red",
        help="comma-separated, each with real samples (default yellow,red)",
    )
    p.add_argument(
        "--images",
        type=bounded(int, 1),
        default=12,
        help="synthetic labelled images, full size (default 12; --gpu 283)",
    )
    p.add_argument(
        "--steps", type=bounded(int, 10), default=300, help="training steps (default 300)"
    )
    p.add_argument(
        "--crop", type=bounded(int, 32), default=160, help="training crop side, px (default 160)"
    )
    p.add_argument("--batch", type=bounded(int, 1), default=8, help="crops per step (default 8)")
    p.add_argument(
        "--pos-weight",
        type=bounded(float, 0, above=True),
        default=3.0,
        help="BCE weight of cell pixels (default 3)",
    )
    p.add_argument(
        "--seeds", type=seed_list, default="0,1,2", help="e.g. 0,1,2; each renders and trains anew"
    )
    p.add_argument("--workers", type=bounded(int, 1), default=2, help="rendering processes")
    p.add_argument(
        "--fg-share",
        type=bounded(float, 0, 1),
        default=2 / 3,
        help="share of training crops placed over a cell (default 2/3; 0 = random crops)",
    )
    p.add_argument(
        "--heldout",
        type=bounded(int, 0),
        default=None,
        help="held-out synthetic images scored too (0 = none; default 4, with --gpu 60)",
    )
    p.add_argument(
        "--tune-threshold",
        type=bounded(int, 0),
        default=0,
        metavar="N",
        help="N synthetic validation images (seed + 20000) on which to choose a threshold\n"
        "(0.30-0.90, best det F1); the real and held-out images are scored at it too,\n"
        "beside the paper's 0.5 (default 0: 0.5 only)",
    )
    p.add_argument(
        "--samples",
        default=str(SAMPLES),
        help="real samples folder (default ../shared/fnc-samples)",
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="results JSON (default bench/out/sim2real.json, not tracked by git)",
    )
    p.add_argument("--threads", type=bounded(int, 1), default=2, help="CPU threads")
    p.add_argument("--gpu", action="store_true", help="paper-sized run on CUDA")
    args = p.parse_args()
    if args.gpu:  # paper-sized: the full labelled collection, 512 px crops, batch 32
        args.images, args.crop, args.batch = 283, 512, 32
        args.steps = max(args.steps, 2000)  # about 40 epochs of 50 crops per trainval image
    if args.heldout is None:
        args.heldout = 60 if args.gpu else 4
    if not Path(args.samples).is_dir():
        p.error(f"real samples not found at {args.samples}")
    try:
        have = sorted({x.collection for x in find_labelled(args.samples)})
    except FNCError as err:
        p.exit(1, f"{p.prog}: {err}\n")
    for c in args.collections.split(","):
        if c not in have:
            p.error(
                f"no real labelled {c!r} images under {args.samples} (it has: {', '.join(have)})"
            )
    if problem := out_file_problem(args.out):
        p.error(problem)
    torch.set_num_threads(args.threads)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    results = run(args)
    write_text(args.out, json.dumps(results, indent=1, default=str))  # atomic
    print(markdown(results))
    print(f"\nwritten: {Path(args.out).resolve()}")


if __name__ == "__main__":
    main()
