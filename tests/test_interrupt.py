"""A run stopped by SIGTERM exits non-zero and says how to resume (issue 11, point 7)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fncssl.cli import main
from fncssl.errors import RunInterrupted
from fncssl.rundir import fit_or_explain, last_checkpoint

SMOKE = str(Path(__file__).resolve().parents[1] / "configs" / "smoke" / "finetune.yaml")


class StoppedTrainer:
    current_epoch, global_step = 3, 12

    def fit(self, *args, **kwargs):
        raise SIGTERMException


def test_sigterm_becomes_an_error_that_says_how_to_resume(tmp_path):
    with pytest.raises(RunInterrupted, match="--resume") as err:
        fit_or_explain(StoppedTrainer(), None, None, None, tmp_path / "run")
    assert err.value.exit_code == 143 and str(tmp_path / "run") in str(err.value)


def test_cli_exit_status_of_an_interrupted_run(monkeypatch, capsys):
    import fncssl.finetune.run as run

    def stopped(cfg, resume=False):
        raise RunInterrupted("stopped by SIGTERM; rerun with --resume")

    monkeypatch.setattr(run, "run_finetune", stopped)
    assert main(["finetune", SMOKE]) == 143
    assert "--resume" in capsys.readouterr().err


def test_slurm_requeue_continues_without_resume_flag(tmp_path, monkeypatch):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"x")
    with pytest.raises(Exception, match="--resume"):
        last_checkpoint(run, False)
    (run / "hpc_ckpt_1.ckpt").write_bytes(b"x")  # Lightning's requeue checkpoint
    monkeypatch.setenv("SLURM_JOB_ID", "1")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    last_checkpoint(run, False)  # Lightning restores hpc_ckpt_1.ckpt itself


@pytest.mark.slow
def test_sigterm_on_a_real_run(synth_root, tmp_path):
    args = [sys.executable, "-m", "fncssl", "finetune", SMOKE, f"data.root={synth_root}"]
    args += [f"run.dir={tmp_path}", "run.name=r", "trainer.max_epochs=50", "eval.every_n_epochs=0"]
    last = tmp_path / "r" / "checkpoints" / "last.ckpt"
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and not last.is_file():
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "--resume" in err
    assert not (tmp_path / "r" / "metrics.json").exists()
    assert torch.load(last, weights_only=True)["global_step"] > 0
