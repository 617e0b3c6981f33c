"""``fncssl report STUDY_DIR``: summary tables, the paired comparison and plots, rebuilt from
the run directories alone (see :mod:`fncssl.experiments.results`).

Writes ``summary.csv`` (one row per grid point and test set: mean, std and n over seeds of
every metric), ``summary.md`` (the same, readable, with the comparison, the transfer matrix,
how twins were kept together and the list of failed runs), ``comparison.csv``/``.md`` (each
initialisation minus scratch, paired by seed, with a 95% t-interval), the PNG plots and the
study's ``tensorboard/`` folder.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from fncssl.data.atomic import write_text
from fncssl.experiments import plots
from fncssl.experiments.results import (
    LABELS,
    METRICS,
    axes_of,
    collect,
    compare_to_scratch,
    summarise,
)

SHOWN = ("seg_f1", "seg_p", "seg_r", "det_f1", "count_mae", "count_mpe", "ap")
TWIN_NOTE = (
    "Green and yellow images of the same slice (double-marked twins, recognised by their "
    "original file name apart from the collection letter) are kept on one side of every "
    "split: the validation split and the labelled subset are drawn over twin groups, a pair "
    "placed by its first member; cross-collection test images whose twin was a training or "
    "validation image are left out (listed per run in eval-test-<collection>/excluded.json)."
)


def _fmt(v: float, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def summary_markdown_table(rows: list[dict], axes: list[str]) -> str:
    header = [a.split(".")[-1] for a in axes] + ["test", "n"] + [LABELS[m] for m in SHOWN]
    body = []
    for r in rows:
        cells = [str(r.get(a, "")) for a in axes] + [r["test"], str(r["n"])]
        for m in SHOWN:
            mean, sd = r[f"{m}_mean"], r[f"{m}_std"]
            cells.append(f"{_fmt(mean)} ± {_fmt(sd)}" if not math.isnan(sd) else _fmt(mean))
        body.append(cells)
    return _md_table(header, body)


def comparison_markdown(rows: list[dict]) -> str:
    if not rows:
        return "No comparison: the grid has no `init` axis with a `scratch` value.\n"
    axes = [k for k in rows[0] if k not in COMPARISON_FIELDS]
    header = [a.split(".")[-1] for a in axes] + [
        "test",
        "init",
        "n",
        "init mean",
        "scratch mean",
        "difference [95% CI]",
        "reading",
    ]
    body = [
        [str(r[a]) for a in axes]
        + [
            r["test"],
            r["init"],
            str(r["n"]),
            _fmt(r["init_mean"]),
            _fmt(r["scratch_mean"]),
            f"{r['diff']:+.3f} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
            r["verdict"],
        ]
        for r in rows
    ]
    return (
        f"{rows[0]['metric'].replace('_', ' ')}: initialisation minus scratch, paired by seed; "
        "95% t-interval over the paired differences (n = pairs).\n\n" + _md_table(header, body)
    )


COMPARISON_FIELDS = (
    "test",
    "init",
    "metric",
    "n",
    "init_mean",
    "scratch_mean",
    "diff",
    "ci_low",
    "ci_high",
    "verdict",
)


def transfer_markdown(matrices: dict[str, dict]) -> str:
    parts = []
    for init, m in matrices.items():
        body = [[row] + [_fmt(v, 2) for v in m["values"][i]] for i, row in enumerate(m["rows"])]
        parts.append(f"init={init} (mean seg F1; rows: training, columns: test)\n\n")
        parts.append(_md_table(["train \\ test"] + m["cols"], body) + "\n")
    return "".join(parts)


def write_report(study_dir: str | Path) -> Path:
    """Rebuild every report file in ``study_dir``; returns the path of ``summary.md``."""
    study_dir = Path(study_dir)
    results, failed = collect(study_dir)
    axes = [a for a in axes_of(results) if a != "seed"]
    rows = summarise(results)
    comparison = [c for m in ("seg_f1", "det_f1") for c in compare_to_scratch(results, m)]
    matrices = plots.transfer_matrix(results)
    figures = [
        plots.plot_label_efficiency(results, study_dir),
        plots.plot_transfer(matrices, study_dir),
        plots.plot_curves(study_dir, results, study_dir),
    ]
    tb = plots.write_tensorboard(study_dir, results)
    write_text(study_dir / "summary.csv", _csv(rows))
    write_text(study_dir / "comparison.csv", _csv(comparison))
    seg = [c for c in comparison if c["metric"] == "seg_f1"]
    det = [c for c in comparison if c["metric"] == "det_f1"]
    comp_md = comparison_markdown(seg) + ("\n" + comparison_markdown(det) if det else "")
    write_text(study_dir / "comparison.md", "# Comparison with scratch\n\n" + comp_md)
    n_runs = len({r.run for r in results})
    md = [
        f"# Study report: {study_dir.name}\n",
        f"{n_runs} finished run(s), {len(failed)} failed. Metrics on the test split, paper "
        "protocol (see README, Evaluation); mean ± std over seeds, n = seeds. "
        "Regenerate with `fncssl report " + str(study_dir) + "`.\n",
        "## Summary\n",
        summary_markdown_table(rows, axes),
        "## Comparison with scratch\n",
        comp_md,
    ]
    if matrices:
        md += ["## Transfer matrix\n", transfer_markdown(matrices)]
    md += ["## Twin images\n", TWIN_NOTE + "\n"]
    made = [f for f in figures if f is not None]
    md += ["## Plots\n", "".join(f"![{f.stem}]({f.name})\n" for f in made) or "none\n"]
    md += [f"\nTensorBoard: `tensorboard --logdir {tb}` (grouped) or `--logdir {study_dir}`.\n"]
    if failed:
        md += ["\n## Failed runs\n"] + [f"- {f['name']}: {f.get('error', '')}\n" for f in failed]
    write_text(study_dir / "summary.md", "\n".join(md))
    return study_dir / "summary.md"


__all__ = ["METRICS", "write_report"]
