"""The smoke studies run for real on a tiny archive (one training step per run)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fncssl.cli import main

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "experiments" / "smoke"


def study(name: str, root: Path, out: Path, *flags: str) -> int:
    return main(
        ["study", str(SMOKE / f"{name}.yaml"), f"data.root={root}", "--out", str(out), *flags]
    )


def split_of(run: Path) -> dict:
    return json.loads((run / "split.json").read_text())


def test_label_efficiency_smoke_study_runs_end_to_end(tiny_root, tmp_path, capsys):
    out = tmp_path / "le"
    assert study("label_efficiency", tiny_root, out) == 0
    printed = capsys.readouterr().out
    assert "\r" not in printed and "[study] 8/8" in printed  # readable when redirected
    runs = out / "runs"
    assert len(list(runs.glob("*/metrics.json"))) == 8
    encoder = out / "pretrain" / "simclr-red" / "checkpoints" / "encoder.pt"
    assert encoder.is_file()
    cfg = yaml.safe_load(
        (runs / "init=ssl-simclr__label_fraction=0.5__seed=1" / "config.yaml").read_text()
    )
    assert cfg["model"]["init"] == f"ssl:{encoder}"
    assert "loaded" in cfg["init_note"]
    for seed in (0, 1):  # nested label subsets, same validation split across inits
        half = split_of(runs / f"init=scratch__label_fraction=0.5__seed={seed}")
        full = split_of(runs / f"init=ssl-simclr__label_fraction=1__seed={seed}")
        assert set(half["train"]) <= set(full["train"]) and half["val"] == full["val"]
    for name in ("summary.md", "summary.csv", "comparison.md", "label_efficiency.png"):
        assert (out / name).is_file(), name
    comparison = (out / "comparison.md").read_text()
    assert comparison.count("| ssl-simclr | 2 |") == 4  # 2 fractions x (seg, det), 2 seeds
    # a second run without --resume refuses; with --resume everything is skipped
    assert study("label_efficiency", tiny_root, out) == 2
    assert study("label_efficiency", tiny_root, out, "--resume") == 0
    assert "0 run(s) done, 8 skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_cross_collection_smoke_study_gives_the_transfer_matrix(tiny_root, tmp_path):
    out = tmp_path / "cc"
    assert study("cross_collection", tiny_root, out) == 0
    summary = (out / "summary.md").read_text()
    assert "## Transfer matrix" in summary and (out / "transfer_matrix.png").is_file()
    header = "| train \\ test | green | red | yellow |"
    assert summary.count(header) == 2  # scratch and ssl-simclr
    for init in ("scratch", "ssl-simclr"):
        for train in ("green", "yellow", "red", "all"):
            run = out / "runs" / f"init={init}__collections={train}__seed=0"
            scored = {p.parent.name for p in run.glob("eval-test-*/metrics_paper.json")}
            expected = {"eval-test-green", "eval-test-yellow", "eval-test-red"}
            if train != "all":
                expected.discard(f"eval-test-{train}")
            assert scored == expected, run
            for p in run.glob("eval-test-*/excluded.json"):
                assert json.loads(p.read_text())["twins_of_training_images"] == []


@pytest.mark.slow
def test_ssl_vs_scratch_smoke_study_covers_every_method(tiny_root, tmp_path):
    out = tmp_path / "svs"
    assert study("ssl_vs_scratch", tiny_root, out) == 0
    assert len(list((out / "pretrain").glob("*/checkpoints/encoder.pt"))) == 6
    assert len(list((out / "runs").glob("*/metrics.json"))) == 18


@pytest.mark.slow
def test_resume_after_the_study_process_is_killed_mid_study(tiny_root, tmp_path):
    spec = yaml.safe_load((SMOKE / "label_efficiency.yaml").read_text())
    spec["base"] = str(REPO / "configs" / "smoke" / "finetune.yaml")
    del spec["pretrain"]
    spec["grid"] = {"seed": [0, 1, 2, 3]}
    path = tmp_path / "four.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "fncssl",
        "study",
        str(path),
        f"data.root={tiny_root}",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 600
    while not list(out.glob("runs/*/metrics.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {p.parent.name: p.stat().st_mtime for p in out.glob("runs/*/metrics.json")}
    assert 1 <= len(done_before) < 4
    assert main(["study", *cmd[4:], "--resume"]) == 0
    after = {p.parent.name: p.stat().st_mtime for p in out.glob("runs/*/metrics.json")}
    assert len(after) == 4
    assert all(after[n] == t for n, t in done_before.items())  # finished runs were skipped
    assert (out / "summary.md").is_file()


@pytest.mark.slow
def test_few_shot_transfer_smoke_study_fine_tunes_from_the_yellow_model(tiny_root, tmp_path):
    out = tmp_path / "fs"
    assert study("few_shot_transfer", tiny_root, out) == 0
    runs = out / "runs"
    cfg = yaml.safe_load(
        (runs / "init=from-yellow__label_count=1__seed=1" / "config.yaml").read_text()
    )
    assert cfg["model"]["init"] == f"checkpoint:{runs / 'yellow-source'}"
    assert len(split_of(runs / "init=scratch__label_count=1__seed=0")["train"]) == 1
    assert (out / "comparison.md").read_text().count("| from-yellow | 2 |") == 2  # seg, det
