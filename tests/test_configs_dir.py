from pathlib import Path

from fncssl.config import ExperimentConfig, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_data_block_loads_with_the_schema():
    cfg = load_config(ExperimentConfig, CONFIGS / "data.yaml")
    assert cfg.data.collections == ["green", "yellow", "red"] and cfg.data.crop_size == 512
