"""Reading a study's finished runs back from their directories, and the statistics on them.

Everything here is computed from ``<study>/runs/*/`` alone: ``study_run.json`` (the grid
point), ``config.yaml``, ``metrics.json`` (the run's own test split) and
``eval-test-<collection>/metrics_paper.json`` (extra test collections). Metrics follow the
paper protocol.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from fncssl.experiments.study import StudyError

METRICS = {
    "seg_f1": ("segmentation", "f1"),
    "seg_p": ("segmentation", "precision"),
    "seg_r": ("segmentation", "recall"),
    "det_f1": ("detection", "f1"),
    "det_p": ("detection", "precision"),
    "det_r": ("detection", "recall"),
    "count_mae": ("counting", "mae"),
    "count_mpe": ("counting", "mpe"),
    "ap": ("coco", "segm", "ap"),
    "ap50": ("coco", "segm", "ap50"),
}
LABELS = {
    "seg_f1": "seg F1",
    "seg_p": "seg P",
    "seg_r": "seg R",
    "det_f1": "det F1",
    "det_p": "det P",
    "det_r": "det R",
    "count_mae": "count MAE",
    "count_mpe": "count MPE",
    "ap": "COCO AP",
    "ap50": "AP50",
}


@dataclasses.dataclass
class Result:
    """One run scored on one test set."""

    run: str
    point: dict[str, str]
    train: str  # training collections, e.g. "green" or "green+yellow+red"
    test: str  # test collections
    metrics: dict[str, float]

    @property
    def seed(self) -> str:
        return self.point.get("seed", "")


def _pick(tree: dict, path: tuple[str, ...]) -> float:
    for p in path:
        tree = tree.get(p, {}) if isinstance(tree, dict) else {}
    return float(tree) if isinstance(tree, int | float) else math.nan


def _metrics(paper: dict) -> dict[str, float]:
    return {k: _pick(paper, path) for k, path in METRICS.items()}


def collect(study_dir: Path) -> tuple[list[Result], list[dict]]:
    """(results of every finished run on each of its test sets, failed-run records)."""
    runs_dir = Path(study_dir) / "runs"
    results: list[Result] = []
    failed: list[dict] = []
    for run_dir in sorted(p for p in runs_dir.glob("*") if p.is_dir()):
        info_path = run_dir / "study_run.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        metrics_path = run_dir / "metrics.json"
        if not metrics_path.is_file():
            if info.get("status") == "failed":
                failed.append(info)
            continue
        point = info.get("point") or {"run": run_dir.name}
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        train = "+".join(cfg.get("data", {}).get("collections", []))
        own = json.loads(metrics_path.read_text())
        results.append(Result(run_dir.name, point, train, train, _metrics(own["paper"])))
        for extra in sorted(run_dir.glob("eval-test-*/metrics_paper.json")):
            test = extra.parent.name.removeprefix("eval-test-")
            if test != train:
                paper = json.loads(extra.read_text())
                results.append(Result(run_dir.name, point, train, test, _metrics(paper)))
    if not results:
        raise StudyError(
            f"{study_dir}: no finished runs to report on (no {runs_dir}/*/metrics.json)"
            + (f"; {len(failed)} run(s) failed" if failed else "")
        )
    return results, failed


def axes_of(results: list[Result]) -> list[str]:
    """Grid axes in first-seen order (``seed`` last)."""
    axes: list[str] = []
    for r in results:
        axes += [a for a in r.point if a not in axes]
    return [a for a in axes if a != "seed"] + (["seed"] if "seed" in axes else [])


def group_key(r: Result, axes: list[str], drop: tuple[str, ...] = ("seed",)) -> tuple:
    return (*tuple(r.point.get(a, "") for a in axes if a not in drop), r.test)


def summarise(results: list[Result]) -> list[dict]:
    """Per grid point (seeds pooled) and test set: mean, std (ddof 1) and n of each metric."""
    axes = [a for a in axes_of(results) if a != "seed"]
    groups: dict[tuple, list[Result]] = {}
    for r in results:
        groups.setdefault(group_key(r, axes), []).append(r)
    rows = []
    for key, members in groups.items():
        row: dict = dict(zip(axes, key[:-1], strict=True))
        row["test"] = key[-1]
        row["n"] = len(members)
        for m in METRICS:
            vals = np.array([x.metrics[m] for x in members], float)
            vals = vals[np.isfinite(vals)]
            row[f"{m}_mean"] = float(vals.mean()) if vals.size else math.nan
            row[f"{m}_std"] = float(vals.std(ddof=1)) if vals.size > 1 else math.nan
        rows.append(row)
    return rows


@dataclasses.dataclass
class Paired:
    """Mean difference (init - scratch) over seeds with a two-sided t-interval."""

    n: int
    mean: float
    low: float
    high: float

    def verdict(self, name: str) -> str:
        if self.n < 2:
            return "too few paired seeds for an interval"
        if self.low > 0:
            return f"{name} better"
        if self.high < 0:
            return f"{name} worse"
        return "no significant difference"


def paired_difference(a: list[float], b: list[float], level: float = 0.95) -> Paired:
    """Differences a_i - b_i (same seed); interval mean +/- t_{(1+level)/2, n-1} * sd / sqrt(n)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return Paired(n, mean, math.nan, math.nan)
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return Paired(n, mean, mean - half, mean + half)


def compare_to_scratch(results: list[Result], metric: str = "seg_f1") -> list[dict]:
    """Each non-scratch ``init`` against ``init=scratch`` at every other grid point and test
    set, paired by seed. Empty when the grid has no ``init`` axis or no scratch value."""
    grid = [r for r in results if "init" in r.point]
    if not any(r.point["init"] == "scratch" for r in grid):
        return []
    axes = [a for a in axes_of(grid) if a not in ("init", "seed")]
    cells: dict[tuple, dict[str, dict[str, float]]] = {}
    for r in grid:
        key = (*tuple(r.point.get(a, "") for a in axes), r.test)
        cells.setdefault(key, {}).setdefault(r.point["init"], {})[r.seed] = r.metrics[metric]
    rows = []
    for key, by_init in cells.items():
        base = by_init.get("scratch", {})
        for init, vals in by_init.items():
            if init == "scratch":
                continue
            seeds = sorted(set(vals) & set(base))
            p = paired_difference([vals[s] for s in seeds], [base[s] for s in seeds])
            row = dict(zip(axes, key[:-1], strict=True))
            row.update(
                test=key[-1],
                init=init,
                metric=metric,
                n=p.n,
                init_mean=float(np.mean([vals[s] for s in seeds])) if seeds else math.nan,
                scratch_mean=float(np.mean([base[s] for s in seeds])) if seeds else math.nan,
                diff=p.mean,
                ci_low=p.low,
                ci_high=p.high,
                verdict=p.verdict(init),
            )
            rows.append(row)
    return rows
