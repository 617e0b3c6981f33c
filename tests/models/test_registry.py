import pytest
import torch

from fncssl.errors import ConfigError
from fncssl.models.registry import build_model


def test_smp_unet_on_a_timm_encoder_has_the_same_interface():
    model = build_model("smp-unet", encoder="resnet18").eval()
    x = torch.rand(1, 3, 64, 96)
    feats = model.encoder(x)
    assert isinstance(feats, list) and feats[-1].shape[-2:] == (2, 3)  # bottleneck at 1/32
    assert model(x).shape == (1, 1, 64, 96)


def test_unknown_arch_and_encoder():
    with pytest.raises(ConfigError, match="model.arch"):
        build_model("vit-unet")
    with pytest.raises(ConfigError, match="model.encoder"):
        build_model("smp-unet", encoder="no_such_net")
