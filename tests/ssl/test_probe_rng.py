"""The online probe must not touch the global random stream (issue 11, point 10)."""

import torch

from fncssl.data.layout import open_archive
from fncssl.models.cresunet import CResUnet
from fncssl.ssl.config import ProbeConfig
from fncssl.ssl.probe import PixelProbe


def test_probe_leaves_the_global_rng_alone_and_is_itself_reproducible(synth_root):
    records = [r for r in open_archive(synth_root).select(["red"], ["trainval"]) if r.mask]
    probe = PixelProbe(records[:2], ProbeConfig(images=2, crops=1, crop_size=64, steps=3), 0)
    encoder = CResUnet(4).encoder
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = probe.evaluate(encoder, torch.device("cpu"))
    assert torch.equal(torch.rand(3), expected)  # the stream continues where it was
    torch.manual_seed(999)
    assert probe.evaluate(encoder, torch.device("cpu")) == first  # same fit whatever the seed
