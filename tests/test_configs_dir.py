from pathlib import Path

import pytest

from fncssl.config import ExperimentConfig, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_data_block_loads_with_the_schema():
    cfg = load_config(ExperimentConfig, CONFIGS / "data.yaml")
    assert cfg.data.collections == ["green", "yellow", "red"] and cfg.data.crop_size == 512


def test_semisup_configs_load_with_their_modes():
    from fncssl.finetune.config import FinetuneConfig

    for name, mode in (("pseudolabel", "pseudolabel"), ("consistency", "consistency")):
        for path in (CONFIGS / f"{name}.yaml", CONFIGS / "smoke" / f"{name}.yaml"):
            cfg = load_config(FinetuneConfig, path)
            assert cfg.semisup.mode == mode, path
    cfg = load_config(FinetuneConfig, CONFIGS / "consistency.yaml")
    assert cfg.semisup.band == pytest.approx((0.1, 0.9)) and cfg.semisup.strong.lighting == 0.4
