"""Float spellings, range checks and keys a command or method never reads (issue 11)."""

from pathlib import Path

import pytest

from fncssl.config import ExperimentConfig, load_config
from fncssl.errors import ConfigError
from fncssl.finetune.config import FinetuneConfig
from fncssl.ssl.config import PretrainConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("spelling", ["1e-4", "1E-4", "1.0e-4", "+1e-4", ".0001"])
def test_every_float_spelling_is_a_float(tmp_path, spelling):
    f = tmp_path / "c.yaml"
    f.write_text(f"optim:\n  lr: {spelling}\nloss:\n  weights: {{dice: 1, bce: {spelling}}}\n")
    cfg = load_config(FinetuneConfig, f, [f"loss.pos_weight={spelling}"])
    assert cfg.optim.lr == 1e-4 and cfg.loss.pos_weight == 1e-4
    assert cfg.loss.weights == {"dice": 1.0, "bce": 1e-4}
    assert load_config(FinetuneConfig, None, [f"optim.lr={spelling}"]).optim.lr == 1e-4


def test_strings_that_are_not_numbers_stay_errors():
    with pytest.raises(ConfigError, match="optim.lr: expected a number"):
        load_config(FinetuneConfig, None, ["optim.lr=fast"])


def test_a_mapping_written_without_a_space_after_the_colon_gets_a_hint():
    """YAML reads ``{dice:1}`` as the key "dice:1" with no value; say how to write it."""
    with pytest.raises(ConfigError, match=r"loss.weights: 'dice:1' has no value.*\(dice: 1\)"):
        load_config(FinetuneConfig, None, ["loss.weights={dice:1}"])
    assert load_config(FinetuneConfig, None, ["loss.weights={dice: 1}"]).loss.weights == {
        "dice": 1.0
    }


@pytest.mark.parametrize(
    ("schema", "override", "needle"),
    [
        (FinetuneConfig, "augment.zoom=1.5", "augment.zoom must be"),
        (FinetuneConfig, "augment.rotation_degrees=-5", "augment.rotation_degrees must be"),
        (FinetuneConfig, "loss.weights={dice: -1}", "loss.weights must be"),
        (FinetuneConfig, "eval.overlap=600", "eval.overlap"),
        (FinetuneConfig, "eval.postprocess.threshold=1.5", "eval.postprocess.threshold must be"),
        (FinetuneConfig, "trainer.max_epochs=0", "trainer.max_epochs must be"),
        (FinetuneConfig, "data.num_workers=-1", "data.num_workers must be"),
        (PretrainConfig, "views.scale_min=0", "views.scale_min must be"),
        (PretrainConfig, "ssl.temperature=0", "ssl.temperature must be"),
        (PretrainConfig, "ssl.method=swav", "ssl.method"),
    ],
)
def test_out_of_range_values_name_the_key(schema, override, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(schema, None, [override])


@pytest.mark.parametrize(
    ("schema", "overrides", "needle"),
    [
        (PretrainConfig, ["ssl.method=byol", "ssl.temperature=0.1"], "ssl.temperature"),
        (PretrainConfig, ["ssl.method=simclr", "ssl.queue_size=128"], "ssl.queue_size"),
        (PretrainConfig, ["ssl.method=vicreg", "ssl.momentum=0.9"], "ssl.momentum"),
        (PretrainConfig, ["data.label_fraction=0.5"], "data.label_fraction"),
        (FinetuneConfig, ["loss.focal_gamma=3"], "loss.focal_gamma"),
        (FinetuneConfig, ["model.arch=cresunet", "model.encoder=resnet50"], "model.encoder"),
        (FinetuneConfig, ["loss.weights={dice: 1, dcie: 1}"], "dcie"),
    ],
)
def test_keys_never_read_are_errors(schema, overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(schema, None, overrides)


def test_switching_the_probe_off_keeps_its_settings_legal():
    """`probe.enabled=false` on the command line must work with a config that tunes the probe."""
    config = Path(__file__).resolve().parents[1] / "configs" / "pretrain" / "simclr.yaml"
    cfg = load_config(PretrainConfig, config, ["probe.enabled=false"])
    assert cfg.probe.enabled is False


def test_keys_read_by_the_chosen_method_are_accepted():
    cfg = load_config(PretrainConfig, None, ["ssl.method=moco", "ssl.temperature=0.1"])
    assert cfg.ssl.temperature == 0.1
    cfg = load_config(
        FinetuneConfig, None, ["loss.weights={dice: 1, focal: 1}", "loss.focal_gamma=3"]
    )
    assert cfg.loss.focal_gamma == 3.0
    # the shared schema reads every data key; a default value restated is harmless
    assert (
        load_config(ExperimentConfig, None, ["data.label_fraction=0.5"]).data.label_fraction == 0.5
    )
    assert load_config(PretrainConfig, None, ["data.label_fraction=1.0"]).data.label_fraction == 1.0


@pytest.mark.parametrize("path", sorted(CONFIGS.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads_with_its_schema(path):
    if path.name == "data.yaml":
        schema = ExperimentConfig
    elif "pretrain" in path.parts or path.name.startswith("pretrain"):
        schema = PretrainConfig
    else:
        schema = FinetuneConfig
    load_config(schema, path)


def test_ssl_method_choices_match_the_registry():
    from fncssl.ssl.config import SSL_METHODS
    from fncssl.ssl.methods import METHODS

    assert sorted(SSL_METHODS) == sorted(METHODS)


def test_prune_unread_keeps_what_each_variant_reads():
    from fncssl.config import build, prune_unread

    tree = {"ssl": {"method": "byol", "temperature": 0.1, "queue_size": 64, "momentum": 0.9}}
    pruned, removed = prune_unread(PretrainConfig, tree)
    assert sorted(removed) == ["ssl.queue_size", "ssl.temperature"]
    assert build(PretrainConfig, pruned).ssl.momentum == 0.9
    tree["ssl"]["method"] = "moco"
    pruned, removed = prune_unread(PretrainConfig, tree)
    assert removed == []
    assert build(PretrainConfig, pruned).ssl.queue_size == 64
