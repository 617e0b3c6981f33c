"""``fncssl demo``: the pipeline end to end, small, on a synthetic archive.

Synthesise an archive, validate it, print the Table 1 statistics, then fine-tune a c-ResUnet
from scratch for a few minutes (``configs/demo/finetune.yaml``) and evaluate it on the test
split.
"""

from __future__ import annotations

import time
from pathlib import Path

from fncssl.data.layout import open_archive
from fncssl.data.stats import to_markdown, write_stats
from fncssl.data.synth import write_synthetic_archive
from fncssl.data.validate import validate_archive


def run_demo(out: Path, seed: int = 0) -> int:
    """Run the demo into ``out``; returns a process exit code."""
    root = out / "archive"
    t0 = time.perf_counter()
    if (root / "synthetic.json").is_file():
        print(f"[demo] reusing synthetic archive {root}")
    else:
        print(f"[demo] synthesising a small archive into {root} ...")
        write_synthetic_archive(root, labelled=12, unlabelled=16, size=(800, 600), seed=seed)
    archive = open_archive(root)
    print(f"[demo] {len(archive.records)} images indexed ({time.perf_counter() - t0:.1f} s)")
    report = validate_archive(archive)
    print(
        f"[demo] validate: {report.images_checked} images, formats {report.formats_checked}, "
        f"{len(report.problems)} problems"
    )
    for p in report.problems:
        print("   ", p)
    table = write_stats(archive, out / "stats")
    print(to_markdown(table, 0.3))
    print(f"[demo] statistics and histograms written to {out / 'stats'}")
    if not report.ok:
        return 1
    run_dir = _finetune(root, out / "runs", seed)
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s. Fine-tuned run: {run_dir}")
    print(f"[demo] TensorBoard: tensorboard --logdir {out / 'runs'}")
    return 0


def _finetune(root: Path, runs: Path, seed: int) -> Path:
    from fncssl.config import load_config
    from fncssl.finetune.config import FinetuneConfig
    from fncssl.finetune.run import run_dir_for, run_finetune

    config = Path(__file__).resolve().parents[1] / "configs" / "demo" / "finetune.yaml"
    cfg = load_config(
        FinetuneConfig,
        config,
        [f"data.root={root}", f"run.dir={runs}", "run.name=scratch", f"seed={seed}"],
    )
    if (run_dir_for(cfg) / "metrics.json").is_file():
        print(f"[demo] reusing finished run {run_dir_for(cfg)}")
        return run_dir_for(cfg)
    print("[demo] fine-tuning a c-ResUnet from scratch (a few minutes on a CPU) ...")
    return run_finetune(cfg)
