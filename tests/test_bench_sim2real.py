"""The sim-to-real bench's bookkeeping: count bias, the 30% rule and the two tables."""

import argparse
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench import bench_sim2real
from bench.bench_sim2real import (
    HELDOUT_SEED_OFFSET,
    VALIDATION_SEED_OFFSET,
    choose_threshold,
    count_bias,
    count_ok,
    main,
    markdown,
    score_at,
    seed_list,
)
from fncssl.argtypes import bounded
from fncssl.data.imageio import write_image, write_mask


def _scores(counts: list[tuple[int, int]]) -> dict:
    return {
        "segmentation": {"f1": 0.7, "precision": 0.6, "recall": 0.8},
        "detection": {"f1": 0.9, "precision": 0.8, "recall": 1.0},
        "counting": {"mae": 1.0},
        "images": [{"pred_count": p, "true_count": t} for p, t in counts],
    }


def test_count_bias_is_the_mean_signed_error_in_percent_over_images_with_cells():
    assert count_bias(_scores([(17, 13), (35, 35)])) == pytest.approx(100 * (4 / 13) / 2)
    assert count_bias(_scores([(10, 20), (3, 0)])) == -50.0  # an empty image has no percent
    assert math.isnan(count_bias(_scores([(2, 0)])))


def test_count_ok_applies_30_percent_only_to_images_with_more_than_5_cells():
    assert count_ok(_scores([(16, 13), (9, 4)]))  # 3 of 13 is within 30%; 4 cells not judged
    assert not count_ok(_scores([(17, 13)]))


def test_markdown_adds_the_held_out_table_only_when_held_out_images_were_scored():
    plain = {"collections": {"yellow": {"0": _scores([(17, 13)])}}}
    assert "Synthetic held-out" not in markdown(plain)
    held = {
        "collections": {
            "yellow": {"0": {**_scores([(17, 13)]), "synthetic_heldout": _scores([(9, 10)])}}
        }
    }
    text = markdown(held)
    real, synthetic = text.split("Synthetic held-out")
    assert "| +31 | 17/13 | no |" in real
    assert "| -10 | 9/10 | yes |" in synthetic


def test_choose_threshold_takes_the_best_det_f1_and_breaks_ties_towards_one_half():
    def det(f1: float) -> dict:
        return {"detection": {"f1": f1}}

    assert choose_threshold({0.4: det(0.8), 0.5: det(0.8), 0.6: det(0.9)}) == 0.6
    assert choose_threshold({0.3: det(0.8), 0.55: det(0.8), 0.7: det(0.7)}) == 0.55
    assert choose_threshold({0.35: det(0.5), 0.8: det(0.5)}) == 0.35
    assert choose_threshold({0.7: det(0.5), 0.3: det(0.5)}) == 0.3  # equally near: the lower
    assert choose_threshold({0.6: det(0.5), 0.4: det(0.5)}) == 0.4


def _two_cells(true_prob: float, extra_prob: float) -> tuple[str, np.ndarray, np.ndarray]:
    """A 200 px image with one annotated cell and one unannotated object, at given probabilities."""
    prob = np.zeros((200, 200), np.float32)
    prob[20:50, 20:50] = true_prob
    prob[120:150, 120:150] = extra_prob
    truth = np.zeros((200, 200), bool)
    truth[20:50, 20:50] = True
    return "a", truth, prob


def test_score_at_drops_a_dim_false_cell_above_its_probability_and_keeps_it_below():
    image = _two_cells(0.9, 0.6)  # a true cell, 900 px, and a dim object left unannotated
    low, high = score_at([image], 0.5), score_at([image], 0.7)
    assert low["images"][0]["pred_count"] == 2 and low["detection"]["precision"] == 0.5
    assert high["images"][0]["pred_count"] == 1 and high["detection"]["precision"] == 1.0
    assert high["segmentation"]["f1"] == 1.0


def test_run_one_chooses_the_threshold_on_validation_images_never_on_the_real_ones(
    tmp_path, monkeypatch
):
    """Real images that would favour a high threshold, validation images a low one: the
    choice follows the validation images, each archive has its own seed, and the tuned
    held-out score uses the chosen threshold."""
    seeds = []

    def render(folder, collections, n, unlabelled, real_root, seed, workers):
        seeds.append(seed)
        return tmp_path / str(seed)

    items = {
        "real": [_two_cells(0.9, 0.6)],  # the extra object goes at 0.6 and above
        str(7 + VALIDATION_SEED_OFFSET): [_two_cells(0.35, 0.2)],  # the cell needs <= 0.3
        str(7 + HELDOUT_SEED_OFFSET): [_two_cells(0.9, 0.4)],  # the extra object goes above 0.4
    }
    monkeypatch.setattr(bench_sim2real, "write_synthetic_archive", render)
    monkeypatch.setattr(bench_sim2real, "find_labelled", lambda root: [])
    monkeypatch.setattr(bench_sim2real, "train", lambda *a: None)
    monkeypatch.setattr(bench_sim2real, "audit_real", lambda *a: {})
    monkeypatch.setattr(
        bench_sim2real,
        "predict",
        lambda model, c, root, device: items["real" if root == tmp_path / "real" else root.name],
    )
    args = argparse.Namespace(
        images=2, workers=1, steps=10, crop=32, batch=1, pos_weight=3.0, fg_share=0.5,
        samples=str(tmp_path / "real"), tune_threshold=4, heldout=4,
    )  # fmt: skip
    scores = bench_sim2real.run_one(args, "yellow", 7, tmp_path, "cpu")
    assert seeds == [7, 7 + VALIDATION_SEED_OFFSET, 7 + HELDOUT_SEED_OFFSET]
    tuned = scores["tuned"]
    assert tuned["threshold"] == 0.3 and tuned["validation_cells"] == 1
    assert scores["images"][0]["pred_count"] == 2  # real at 0.5: the extra object counted
    assert tuned["real"]["images"][0]["pred_count"] == 2
    assert scores["synthetic_heldout"]["images"][0]["pred_count"] == 1  # 0.4 is under 0.5
    assert tuned["synthetic_heldout"]["images"][0]["pred_count"] == 2  # and over 0.3
    assert set(scores["timing_s"]) == {"synth", "train", "tuning", "heldout"}


def test_markdown_adds_the_tuned_tables_with_each_seeds_threshold():
    run = {
        **_scores([(17, 13)]),
        "synthetic_heldout": _scores([(9, 10)]),
        "tuned": {
            "threshold": 0.65,
            "real": _scores([(14, 13)]),
            "synthetic_heldout": _scores([(8, 10)]),
        },
    }
    text = markdown({"collections": {"yellow": {"0": run}}})
    paper, tuned = text.split("Threshold chosen on synthetic validation images")
    assert "17/13" in paper and "14/13" not in paper
    assert "yellow seed 0: 0.65" in tuned
    real, held = tuned.split("The same, synthetic held-out images")
    assert "| +8 | 14/13 | yes |" in real
    assert "| -20 | 8/10 | yes |" in held
    assert "Threshold chosen" not in markdown({"collections": {"yellow": {"0": _scores([])}}})


def test_bounded_accepts_the_range_and_refuses_everything_else_as_a_usage_error():
    share = bounded(float, 0, 1)
    assert share("0") == 0.0 and share("1") == 1.0 and share("0.25") == 0.25
    weight = bounded(float, 0, above=True)
    assert weight("0.5") == 0.5
    count = bounded(int, 0)
    assert count("0") == 0
    for parse, text, message in (
        (share, "1.5", "must be >= 0 and <= 1"),
        (share, "-0.1", "must be >= 0 and <= 1"),
        (weight, "0", "must be > 0"),
        (count, "-1", "must be >= 0"),
        (count, "2.5", "not an integer"),
        (weight, "x", "not a number"),
        (share, "nan", "not a finite number"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(text)


def test_seed_list_refuses_repeats_and_seeds_a_held_out_archive_could_share():
    assert seed_list("0,1,2") == [0, 1, 2]
    top = HELDOUT_SEED_OFFSET - 1  # the largest seed: its three archives' seeds stay apart
    assert top < HELDOUT_SEED_OFFSET <= top + HELDOUT_SEED_OFFSET < VALIDATION_SEED_OFFSET
    for text in ("0,0", "-1", "10000", "a"):
        with pytest.raises(argparse.ArgumentTypeError):
            seed_list(text)


def test_the_mean_row_keeps_the_sign_and_an_unmeasurable_bias_reads_n_a():
    runs = {"0": _scores([(17, 13)]), "1": _scores([(9, 10)]), "2": _scores([(3, 0)])}
    text = markdown({"collections": {"yellow": runs}})
    assert "| n/a | 3/0 |" in text
    assert "| +10 ± 29 | | 2/3 |" in text  # +31 and -10; the empty image has no percent


def test_bench_refuses_a_collection_without_real_samples_before_any_work(
    tmp_path, monkeypatch, capsys
):
    write_image(tmp_path / "yellow" / "images" / "a.png", np.zeros((64, 64, 3), np.uint8))
    write_mask(tmp_path / "yellow" / "masks" / "a.png", np.zeros((64, 64), bool))
    out = tmp_path / "s2r.json"
    argv = ["bench_sim2real", "--samples", str(tmp_path), "--out", str(out)]
    monkeypatch.setattr("sys.argv", [*argv, "--collections", "yellow,red"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    assert "no real labelled 'red' images" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("case", ["out under a file", "empty samples folder"])
def test_bench_refuses_bad_paths_in_one_line_before_training(tmp_path, monkeypatch, capsys, case):
    (tmp_path / "afile").write_text("x")
    samples = tmp_path / "samples"
    samples.mkdir()
    out = tmp_path / "s2r.json"
    if case == "out under a file":
        write_image(samples / "yellow" / "images" / "a.png", np.zeros((64, 64, 3), np.uint8))
        write_mask(samples / "yellow" / "masks" / "a.png", np.zeros((64, 64), bool))
        out = tmp_path / "afile" / "s2r.json"
    monkeypatch.setattr(bench_sim2real, "run", lambda args: pytest.fail("work started"))
    argv = ["bench_sim2real", "--samples", str(samples), "--out", str(out)]
    monkeypatch.setattr("sys.argv", [*argv, "--collections", "yellow"])
    with pytest.raises(SystemExit) as stop:
        main()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    if case == "out under a file":
        assert stop.value.code == 2 and "is a file, not a folder" in err
    else:
        assert stop.value.code == 1 and "no images found" in err


def test_a_bench_stopped_by_sigterm_removes_its_synthetic_archives(tmp_path):
    write_image(tmp_path / "yellow" / "images" / "a.png", np.zeros((64, 64, 3), np.uint8))
    write_mask(tmp_path / "yellow" / "masks" / "a.png", np.zeros((64, 64), bool))
    scratch, out, log = tmp_path / "scratch", tmp_path / "s2r.json", tmp_path / "log.txt"
    scratch.mkdir()
    args = ["--samples", str(tmp_path), "--collections", "yellow", "--images", "1"]
    args += ["--steps", "100000", "--seeds", "0", "--heldout", "0", "--threads", "1"]
    with log.open("w") as sink:  # a file, not a pipe: the child can never block on it
        proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "bench.bench_sim2real", *args, "--out", str(out)],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "TMPDIR": str(scratch)},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while "step" not in log.read_text():  # wait until it trains on an archive it rendered
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert list(scratch.glob("sim2real-*")), log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143, log.read_text()
    finally:
        proc.kill()  # a no-op once it has exited; never leave a trainer running
        proc.wait()
    assert not list(scratch.iterdir()) and not out.exists()
