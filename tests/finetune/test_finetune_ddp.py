"""Fine-tuning as a 2-process DDP run on CPU (gloo), as on several GPUs."""

import json

import pytest
import torch
from test_finetune_cli import SMOKE


@pytest.mark.slow
def test_two_process_ddp_finetune_on_cpu(synth_root, tmp_path, run_ddp_cli):
    # each process keeps its own device image bank
    extra = ("trainer.max_epochs=1", "speed.device_crops=true")
    run_ddp_cli("finetune", SMOKE, synth_root, tmp_path, *extra)
    ckpt = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    # 8 samples per epoch shared by 2 processes at batch 4: one optimizer step
    assert ckpt["global_step"] == 1
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert set(metrics) >= {"paper", "strict"}  # rank 0 evaluated the test split
