"""The fused SSL view warp: one affine warp equals crop, flip and rotation done in turn."""

import pytest
import torch
import torch.nn.functional as F

from fncssl.augment import SSLViews, ViewConfig, view_matrices, warp_views

PLAIN = dict(brightness=0, contrast=0, gamma=0, blur_p=0, noise_std=0)


def sequential(image, box, hflip, vflip, k, size):
    """The definition: slice the box, resize it, mirror, then rotate (one step at a time)."""
    x0, y0, w, h = box
    crop = image[:, :, y0 : y0 + h, x0 : x0 + w]
    v = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)
    if hflip:
        v = v.flip(-1)
    if vflip:
        v = v.flip(-2)
    return torch.rot90(v, k, dims=(-2, -1))


@pytest.mark.parametrize("scale", [1, 2])
def test_fused_warp_equals_crop_then_flip_then_rotation(scale):
    torch.manual_seed(0)
    size, src = 24, 80
    image = torch.rand(1, 3, src, src)
    cases = [((5, 7), h, v, k) for h in (False, True) for v in (False, True) for k in range(4)] + [
        ((src - scale * size, 0), True, False, 3)
    ]
    for (x0, y0), h, v, k in cases:
        box = (x0, y0, scale * size, scale * size)
        m = view_matrices(
            torch.tensor([box], dtype=torch.float32),
            torch.tensor([h]),
            torch.tensor([v]),
            torch.tensor([k]),
            size,
        )
        fused = warp_views(image, m, size)
        expected = sequential(image, box, h, v, k, size)
        assert torch.allclose(fused, expected, atol=1e-5), (box, h, v, k)


def test_returned_matrices_map_input_pixels_to_view_pixels():
    torch.manual_seed(3)
    src, size = 96, 32
    yy, xx = torch.meshgrid(torch.arange(float(src)), torch.arange(float(src)), indexing="ij")
    coords = (torch.stack([xx, yy, torch.zeros_like(xx)]) / src)[None].repeat(16, 1, 1, 1)
    views = SSLViews(ViewConfig(size=size, **PLAIN))
    v1, v2, m1, m2 = views(coords)
    assert not torch.allclose(m1, m2)
    u, w = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)), indexing="xy")
    pts = torch.stack([u.flatten(), w.flatten(), torch.ones(size * size)])  # view (u, v, 1)
    for view, m in ((v1, m1), (v2, m2)):
        src_pts = torch.linalg.inv(m) @ pts  # (B, 3, N): where each view pixel samples
        got = view[:, :2].flatten(2) * src  # the coordinate image carries (x, y) / src
        inside = (src_pts[:, :2] >= 0).all(1) & (src_pts[:, :2] <= src - 1).all(1)
        err = (got - src_pts[:, :2]).abs().amax(1)[inside]
        assert inside.float().mean() > 0.95 and err.max() < 1e-3


def test_uint8_input_matches_scaled_float_and_intensity_stays_in_range():
    crops = (torch.rand(6, 3, 64, 64) * 255).to(torch.uint8)
    plain = SSLViews(ViewConfig(size=32, **PLAIN))
    torch.manual_seed(1)
    a = plain(crops)
    torch.manual_seed(1)
    b = plain(crops.float() / 255)
    for x, y in zip(a, b, strict=True):
        assert torch.allclose(x, y, atol=1e-5)
    torch.manual_seed(2)
    v1, _, _, _ = SSLViews(ViewConfig(size=32, blur_p=1.0))(crops)
    assert v1.min() >= 0 and v1.max() <= 1 and v1.shape == (6, 3, 32, 32)
    assert not torch.allclose(v1, a[0])  # the intensity changes did something
