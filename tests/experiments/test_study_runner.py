"""Running a study (with a stand-in for training), resume, failures, and the report."""

import functools
import json
import math
from pathlib import Path

import pytest
import yaml
from fakes import f1_of, fake_train

from fncssl.cli import main
from fncssl.experiments.report import write_report
from fncssl.experiments.results import collect, paired_difference, summarise
from fncssl.experiments.runner import describe, run_study
from fncssl.experiments.study import StudyError, load_study

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    spec = {
        "name": "toy",
        "expected_wall_time": "instant",
        "base": str(REPO / "configs" / "smoke" / "finetune.yaml"),
        "presets": {"teacher": {"model.init": "checkpoint:{run:init=scratch}"}},
        "grid": {
            "init": ["scratch", "teacher"],
            "data.label_fraction": [0.5, 1.0],
            "seed": [0, 1, 2],
        },
        "cost": {"seconds_per_step": 2.0},
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_paired_t_interval_matches_a_hand_computed_answer():
    # d = [0.1, 0.2, 0.2]: mean 1/6, sd 0.057735, se 0.033333, t(0.975, 2) = 4.302653
    p = paired_difference([0.5, 0.6, 0.7], [0.4, 0.4, 0.5])
    assert p.n == 3
    assert p.mean == pytest.approx(1 / 6)
    assert p.low == pytest.approx(1 / 6 - 4.302653 * 0.0333333, abs=1e-5)
    assert p.high == pytest.approx(1 / 6 + 4.302653 * 0.0333333, abs=1e-5)
    assert p.verdict("ssl") == "ssl better"
    assert paired_difference([0.4, 0.5], [0.5, 0.4]).verdict("ssl") == "no significant difference"
    assert paired_difference([0.1, 0.2, 0.1], [0.5, 0.5, 0.6]).verdict("ssl") == "ssl worse"
    one = paired_difference([0.3], [0.2])
    assert one.n == 1 and math.isnan(one.low) and "too few" in one.verdict("ssl")


def test_failed_run_is_recorded_study_goes_on_and_resume_finishes(study_file, tmp_path):
    out = tmp_path / "out"
    study = load_study(study_file, out)
    lines: list[str] = []
    bad = "init=scratch__label_fraction=0.5__seed=1"
    status = run_study(study, train=functools.partial(fake_train, fail={bad}), log=lines.append)
    # the failed run and the teacher run that references it fail; all others finish
    dependent = "init=teacher__label_fraction=0.5__seed=1"
    assert set(status["failed"]) == {bad, dependent}
    assert len(status["done"]) == 10
    err = json.loads((out / "runs" / bad / "error.json").read_text())
    assert err == {"type": "RuntimeError", "message": f"planned failure of {bad}"}
    assert "planned failure" in (out / "runs" / bad / "traceback.txt").read_text()
    # the progress line says why, not only where the traceback is
    assert any(bad in x and f"FAILED: planned failure of {bad}" in x for x in lines)
    progress = [x for x in lines if x.startswith("[study] ") and "/12 " in x]
    assert len(progress) == 12 and all("elapsed" in x and "remaining" in x for x in progress)
    # dry run: the two unfinished runs at the measured per-step time
    text = describe(load_study(study_file, out))
    assert "2 fine-tuning runs" in text and "(measured)" in text
    with pytest.raises(StudyError, match="--resume"):
        run_study(load_study(study_file, out), train=fake_train, log=lines.append)
    status = run_study(load_study(study_file, out), resume=True, train=fake_train, log=print)
    assert status["done"] == [bad, dependent]  # dependency order kept
    assert len(status["skipped"]) == 10 and not status["failed"]
    assert not (out / "runs" / bad / "error.json").exists()


def test_report_regenerates_from_run_directories_alone(study_file, tmp_path):
    out = tmp_path / "out"
    run_study(load_study(study_file, out), train=fake_train, log=lambda _: None)
    write_report(out)
    names = ["summary.csv", "summary.md", "comparison.csv", "comparison.md"]
    first = {n: (out / n).read_text() for n in names}
    for n in [*names, "label_efficiency.png", "curves.png"]:
        (out / n).unlink()
    (out / "study.yaml").unlink()  # nothing but the run directories
    write_report(out)
    assert {n: (out / n).read_text() for n in names} == first
    assert (out / "label_efficiency.png").stat().st_size > 1000
    assert (out / "curves.png").stat().st_size > 1000
    # the numbers: teacher = scratch + 0.1 on every seed -> difference 0.1, zero-width CI
    comparison = first["comparison.csv"].splitlines()
    header = comparison[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in comparison[1:]]
    seg = [r for r in rows if r["metric"] == "seg_f1"]
    assert len(seg) == 2 and all(r["n"] == "3" for r in seg)
    assert all(float(r["diff"]) == pytest.approx(0.1) for r in seg)
    assert all(r["verdict"] == "teacher better" for r in seg)
    results, _ = collect(out)
    (row,) = [
        r for r in summarise(results) if r["init"] == "scratch" and r["data.label_fraction"] == "1"
    ]
    seeds = [f1_of(f"init=scratch__seed={s}") for s in range(3)]
    assert row["n"] == 3 and row["seg_f1_mean"] == pytest.approx(sum(seeds) / 3)
    assert row["seg_f1_std"] == pytest.approx(0.01)
    assert "± 0.010" in first["summary.md"] and "Twin images" in first["summary.md"]


def test_tensorboard_layout_groups_inits_of_a_grid_point(study_file, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata

    out = tmp_path / "out"
    run_study(load_study(study_file, out), train=fake_train, log=lambda _: None)
    write_report(out)
    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "val_dice/label_fraction=0.5/teacher s2" in tags
    assert "val_dice/label_fraction=0.5/scratch s0" in tags
    raw = acc.Tensors(metadata.CONFIG_SUMMARY_TAG)[0].tensor_proto.string_val[0]
    layout = layout_pb2.Layout.FromString(raw)
    charts = {
        (cat.title, c.title): list(c.multiline.tag) for cat in layout.category for c in cat.chart
    }
    assert charts[("validation Dice", "label_fraction=0.5")] == [r"^val_dice/label_fraction=0\.5/"]
    assert charts[("training loss", "label_fraction=1")] == ["^train_loss_epoch/label_fraction=1/"]
    assert len(charts) == 4


def test_report_on_a_folder_without_finished_runs_is_one_clear_error(tmp_path):
    (tmp_path / "runs" / "x").mkdir(parents=True)
    with pytest.raises(StudyError, match="no finished runs"):
        write_report(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_sigterm_stops_the_whole_study_with_a_resume_hint(study_file, tmp_path):
    from fncssl.errors import RunInterrupted

    out = tmp_path / "out"
    stop_at = "init=scratch__label_fraction=1__seed=0"

    def train(run):
        if run.name == stop_at:
            raise RunInterrupted("stopped by SIGTERM at epoch 0, step 3")
        fake_train(run)

    with pytest.raises(RunInterrupted, match=r"during .*seed=0.*--resume") as info:
        run_study(load_study(study_file, out), train=train, log=lambda _: None)
    assert info.value.exit_code == 143
    assert not (out / "runs" / stop_at / "error.json").exists()  # not a failure: resumable
    status = run_study(load_study(study_file, out), resume=True, train=fake_train, log=print)
    assert stop_at in status["done"] and not status["failed"]
