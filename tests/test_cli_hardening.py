"""Command-line paths a new user takes (issue 11: points 6, 8, 9, 11)."""

import argparse
import os
import shutil
import stat

import pytest

from fncssl.cli import build_parser, main, parse_args
from fncssl.data.atomic import write_text
from fncssl.errors import ConfigError


def test_every_option_has_help_text():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {action.dest}"
        for name, command in sub.choices.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()
    ]
    assert missing == []


def test_overrides_may_follow_resume():
    a = parse_args(["finetune", "cfg.yaml", "--resume", "trainer.max_epochs=3", "seed=1"])
    assert a.resume and a.overrides == ["trainer.max_epochs=3", "seed=1"]
    with pytest.raises(SystemExit):
        parse_args(["validate", "root", "extra"])


def test_stats_and_score_write_beside_their_inputs(synth_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["stats", str(synth_copy)]) == 0
    assert (synth_copy.parent / f"{synth_copy.name}-stats" / "stats.csv").is_file()
    assert not (synth_copy / "stats").exists()
    assert main(["validate", str(synth_copy)]) == 0
    # an older version's ROOT/stats is the project's own output: validate ignores it
    shutil.copytree(synth_copy.parent / f"{synth_copy.name}-stats", synth_copy / "stats")
    assert main(["validate", str(synth_copy)]) == 0
    gt = synth_copy / "red" / "test" / "ground_truths" / "masks"
    pred = tmp_path / "preds" / "model-a"
    shutil.copytree(gt, pred)
    assert main(["score", "--gt", str(gt), "--pred", str(pred)]) == 0
    assert (tmp_path / "preds" / "model-a-scores.json").is_file()
    assert not (tmp_path / "scores.json").exists()


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_ssl_initialised_runs_get_distinct_default_names():
    from fncssl.config import load_config
    from fncssl.finetune.config import FinetuneConfig
    from fncssl.finetune.run import default_run_name

    def name(init):
        return default_run_name(load_config(FinetuneConfig, None, [f"model.init={init}"]))

    a = name("ssl:runs/pretrain-simclr-cresunet-red-s0/checkpoints/encoder.pt")
    b = name("ssl:runs/pretrain-byol-cresunet-red-s0/checkpoints/encoder.pt")
    assert a != b and "pretrain-simclr-cresunet-red-s0" in a
    assert name("scratch") != a


def test_synthetic_default_is_announced_once(monkeypatch, tmp_path, capsys):
    import fncssl.data.default_archive as da

    monkeypatch.setattr(da, "default_archive_root", lambda: tmp_path / "synthetic")
    assert da.data_root("") == tmp_path / "synthetic"
    assert da.data_root("/data/fnc") == da.Path("/data/fnc")
    err = capsys.readouterr().err
    assert err.count("SYNTHETIC") == 1 and "data.root" in err


def test_missing_pretrained_weights_fail_fast_with_one_error(monkeypatch):
    import huggingface_hub

    from fncssl.models.registry import build_model

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ConfigError, match="model.encoder_weights=imagenet.*local cache"):
        build_model("smp-unet", encoder="resnet18", encoder_weights="imagenet")


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_synth_check_max_images_must_be_a_positive_integer(value, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["synth-check", "real", "synth", "--max-images", value])
    assert exc.value.code == 2
    assert "--max-images" in capsys.readouterr().err


def test_a_terminated_synth_exits_143_and_leaves_nothing(tmp_path):
    """SIGTERM (``kill``, a scheduler) during ``fncssl synth`` unwinds like Ctrl-C: the hidden
    temp folder is removed, no archive appears, and the exit status is 128 + 15."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "arch"
    cmd = [sys.executable, "-m", "fncssl", "synth", str(out), "--collections", "red"]
    cmd += ["--labelled", "40", "--unlabelled", "0", "--size", "800x600", "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".arch.partial-*/red")):  # rendering has begun
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "synth never started writing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "terminated" in stderr
    assert list(tmp_path.iterdir()) == []
