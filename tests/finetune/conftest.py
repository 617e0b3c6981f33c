"""A smoke fine-tuning run shared by the tests that read a finished run directory."""

from pathlib import Path

import pytest

from fncssl.cli import main

SMOKE = str(Path(__file__).resolve().parents[2] / "configs" / "smoke" / "finetune.yaml")


@pytest.fixture(scope="session")
def trained_run(synth_root, tmp_path_factory):
    """``runs/r`` of ``configs/smoke/finetune.yaml`` on the small synthetic archive."""
    runs = tmp_path_factory.mktemp("runs")
    args = ["finetune", SMOKE, f"data.root={synth_root}", f"run.dir={runs}", "run.name=r"]
    assert main(args) == 0
    return runs / "r"
