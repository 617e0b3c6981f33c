"""A teacher checkpoint that needs no training: a tiny c-ResUnet with a sharpened head."""

from pathlib import Path

import pytest
import torch

from fncssl.data.imageio import read_image
from fncssl.data.layout import open_archive
from fncssl.models.inference import to_model_input
from fncssl.models.registry import build_model


@pytest.fixture(scope="session")
def teacher_pth(synth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published-style ``model.pth`` whose probabilities spread over (0, 1) on red images."""
    torch.manual_seed(0)
    model = build_model("cresunet", 8, "resnet18").eval()
    head = model.head.heatmap.conv2d
    image = read_image(open_archive(synth_root).select(["red"], ["unlabelled"])[0].image)
    x = to_model_input(torch.from_numpy(image[:128, :128].transpose(2, 0, 1).copy()))[None]
    with torch.no_grad():
        head.weight.mul_(300.0)
        head.bias.zero_()
        logits = model(x)
        head.bias.fill_(-float(logits.median()))
    path = tmp_path_factory.mktemp("teacher") / "model.pth"
    torch.save({"model": model.state_dict()}, path)
    return path
