import json
from pathlib import Path

import pytest
import torch

from fncssl.models.cresunet import CResUnet

REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "cresunet_state_dict.json"
)


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_file():
        pytest.skip(f"reference state-dict names not found at {REFERENCE}")
    return json.loads(REFERENCE.read_text())


def test_state_dict_names_shapes_and_order_match_the_published_model(reference):
    sd = CResUnet().state_dict()
    assert [k for k, _ in reference] == list(sd)
    assert all(list(sd[k].shape) == shape for k, shape in reference)
    n = sum(p.numel() for p in CResUnet().parameters() if p.requires_grad)
    assert n == 1_707_287


def test_published_style_checkpoint_loads_strictly(reference, tmp_path):
    torch.manual_seed(0)
    fake = {k: torch.randn(s) if s else torch.tensor(3) for k, s in reference}
    torch.save({"model": fake, "opt": {"state": {}}}, tmp_path / "model.pth")
    ckpt = torch.load(tmp_path / "model.pth", weights_only=True)
    model = CResUnet()
    model.load_state_dict(ckpt["model"], strict=True)
    assert torch.equal(
        model.state_dict()["head.heatmap.conv2d.weight"], fake["head.heatmap.conv2d.weight"]
    )


def test_encoder_features_and_output_shapes():
    model = CResUnet(n_features_start=8).eval()
    x = torch.rand(2, 3, 64, 96)
    feats = model.encoder(x)
    assert [tuple(f.shape) for f in feats] == [
        (2, 8, 64, 96),
        (2, 16, 32, 48),
        (2, 32, 16, 24),
        (2, 64, 8, 12),
    ]
    assert model(x).shape == (2, 1, 64, 96)
