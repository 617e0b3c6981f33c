"""evaluate/predict use the run's own evaluation settings (issue 11, point 4)."""

import json
import os
import stat

import numpy as np
import pytest
import yaml

from fncssl.cli import main
from fncssl.finetune.evaluate_checkpoint import eval_settings


def test_settings_come_from_the_run_and_flags_override():
    saved = {"eval": {"tile": 256, "overlap": 32, "postprocess": {"min_size": 20}}}
    tiles, post = eval_settings(saved, "cresunet")
    assert (tiles.tile, tiles.overlap, post.min_size, post.threshold) == (256, 32, 20, 0.5)
    tiles, post = eval_settings(saved, "cresunet", 128, 16, ["threshold=0.7", "watershed=false"])
    assert (tiles.tile, tiles.overlap, post.min_size) == (128, 16, 20)
    assert post.threshold == 0.7 and post.watershed is False
    with pytest.raises(Exception, match="eval.postprocess.threshold"):
        eval_settings(saved, "cresunet", postprocess=["threshold=2"])


def test_evaluate_reproduces_the_runs_table(trained_run, tmp_path):
    run_post = yaml.safe_load((trained_run / "config.yaml").read_text())["eval"]["postprocess"]
    assert main(["evaluate", str(trained_run), "--out", str(tmp_path / "e")]) == 0
    saved = json.loads((trained_run / "metrics.json").read_text())
    again = json.loads((tmp_path / "e" / "metrics_paper.json").read_text())
    for task in ("segmentation", "detection", "counting", "pixel"):
        assert again[task] == saved["paper"][task], task
    assert run_post["min_size"] == 50  # the smoke config's own value, not the paper's 200


def test_run_files_follow_the_umask(trained_run):
    mask = os.umask(0)
    os.umask(mask)
    for name in ("metrics.json", "config.yaml", "split.json", "checkpoints/best.ckpt"):
        mode = stat.S_IMODE((trained_run / name).stat().st_mode)
        assert mode == 0o666 & ~mask, (name, oct(mode))


def test_evaluate_and_predict_pass_the_runs_settings_on(trained_run, tmp_path, monkeypatch):
    import fncssl.finetune.evaluate_checkpoint as ec
    import fncssl.finetune.predict as pr

    seen = []

    def fake_map(model, image, tiles, device=None):
        seen.append((tiles.tile, tiles.overlap))
        return image[..., 0] * 0.0

    def fake_records(predict, records, out_dir, post, **kwargs):
        predict(np.zeros((8, 8, 3), np.uint8))
        seen.append(post.min_size)
        return {}

    monkeypatch.setattr(ec, "probability_map", fake_map)
    monkeypatch.setattr(ec, "evaluate_records", fake_records)
    ec.evaluate_checkpoint(str(trained_run))
    assert seen == [(256, 32), 50]  # configs/smoke/finetune.yaml, not 512/64/200
    ec.evaluate_checkpoint(str(trained_run), tile=128, postprocess=["min_size=7"])
    assert seen[2:] == [(128, 32), 7]
    monkeypatch.setattr(
        pr, "probability_maps", lambda m, ims, tiles, d=None: [fake_map(m, i, tiles) for i in ims]
    )
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (16, 16)).save(image)
    pr.predict_images(str(trained_run / "checkpoints" / "best.ckpt"), [str(image)], tmp_path / "p")
    assert seen[-1] == (256, 32)  # a Lightning checkpoint carries the settings too


def test_predict_checks_every_input_before_writing_anything(trained_run, tmp_path, capsys):
    from fncssl.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    from PIL import Image

    Image.new("RGB", (64, 64)).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"not a png")
    out = tmp_path / "pred"
    assert main(["predict", str(trained_run), str(folder), "--out", str(out)]) == 2
    assert "b.png" in capsys.readouterr().err
    assert not out.exists()


def test_predict_refuses_an_output_folder_inside_its_input_folder(trained_run, tmp_path, capsys):
    from PIL import Image

    from fncssl.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (64, 64)).save(folder / "a.png")
    for out in (folder, folder / "pred"):
        assert main(["predict", str(trained_run), str(folder), "--out", str(out)]) == 2
        assert "is inside the input folder" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["a.png"]
