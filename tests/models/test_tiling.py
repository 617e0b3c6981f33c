import pytest
import torch

from fncssl.models.tiling import TileConfig, predict_tiled


def conv_model(seed=0):
    torch.manual_seed(seed)
    # receptive-field radius 3 (3x3 then 5x5)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 5, padding=2)
    ).eval()


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap", "batch"),
    [(304, 432, 128, 32, 3), (200, 160, 64, 16, 1), (96, 80, 128, 32, 2)],
)
def test_tiled_equals_untiled_when_margin_covers_receptive_field(h, w, tile, overlap, batch):
    model = conv_model()
    x = torch.rand(3, h, w)
    with torch.no_grad():
        full = model(x[None])[0]
    tiled = predict_tiled(model, x, TileConfig(tile=tile, overlap=overlap, batch_size=batch))
    assert tiled.shape == full.shape
    assert torch.allclose(tiled, full, atol=1e-5)


def test_odd_sizes_are_padded_and_cropped_back():
    model = conv_model()
    x = torch.rand(3, 203, 301)
    with torch.no_grad():
        full = model(x[None])[0]
    tiled = predict_tiled(model, x, TileConfig(tile=96, overlap=32))
    assert tiled.shape == (2, 203, 301)
    # away from the padded bottom/right border the result is exact
    assert torch.allclose(tiled[:, :-4, :-4], full[:, :-4, :-4], atol=1e-5)


def test_rejects_batches():
    with pytest.raises(ValueError, match="one image"):
        predict_tiled(conv_model(), torch.rand(1, 3, 32, 32))
