"""Every method's loss drops on a fixed batch; views and location matching are right."""

import copy

import pytest
import torch

from fncssl.augment import SSLViews, ViewConfig, match_locations
from fncssl.config import load_config
from fncssl.errors import ConfigError
from fncssl.models.cresunet import CResUnet
from fncssl.ssl.config import MOMENTUM, QUEUE, PretrainConfig
from fncssl.ssl.methods import METHODS, method_class


def method_overrides(name, queue_size):
    """ssl.method plus the queue and momentum settings for the methods that read them."""
    return (
        [f"ssl.method={name}"]
        + ([f"ssl.queue_size={queue_size}"] if name in QUEUE else [])
        + (["ssl.momentum=0.9"] if name in MOMENTUM else [])
    )


def make(name):
    cfg = load_config(
        PretrainConfig,
        None,
        ["views.size=64", "ssl.hidden_dim=64", "ssl.proj_dim=32", *method_overrides(name, 32)],
    )
    torch.manual_seed(0)
    return METHODS[name](CResUnet(8).encoder, 64, cfg)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_loss_drops_on_a_fixed_batch(name):
    """A stationary objective (fixed views, fixed targets, negatives frozen) must go down."""
    module = make(name)
    torch.manual_seed(1)
    crops = (torch.rand(8, 3, 96, 96) * 255).to(torch.uint8)
    v1, v2, m1, m2 = module.views(crops)
    # Queues change as they fill; every evaluation starts from the same initial loss state.
    snapshot = {n: copy.deepcopy(c) for n, c in module.named_children() if "criterion" in n}

    def loss_now():
        for n, c in snapshot.items():
            setattr(module, n, copy.deepcopy(c))
        return module.compute_loss(v1, v2, m1, m2)[0]

    with torch.no_grad():
        before = loss_now().item()
    opt = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=2e-3)
    for _ in range(15):
        loss = loss_now()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = loss_now().item()
    assert after < before, (name, before, after)


def test_momentum_branches_are_copies_not_the_online_modules():
    for name in ("moco", "byol", "densecl"):
        module = make(name)
        for online, target in module.momentum_modules.items():
            a, b = getattr(module, online), getattr(module, target)
            assert a is not b
            pa, pb = next(a.parameters()), next(b.parameters())
            assert pa.data_ptr() != pb.data_ptr() and not pb.requires_grad


def test_unknown_method():
    with pytest.raises(ConfigError, match="swav"):
        method_class("swav")


def test_matched_locations_show_the_same_input_pixel():
    torch.manual_seed(0)
    views = SSLViews(ViewConfig(size=64, brightness=0, contrast=0, gamma=0, blur_p=0, noise_std=0))
    s = 128
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    coords = torch.stack([xx / s, yy / s, torch.zeros(s, s)])[None].repeat(6, 1, 1, 1)
    v1, v2, m1, m2 = views(coords)
    grid = 8
    index, valid = match_locations(m1, m2, grid, grid, 64)
    centres = ((torch.arange(grid) + 0.5) * 64 / grid).long()
    f1 = v1[:, :2][:, :, centres][:, :, :, centres].flatten(2)
    f2 = v2[:, :2][:, :, centres][:, :, :, centres].flatten(2)
    matched = torch.gather(f2, 2, index[:, None].expand(-1, 2, -1))
    err_px = (f1 - matched).abs().amax(1)[valid] * s
    assert valid.float().mean() > 0.3
    # one view-2 feature cell spans at most 8 / min-scale input pixels
    assert err_px.max() <= 8 / ViewConfig().scale_min ** 0.5 + 1


@pytest.mark.parametrize("name", ["simclr", "densecl"])
def test_methods_train_a_timm_encoder_too(name):
    from fncssl.models.registry import build_model
    from fncssl.ssl.run import feature_dim

    cfg = load_config(
        PretrainConfig,
        None,
        ["views.size=64", "ssl.hidden_dim=32", "ssl.proj_dim=16", *method_overrides(name, 16)],
    )
    encoder = build_model("smp-unet", encoder="resnet18").encoder
    module = METHODS[name](encoder, feature_dim(encoder, 32), cfg)
    v1, v2, m1, m2 = module.views((torch.rand(4, 3, 96, 96) * 255).to(torch.uint8))
    loss = module.compute_loss(v1, v2, m1, m2)[0]
    loss.backward()
    grads = [p.grad for p in module.encoder.parameters() if p.requires_grad]
    assert torch.isfinite(loss) and any(g is not None and g.abs().sum() > 0 for g in grads)
