"""Study files: validation before anything runs, grid expansion, names and ordering."""

from pathlib import Path

import pytest
import yaml

from fncssl.experiments.study import StudyError, load_study, value_label

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "experiments" / "smoke"


def write(tmp_path: Path, spec: dict) -> Path:
    spec = {"base": str(REPO / "configs" / "smoke" / "finetune.yaml"), **spec}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_every_study_file_validates_and_expands(tmp_path):
    files = sorted((REPO / "experiments").glob("*.yaml")) + sorted(SMOKE.glob("*.yaml"))
    assert {p.name for p in SMOKE.glob("*.yaml")} >= {
        "label_efficiency.yaml",
        "cross_collection.yaml",
        "ssl_vs_scratch.yaml",
    }
    for path in files:
        study = load_study(path, tmp_path / path.stem)
        names = [r.name for r in study.runs]
        assert len(names) == len(set(names)), path
        spec = yaml.safe_load(path.read_text())
        assert spec.get("expected_wall_time"), f"{path} states no expected wall time"


def test_grid_expansion_names_and_ssl_resolution(tmp_path):
    study = load_study(SMOKE / "label_efficiency.yaml", tmp_path / "s")
    assert len(study.runs) == 2 * 2 * 2
    run = next(
        r
        for r in study.runs
        if r.point == {"init": "ssl-simclr", "data.label_fraction": "0.5", "seed": "1"}
    )
    assert run.name == "init=ssl-simclr__label_fraction=0.5__seed=1"
    assert run.config.seed == 1 and run.config.data.label_fraction == 0.5
    (pre,) = study.pretrainings.values()  # pretrained once, shared by every ssl run
    assert run.config.model.init == f"ssl:{pre.encoder}"
    assert pre.config.data.collections == ["red"] and pre.config.ssl.method == "simclr"
    assert run.dir == tmp_path / "s" / "runs" / run.name


def test_presets_reference_other_grid_points_and_run_after_them(tmp_path):
    path = write(
        tmp_path,
        {
            "presets": {"teacher": {"model.init": "checkpoint:{run:init=scratch}"}},
            "runs": {"source": {"data.collections": ["yellow"]}},
            "grid": {
                "init": ["teacher", "scratch", "from-source"],
                "seed": [0, 1],
            },
        },
    )
    spec = yaml.safe_load(path.read_text())
    spec["presets"]["from-source"] = {"model.init": "checkpoint:{run:source}"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    study = load_study(path, tmp_path / "out")
    order = [r.name for r in study.runs]
    for seed in (0, 1):
        teacher = f"init=teacher__seed={seed}"
        scratch = f"init=scratch__seed={seed}"
        assert order.index(scratch) < order.index(teacher)
        run = study.runs[order.index(teacher)]
        assert run.config.model.init == f"checkpoint:{tmp_path / 'out' / 'runs' / scratch}"
    assert order.index("source") < order.index("init=from-source__seed=0")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"grid": {"seed": [0]}, "colour": 1}, r"unknown key\(s\) \['colour'\]"),
        ({"grid": {"seed": []}}, "axis 'seed' is empty"),
        ({"grid": {}}, "at least one axis"),
        ({"grid": {"seed": [0, 0]}}, "repeats a value"),
        (
            {"grid": {"data.label_fraction": [0.5, 2.0], "seed": [0]}},
            r"run label_fraction=2__seed=0: invalid config: data.label_fraction",
        ),
        ({"grid": {"data.colour": [1]}}, r"run colour=1: invalid config: unknown config key"),
        ({"grid": {"init": ["ssl:simclr"]}}, "needs 'simclr' in pretrain.methods"),
        ({"grid": {"init": ["magic"]}}, "init 'magic' is not scratch"),
        ({"grid": {"init": ["imagenet:no_such_net_xyz"]}}, "no ImageNet weights"),
        (
            {
                "presets": {"p": {"model.init": "checkpoint:{run:init=teacher}"}},
                "grid": {"init": ["p", "scratch"]},
            },
            "'teacher' is not a value of axis 'init'",
        ),
        (
            {"presets": {"p": {"model.init": "checkpoint:{run:nope}"}}, "grid": {"init": ["p"]}},
            "names no fixed run",
        ),
        ({"grid": {"seed": [0]}, "evaluate_on": ["blue"]}, "unknown collection"),
        ({"grid": {"init": ["checkpoint:/nonexistent/m.pth"]}}, "checkpoint not found"),
        (
            {"grid": {"data.label_fraction": [0.5], "data.label_count": [5]}},
            "exclude each other",
        ),
    ],
)
def test_bad_study_files_fail_before_anything_runs(tmp_path, spec, message):
    with pytest.raises(StudyError, match=message):
        load_study(write(tmp_path, spec), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_value_labels_are_file_name_safe():
    assert value_label(["green", "yellow"]) == "green+yellow"
    assert value_label("ssl:simclr") == "ssl-simclr"
    assert value_label(0.05) == "0.05"
    assert value_label("a/b c") == "a-b-c"
