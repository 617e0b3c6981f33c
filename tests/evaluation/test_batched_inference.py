"""Batched inference and parallel post-processing give the same answers as the plain path."""

import numpy as np
import torch
from scipy import ndimage as ndi

from fncssl.evaluation.parallel import InstancePipeline
from fncssl.evaluation.postprocess import PostprocessConfig, probability_to_instances
from fncssl.models.inference import probability_map, probability_maps
from fncssl.models.tiling import TileConfig, predict_tiled, predict_tiled_batch


def conv_model(seed=0, out=2):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, out, 5, padding=2)
    ).eval()


def test_batched_tiles_equal_per_image_tiles():
    model = conv_model()
    images = torch.rand(3, 3, 203, 301)
    cfg = TileConfig(tile=96, overlap=32, batch_size=5)  # 5 does not divide the tiles per image
    batched = predict_tiled_batch(model, images, cfg)
    for i in range(3):
        single = predict_tiled(model, images[i], TileConfig(tile=96, overlap=32, batch_size=1))
        assert torch.allclose(batched[i], single, atol=1e-6)


def test_whole_image_mode_equals_the_model_on_the_image():
    model = conv_model()
    images = torch.rand(2, 3, 64, 96)
    whole = predict_tiled_batch(model, images, TileConfig(tile=0, overlap=16))
    with torch.no_grad():
        assert torch.allclose(whole, model(images), atol=1e-6)


def test_probability_maps_group_sizes_and_match_one_by_one():
    model = conv_model(out=1)
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(80, 96)] * 2 + [(72, 64)]
    ]
    tiles = TileConfig(tile=48, overlap=16, batch_size=3)
    maps = probability_maps(model, images, tiles)
    for image, prob in zip(images, maps, strict=True):
        assert prob.shape == image.shape[:2]
        assert np.allclose(prob, probability_map(model, image, tiles), atol=1e-6)


def blobs(seed):
    rng = np.random.default_rng(seed)
    seeds = np.zeros((160, 200), bool)
    seeds[rng.integers(0, 160, 12), rng.integers(0, 200, 12)] = True
    return ndi.gaussian_filter((ndi.distance_transform_edt(~seeds) < 14).astype(np.float32), 2)


def test_parallel_post_processing_gives_the_serial_labels_in_order():
    cfg = PostprocessConfig(min_size=50, max_filter=9, footprint=11)
    probs = [blobs(s) for s in range(4)]
    serial = [probability_to_instances(p, cfg) for p in probs]
    assert all(s.max() > 1 for s in serial)
    with InstancePipeline(cfg, workers=2) as pipe:
        got = [done for i, p in enumerate(probs) for done in pipe.submit(i, p)]
        got += list(pipe.results())
    assert [k for k, _, _ in got] == [0, 1, 2, 3]
    for (_, prob, labels), s, p in zip(got, serial, probs, strict=True):
        assert prob is p and np.array_equal(labels, s)
