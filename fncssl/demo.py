"""``fncssl demo``: the pipeline end to end, small, on a synthetic archive.

Synthesise an archive, validate it, print the Table 1 statistics, pretrain the c-ResUnet
encoder with SimCLR on the unlabelled images (``configs/demo/pretrain.yaml``), then fine-tune
from scratch and from the SSL encoder side by side (``configs/demo/finetune.yaml``) and
evaluate both on the test split. Under 10 minutes on a 2-core CPU.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from fncssl.data.layout import open_archive
from fncssl.data.stats import to_markdown, write_stats
from fncssl.data.synth import write_synthetic_archive
from fncssl.data.validate import validate_archive
from fncssl.evaluation.report import table2_markdown


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
    runs = out / "runs"
    encoder = _pretrain(root, runs, seed) / "checkpoints" / "encoder.pt"
    scratch = _finetune(root, runs, seed, "scratch", "scratch")
    ssl = _finetune(root, runs, seed, "ssl", f"ssl:{encoder}")
    rows = {
        name: json.loads((run / "metrics.json").read_text())["paper"]
        for name, run in (("scratch", scratch), ("simclr-init", ssl))
    }
    print(table2_markdown(rows))
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s. Runs: {scratch}, {ssl}")
    print(f"[demo] TensorBoard: tensorboard --logdir {runs}")
    return 0


def _config_path(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / "configs" / "demo" / name


def _pretrain(root: Path, runs: Path, seed: int) -> Path:
    from fncssl.config import load_config
    from fncssl.ssl.config import PretrainConfig
    from fncssl.ssl.run import run_pretrain

    run = runs / "simclr"
    if (run / "metrics.json").is_file():
        print(f"[demo] reusing finished pretraining run {run}")
        return run
    cfg = load_config(
        PretrainConfig,
        _config_path("pretrain.yaml"),
        [f"data.root={root}", f"run.dir={runs}", "run.name=simclr", f"seed={seed}"],
    )
    print("[demo] SimCLR pretraining of the encoder on the unlabelled images ...")
    return run_pretrain(cfg)


def _finetune(root: Path, runs: Path, seed: int, name: str, init: str) -> Path:
    from fncssl.config import load_config
    from fncssl.finetune.config import FinetuneConfig
    from fncssl.finetune.run import run_dir_for, run_finetune

    cfg = load_config(
        FinetuneConfig,
        _config_path("finetune.yaml"),
        [
            f"data.root={root}",
            f"run.dir={runs}",
            f"run.name={name}",
            f"seed={seed}",
            f"model.init={init}",
        ],
    )
    if (run_dir_for(cfg) / "metrics.json").is_file():
        print(f"[demo] reusing finished run {run_dir_for(cfg)}")
        return run_dir_for(cfg)
    print(f"[demo] fine-tuning a c-ResUnet ({name} initialisation) ...")
    return run_finetune(cfg)
