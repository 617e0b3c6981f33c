"""Pretraining from the command line on the small synthetic archive."""

import json
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fncssl.cli import main
from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.models.cresunet import CResUnet
from fncssl.models.init import initialise
from fncssl.ssl.data import pretraining_records
from fncssl.ssl.methods import METHODS

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def pretrain(method, root, run_dir, *extra):
    return main(
        [
            "pretrain",
            str(CONFIGS / "smoke" / f"pretrain-{method}.yaml"),
            f"data.root={root}",
            f"run.dir={run_dir}",
            "run.name=p",
            *extra,
        ]
    )


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_runs_from_the_cli(method, synth_root, tmp_path):
    assert pretrain(method, synth_root, tmp_path) == 0
    run = tmp_path / "p"
    payload = torch.load(run / "checkpoints" / "encoder.pt", weights_only=True)
    assert payload["config"]["model"]["arch"] == "cresunet"
    assert set(payload["encoder"]) == set(CResUnet(8).encoder.state_dict())
    assert (run / "checkpoints" / "last.ckpt").is_file()
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {
        "ssl/loss_step",
        "ssl/embedding_std_step",
        "ssl/alignment_step",
        "probe/dice",
    } <= tags, tags
    if METHODS[method].momentum_modules:
        assert "ssl/momentum" in tags
    probe = json.loads((run / "metrics.json").read_text())["probe"]
    assert probe[0]["step"] == 0  # the random encoder is probed before training


def test_pretrained_encoder_loads_into_finetuning(synth_root, tmp_path, capsys):
    assert pretrain("simclr", synth_root, tmp_path) == 0
    encoder_pt = tmp_path / "p" / "checkpoints" / "encoder.pt"
    saved = torch.load(encoder_pt, weights_only=True)["encoder"]
    model = CResUnet(8)
    note = initialise(model, f"ssl:{encoder_pt}", "cresunet")
    assert note.startswith(f"loaded {len(saved)} encoder tensors")
    for k, v in saved.items():
        assert torch.equal(model.encoder.state_dict()[k], v), k
    smoke = str(CONFIGS / "smoke" / "finetune.yaml")
    assert (
        main(
            [
                "finetune",
                smoke,
                f"data.root={synth_root}",
                f"run.dir={tmp_path}",
                "run.name=f",
                f"model.init=ssl:{encoder_pt}",
                "trainer.max_epochs=1",
            ]
        )
        == 0
    )
    assert f"loaded {len(saved)} encoder tensors" in capsys.readouterr().out


def test_test_images_never_pretrain(synth_root, tmp_path):
    archive = open_archive(synth_root)
    test_keys = {r.key for r in archive.select(None, ["test"])}
    for include in (False, True):
        recs = pretraining_records(archive, ["green", "yellow", "red"], include)
        assert recs and not {r.key for r in recs} & test_keys
        assert {r.partition for r in recs} == (
            {"unlabelled", "trainval"} if include else {"unlabelled"}
        )
    test_image = archive.select(["red"], ["test"])[0].image
    with pytest.raises(FNCError, match="is a test image"):
        pretraining_records(archive, ["red"], extra_images=[str(test_image)])
    copy = tmp_path / test_image.name
    copy.write_bytes(test_image.read_bytes())  # the same image under another path
    with pytest.raises(FNCError, match="is a test image"):
        pretraining_records(archive, ["red"], extra_images=[str(copy)])


def test_bad_inputs(synth_root, tmp_path, capsys):
    assert pretrain("barlowtwins", synth_root, tmp_path, "data.batch_size=2") == 2
    assert "batch_size >= 4" in capsys.readouterr().err
    import shutil

    labelled_only = tmp_path / "lab"
    shutil.copytree(synth_root / "red" / "trainval", labelled_only / "red" / "trainval")
    assert pretrain("simclr", labelled_only, tmp_path, "data.collections=[red]") == 2
    assert "no unlabelled images" in capsys.readouterr().err
    red_only = tmp_path / "red-only"
    shutil.copytree(synth_root / "red", red_only / "red")
    assert pretrain("simclr", red_only, tmp_path, "data.collections=[red,yellow]") == 2
    err = capsys.readouterr().err
    assert "data.collections: yellow has no unlabelled images" in err and "Traceback" not in err
    assert pretrain("simclr", synth_root, tmp_path, "ssl.source_crop=4000") == 2
    assert "source_crop" in capsys.readouterr().err
    assert pretrain("simclr", synth_root, tmp_path, "ssl.sync_batchnorm=true") == 2
    assert "sync_batchnorm needs CUDA" in capsys.readouterr().err


def test_two_process_ddp_on_cpu(synth_root, tmp_path, run_ddp_cli):
    config = str(CONFIGS / "smoke" / "pretrain-simclr.yaml")
    run_ddp_cli("pretrain", config, synth_root, tmp_path, "trainer.max_epochs=1")
    payload = torch.load(tmp_path / "ddp" / "checkpoints" / "encoder.pt", weights_only=True)
    ckpt = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    # 8 samples per epoch, batch 4 per process, 2 processes: one optimizer step per epoch
    assert ckpt["global_step"] == 1
    assert payload["config"]["step"] == 1
