"""Fine-tuning as a 2-process DDP run on CPU (gloo), as on several GPUs."""

import json
import subprocess
import sys

import pytest
import torch
from test_finetune_cli import SMOKE


@pytest.mark.slow
def test_two_process_ddp_finetune_on_cpu(synth_root, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "fncssl",
        "finetune",
        SMOKE,
        f"data.root={synth_root}",
        f"run.dir={tmp_path}",
        "run.name=ddp",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.max_epochs=1",
        "speed.device_crops=true",  # each process keeps its own image bank
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "distributed_backend=gloo" in out
    assert "All distributed processes registered. Starting with 2 processes" in out
    ckpt = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    # 8 samples per epoch shared by 2 processes at batch 4: one optimizer step
    assert ckpt["global_step"] == 1
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert set(metrics) >= {"paper", "strict"}  # rank 0 evaluated the test split
