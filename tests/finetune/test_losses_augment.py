import pytest
import torch

from fncssl.augment import SegAugmentConfig, SegmentationAugment
from fncssl.errors import ConfigError
from fncssl.finetune.losses import build_loss, dice_loss, tversky_loss
from fncssl.models.cresunet import CResUnet


def test_dice_known_values():
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :] = 1  # 8 cell pixels
    perfect = torch.where(target > 0, 50.0, -50.0)
    assert dice_loss(perfect, target).item() == pytest.approx(0.0, abs=1e-6)
    # p = 0.5 everywhere: 1 - (2*4 + 1) / (8 + 8 + 1)
    assert dice_loss(torch.zeros_like(target), target).item() == pytest.approx(1 - 9 / 17)
    # tversky, alpha = beta = 0.5: tp = 4, fp = fn = 4 -> 1 - (4 + 1) / (4 + 2 + 2 + 1)
    assert tversky_loss(torch.zeros_like(target), target, 0.5, 0.5).item() == pytest.approx(4 / 9)


def test_combination_and_unknown_names():
    loss = build_loss({"dice": 1.0, "bce": 0.5})
    lg, t = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) > 0.5).float()
    expected = dice_loss(lg, t) + 0.5 * torch.nn.functional.binary_cross_entropy_with_logits(lg, t)
    assert loss(lg, t).item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ConfigError, match="lovasz"):
        build_loss({"lovasz": 1.0})


def test_loss_drops_on_a_fixed_batch():
    torch.manual_seed(0)
    model = CResUnet(n_features_start=4)
    x = torch.rand(2, 3, 32, 32)
    target = (x.mean(1, keepdim=True) > 0.5).float()
    loss_fn = build_loss({"dice": 1.0, "bce": 1.0})
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_augment_keeps_mask_binary_and_geometry_shared():
    torch.manual_seed(0)
    mask = torch.zeros(8, 1, 48, 48)
    mask[:, :, 5:25, 10:20] = 1
    exact = SegmentationAugment(SegAugmentConfig(lighting=0.0, rotation_degrees=0, zoom=0)).train()
    image, out = exact(mask.repeat(1, 3, 1, 1), mask)
    assert torch.equal((image[:, :1] > 0.5).float(), out)  # flips/rot90: identical geometry
    assert not torch.equal(out, mask)
    affine = SegmentationAugment(SegAugmentConfig(lighting=0.0)).train()
    image, out = affine(mask.repeat(1, 3, 1, 1), mask)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    agree = ((image[:, :1] > 0.5).float() == out).float().mean().item()
    assert agree > 0.98  # bilinear image vs nearest mask differ only on boundary pixels
    affine.eval()
    _same_img, same_mask = affine(mask.repeat(1, 3, 1, 1), mask)
    assert torch.equal(same_mask, mask)


def test_photometric_changes_do_not_touch_the_mask():
    torch.manual_seed(1)
    aug = SegmentationAugment(
        SegAugmentConfig(
            flips=False, rot90=False, rotation_degrees=0, zoom=0, lighting=0.3, gamma=0.3
        )
    ).train()
    img = torch.rand(4, 3, 16, 16)
    mask = (torch.rand(4, 1, 16, 16) > 0.5).float()
    out_img, out_mask = aug(img, mask)
    assert torch.equal(out_mask, mask) and not torch.equal(out_img, img)
    assert out_img.min() >= 0 and out_img.max() <= 1
