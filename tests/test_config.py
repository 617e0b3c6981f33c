import dataclasses

import pytest

from fncssl.config import ExperimentConfig, build, dump_yaml, load_config, to_dict
from fncssl.errors import ConfigError


def test_yaml_and_dotted_overrides(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("seed: 3\ndata:\n  crop_size: 256\ntrainer:\n  max_epochs: 7\n")
    cfg = load_config(
        ExperimentConfig,
        cfg_file,
        [
            "trainer.max_epochs=5",
            "data.collections=[red]",
            "data.label_fraction=0.25",
            "run.name=x",
        ],
    )
    assert cfg.seed == 3 and cfg.data.crop_size == 256
    assert cfg.trainer.max_epochs == 5
    assert cfg.data.collections == ["red"]
    assert cfg.data.label_fraction == 0.25 and cfg.run.name == "x"


def test_round_trip_through_dict_and_yaml():
    import yaml

    cfg = load_config(ExperimentConfig, None, ["seed=9", "trainer.devices=2"])
    assert build(ExperimentConfig, to_dict(cfg)) == cfg
    assert build(ExperimentConfig, yaml.safe_load(dump_yaml(cfg))) == cfg


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("trainer.max_epoch=5", "trainer.max_epoch"),
        ("dta.root=/x", "dta"),
        ("seed=abc", "seed"),
        ("data.crop_size=1.5", "data.crop_size"),
        ("data.collections=[blue]", "blue"),
        ("data.label_fraction=1.5", "label_fraction"),
        ("noequals", "key=value"),
    ],
)
def test_bad_keys_and_values_are_named(override, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
        load_config(ExperimentConfig, None, [override])


def test_unknown_key_lists_valid_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("trainer:\n  max_epoch: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(ExperimentConfig, f)
    assert "trainer.max_epochs" in str(err.value)  # the valid spelling is suggested


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(ExperimentConfig, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(ExperimentConfig, bad)


def test_defaults_are_independent():
    a, b = ExperimentConfig(), ExperimentConfig()
    a.data.collections.append("red")
    assert b.data.collections == ["green", "yellow", "red"]
    assert dataclasses.is_dataclass(a)
