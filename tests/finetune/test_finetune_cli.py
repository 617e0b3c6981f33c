"""The fine-tuning path from the command line, on the small synthetic archive."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fncssl.cli import main
from fncssl.data.layout import open_archive
from fncssl.errors import FNCError

SMOKE = str(Path(__file__).resolve().parents[2] / "configs" / "smoke" / "finetune.yaml")


def finetune(root, run_dir, *extra):
    return main(
        ["finetune", SMOKE, f"data.root={root}", f"run.dir={run_dir}", "run.name=r", *extra]
    )


def scalar(run: Path, tag: str) -> list[float]:
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    return [e.value for e in acc.Scalars(tag)]


def test_run_directory_contents(trained_run, synth_root):
    run = trained_run
    for name in (
        "config.yaml",
        "split.json",
        "metrics.json",
        "table2.md",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
    ):
        assert (run / name).is_file(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    split = json.loads((run / "split.json").read_text())
    archive = open_archive(synth_root)
    assert split["test"] == [r.key for r in archive.select(["red"], ["test"])]
    assert not set(split["test"]) & (set(split["train"]) | set(split["val"]))
    config = (run / "config.yaml").read_text()
    assert "git_sha:" in config and "seed: 0" in config
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) >= {"paper", "strict", "checkpoint"}
    assert scalar(run, "val/dice") and scalar(run, "val/seg_f1") and scalar(run, "lr-Adam")
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 4  # 2 epochs x (8 samples / batch 4)


def test_same_seed_same_first_epoch_loss(synth_root, tmp_path):
    losses = []
    for i, seed in enumerate((0, 0, 1)):
        assert finetune(synth_root, tmp_path / str(i), "trainer.max_epochs=1", f"seed={seed}") == 0
        losses.append(scalar(tmp_path / str(i) / "r", "train/loss_epoch")[0])
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_resume_after_kill_continues_from_saved_step(synth_root, tmp_path):
    args = [
        sys.executable,
        "-m",
        "fncssl",
        "finetune",
        SMOKE,
        f"data.root={synth_root}",
        f"run.dir={tmp_path}",
        "run.name=r",
        "trainer.max_epochs=8",
        "eval.every_n_epochs=0",
    ]
    last = tmp_path / "r" / "checkpoints" / "last.ckpt"
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if last.is_file():
            try:
                if torch.load(last, weights_only=True)["epoch"] >= 1:
                    break
            except Exception:  # being written
                pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = torch.load(last, weights_only=True)["global_step"]
    assert 0 < saved < 16, "the run should have been killed part-way"
    assert (
        finetune(
            synth_root,
            tmp_path,
            "trainer.max_epochs=8",
            "eval.every_n_epochs=0",
        )
        == 2
    )  # without --resume an existing run is refused
    assert (
        main(
            [
                "finetune",
                SMOKE,
                f"data.root={synth_root}",
                f"run.dir={tmp_path}",
                "run.name=r",
                "trainer.max_epochs=8",
                "eval.every_n_epochs=0",
                "--resume",
            ]
        )
        == 0
    )
    assert torch.load(last, weights_only=True)["global_step"] == 16
    steps = [
        int(s)
        for s in np.unique(
            [
                e.step
                for e in EventAccumulator(str(tmp_path / "r" / "tb"))
                .Reload()
                .Scalars("train/loss_step")
            ]
        )
    ]
    assert max(steps) >= 15


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("data.label_fraction=1.5", "label_fraction"),
        ("data.crop_size=1024", "larger than image"),
        ("data.crop_size=100", "multiple of 8"),
        ("data.collections=[blue]", "blue"),
        ("model.init=ssl:/no/such/encoder.pt", "not found"),
        ("trainer.max_epoch=3", "trainer.max_epochs"),
        ("loss.weights={lovasz: 1}", "lovasz"),
    ],
)
def test_bad_inputs_fail_before_training(synth_root, tmp_path, capsys, override, needle):
    assert finetune(synth_root, tmp_path, override) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_collection_without_labels(tmp_path, synth_root, capsys):
    import shutil

    root = tmp_path / "a"
    shutil.copytree(synth_root / "red" / "unlabelled", root / "red" / "unlabelled")
    assert finetune(root, tmp_path / "runs") == 2
    assert "no labelled trainval images" in capsys.readouterr().err


def test_nan_loss_stops_the_run():
    from fncssl.config import load_config
    from fncssl.finetune.config import FinetuneConfig
    from fncssl.finetune.module import SegmentationModule

    class NanModel(torch.nn.Module):
        def forward(self, x):
            return torch.full_like(x[:, :1], float("nan"))

    module = SegmentationModule(NanModel(), load_config(FinetuneConfig, SMOKE))
    batch = {
        "image": torch.zeros(2, 3, 16, 16, dtype=torch.uint8),
        "mask": torch.zeros(2, 1, 16, 16, dtype=torch.uint8),
    }
    with pytest.raises(FNCError, match="loss is nan"):
        module.training_step(batch, 0)


def test_predict_and_evaluate_from_the_cli(trained_run, samples_dir, tmp_path, capsys):
    out = tmp_path / "pred"
    images = sorted((samples_dir / "red" / "images").iterdir())
    assert main(["predict", str(trained_run), *map(str, images), "--out", str(out)]) == 0
    counts = (out / "counts.csv").read_text().splitlines()
    assert counts[0] == "image,count" and len(counts) == 1 + len(images)
    from PIL import Image

    for img, row in zip(images, counts[1:], strict=True):
        labels = np.asarray(Image.open(out / "labels" / img.name))
        assert labels.shape == np.asarray(Image.open(img)).shape[:2]
        assert int(row.split(",")[1]) == labels.max()
        assert (out / "masks" / img.name).is_file() and (out / "overlays" / img.name).is_file()
    results = json.loads((out / "coco_results.json").read_text())
    assert isinstance(results, list)
    assert main(["evaluate", str(trained_run), "--protocol", "strict"]) == 0
    assert (trained_run / "eval-test" / "metrics_strict.json").is_file()
    assert main(["predict", str(tmp_path / "nothing"), str(images[0]), "--out", str(out)]) == 2
