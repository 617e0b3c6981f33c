"""The study report's figures (matplotlib, Agg) and its TensorBoard view.

* ``label_efficiency.png``: seg F1 against the label fraction (or count) axis, one line per
  initialisation, mean over seeds with a band of +/- one standard deviation (min-max when
  fewer than 3 seeds).
* ``transfer_matrix.png``: mean seg F1 of training collection (rows) x test collection
  (columns), one annotated heatmap per initialisation.
* ``curves.png``: training loss and validation Dice per step, read from each run's
  TensorBoard events, coloured by initialisation.
* ``tensorboard/``: the same curves copied under tags ``<metric>/<grid point>/<init> s<seed>``
  with a custom-scalars layout that puts every initialisation of a grid point in one chart.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fncssl.experiments.results import Result, axes_of

FRACTION_AXES = ("data.label_fraction", "data.label_count")
CURVE_TAGS = {"train/loss_epoch": "training loss", "val/dice": "validation Dice"}


def _colour(i: int) -> tuple:
    return plt.get_cmap("tab10")(i % 10)


def _axis_named(results: list[Result], names: tuple[str, ...]) -> str | None:
    axes = axes_of(results)
    return next((a for a in names if a in axes), None)


def plot_label_efficiency(results: list[Result], out: Path, metric: str = "seg_f1") -> Path | None:
    """F1 vs label fraction/count per init (one panel per other grid point and test set)."""
    x_axis = _axis_named(results, FRACTION_AXES)
    grid = [r for r in results if x_axis in r.point]
    if x_axis is None or not grid:
        return None
    others = [a for a in axes_of(grid) if a not in (x_axis, "init", "seed")]
    panels: dict[tuple, list[Result]] = {}
    for r in grid:
        panels.setdefault((*tuple(r.point.get(a, "") for a in others), r.test), []).append(r)
    inits = sorted({r.point.get("init", "-") for r in grid}, key=lambda s: (s != "scratch", s))
    fig, axs = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    for ax, (key, members) in zip(axs[0], panels.items(), strict=True):
        for i, init in enumerate(inits):
            by_x: dict[float, list[float]] = {}
            for r in members:
                if r.point.get("init", "-") == init:
                    by_x.setdefault(float(r.point[x_axis]), []).append(r.metrics[metric])
            if not by_x:
                continue
            xs = sorted(by_x)
            vals = [np.array(by_x[x], float) for x in xs]
            mean = np.array([v.mean() for v in vals])
            if min(v.size for v in vals) >= 3:
                sd = np.array([v.std(ddof=1) for v in vals])
                lo, hi = mean - sd, mean + sd
            else:
                lo, hi = np.array([v.min() for v in vals]), np.array([v.max() for v in vals])
            ax.plot(xs, mean, "o-", color=_colour(i), label=init)
            ax.fill_between(xs, lo, hi, color=_colour(i), alpha=0.2)
        ticks = sorted({float(r.point[x_axis]) for r in members})
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        if metric.endswith(("f1", "_p", "_r")) or metric.startswith("ap"):
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(x_axis.split(".")[-1].replace("_", " "))
        ax.set_ylabel(metric.replace("_", " "))
        title = ", ".join(f"{a.split('.')[-1]}={v}" for a, v in zip(others, key, strict=False))
        ax.set_title(f"{title} test={key[-1]}".strip(", "), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, out / "label_efficiency.png")


def _save(fig: plt.Figure, path: Path) -> Path:
    """Lay out, write (atomically) and close ``fig``."""
    from fncssl.data.atomic import atomic_open

    fig.tight_layout()
    with atomic_open(path) as fh:
        fig.savefig(fh, dpi=110, format="png")
    plt.close(fig)
    return path


def transfer_matrix(results: list[Result], metric: str = "seg_f1") -> dict[str, dict]:
    """init -> {"rows": train sets, "cols": test sets, "values": mean matrix (nan = none)}."""
    per_run: dict[str, int] = {}
    for r in results:
        per_run[r.run] = per_run.get(r.run, 0) + 1
    tests = sorted({r.test for r in results if "+" not in r.test})
    if len(tests) < 2 or max(per_run.values()) < 2:  # no run was tested on other collections
        return {}
    out = {}
    for init in sorted({r.point.get("init", "-") for r in results}):
        cells: dict[tuple[str, str], list[float]] = {}
        for r in results:
            if r.point.get("init", "-") == init and r.test in tests:
                cells.setdefault((r.train, r.test), []).append(r.metrics[metric])
        rows = sorted({k[0] for k in cells}, key=lambda s: (s.count("+"), s))
        values = np.full((len(rows), len(tests)), math.nan)
        for (tr, te), v in cells.items():
            values[rows.index(tr), tests.index(te)] = float(np.mean(v))
        out[init] = {"rows": rows, "cols": tests, "values": values}
    return out


def plot_transfer(matrices: dict[str, dict], out: Path, metric: str = "seg_f1") -> Path | None:
    if not matrices:
        return None
    fig, axs = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.8), squeeze=False)
    for ax, (init, m) in zip(axs[0], matrices.items(), strict=True):
        v = m["values"]
        ax.imshow(v, vmin=0, vmax=1, cmap="viridis")
        for i in range(v.shape[0]):
            for j in range(v.shape[1]):
                text = "-" if math.isnan(v[i, j]) else f"{v[i, j]:.2f}"
                ax.text(j, i, text, ha="center", va="center", color="w" if v[i, j] < 0.6 else "k")
        ax.set_xticks(range(len(m["cols"])), m["cols"])
        ax.set_yticks(
            range(len(m["rows"])), [r.replace("green+yellow+red", "all") for r in m["rows"]]
        )
        ax.set_xlabel("test collection")
        ax.set_ylabel("training collection")
        ax.set_title(f"{metric.replace('_', ' ')}: init={init}", fontsize=9)
    return _save(fig, out / "transfer_matrix.png")


def read_curves(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{tag: (steps, values)} of the scalar tags in ``CURVE_TAGS`` from ``<run>/tb``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = run_dir / "tb"
    if not tb.is_dir():
        return {}
    acc = EventAccumulator(str(tb), size_guidance={"scalars": 0})
    acc.Reload()
    have = set(acc.Tags().get("scalars", []))
    curves = {}
    for tag in CURVE_TAGS:
        if tag in have:
            events = acc.Scalars(tag)
            curves[tag] = (
                np.array([e.step for e in events]),
                np.array([e.value for e in events], float),
            )
    return curves


def plot_curves(study_dir: Path, results: list[Result], out: Path) -> Path | None:
    """Training and validation curves of every run, coloured by initialisation."""
    runs = {r.run: r for r in results}
    inits = sorted(
        {r.point.get("init", "-") for r in runs.values()}, key=lambda s: (s != "scratch", s)
    )
    fig, axs = plt.subplots(1, len(CURVE_TAGS), figsize=(5 * len(CURVE_TAGS), 3.6), squeeze=False)
    drawn = False
    labelled: set[tuple[str, str]] = set()
    for name, r in sorted(runs.items()):
        init = r.point.get("init", "-")
        curves = read_curves(study_dir / "runs" / name)
        for ax, tag in zip(axs[0], CURVE_TAGS, strict=True):
            if tag not in curves:
                continue
            steps, vals = curves[tag]
            label = init if (init, tag) not in labelled else None
            labelled.add((init, tag))
            ax.plot(steps, vals, color=_colour(inits.index(init)), alpha=0.6, lw=1, label=label)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    for ax, (tag, title) in zip(axs[0], CURVE_TAGS.items(), strict=True):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel(tag)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, out / "curves.png")


def write_tensorboard(study_dir: Path, results: list[Result]) -> Path:
    """``<study>/tensorboard``: every run's curves regrouped, and a custom-scalars layout
    with one chart per metric and grid point holding all its initialisations and seeds."""
    import shutil

    from torch.utils.tensorboard import SummaryWriter

    out = study_dir / "tensorboard"
    if out.exists():
        shutil.rmtree(out)
    runs = {r.run: r for r in results}
    axes = [a for a in axes_of(list(runs.values())) if a not in ("init", "seed")]
    layout: dict[str, dict[str, list]] = {}
    with SummaryWriter(str(out)) as writer:
        for name, r in sorted(runs.items()):
            group = ",".join(f"{a.split('.')[-1]}={r.point.get(a, '')}" for a in axes) or "all"
            series = f"{r.point.get('init', '-')} s{r.seed or 0}"
            for tag, (steps, vals) in read_curves(study_dir / "runs" / name).items():
                metric = tag.replace("/", "_")
                for s, v in zip(steps, vals, strict=True):
                    writer.add_scalar(f"{metric}/{group}/{series}", float(v), int(s))
                chart = layout.setdefault(CURVE_TAGS[tag], {})
                chart[group] = ["Multiline", [f"^{metric}/{_regex(group)}/"]]
        writer.add_custom_scalars(layout)
    return out


def _regex(text: str) -> str:
    import re

    return re.escape(text)
