"""Shared fixtures: a small synthetic archive and the real FNC samples (when present)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fncssl.data.synth import write_synthetic_archive

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "fnc-samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real FNC samples not found at {SAMPLES} (../shared/fnc-samples is absent)")
    return SAMPLES


@pytest.fixture
def sample_archive(samples_dir: Path, tmp_path: Path) -> Path:
    """A v2-layout archive (trainval only) made from copies of the real samples."""
    root = tmp_path / "real"
    for col_dir in sorted(samples_dir.iterdir()):
        part = root / col_dir.name / "trainval"
        shutil.copytree(col_dir / "images", part / "images")
        shutil.copytree(col_dir / "masks", part / "ground_truths" / "masks")
    return root


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic archive (read-only for tests: copy it before changing anything)."""
    out = tmp_path_factory.mktemp("synth") / "archive"
    return write_synthetic_archive(
        out, labelled=4, unlabelled=5, size=(480, 360), seed=1, workers=2
    )


def _run_ddp_cli(command: str, config: str, root: Path, run_dir: Path, *extra: str) -> str:
    """Run ``fncssl COMMAND CONFIG`` as 2 CPU processes (DDP over gloo), run name ``ddp``;
    checks it ran as such and returns its output."""
    cmd = [sys.executable, "-m", "fncssl", command, config, f"data.root={root}"]
    cmd += [f"run.dir={run_dir}", "run.name=ddp", "trainer.devices=2", "trainer.strategy=ddp"]
    r = subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "distributed_backend=gloo" in out
    assert "All distributed processes registered. Starting with 2 processes" in out
    return out


@pytest.fixture
def run_ddp_cli():
    """``run_ddp_cli(command, config, root, run_dir, *overrides)``: see ``_run_ddp_cli``."""
    return _run_ddp_cli


@pytest.fixture
def synth_copy(synth_root: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "archive"
    shutil.copytree(synth_root, dst)
    return dst
