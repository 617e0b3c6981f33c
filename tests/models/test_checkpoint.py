import pytest
import torch

from fncssl.errors import FNCError
from fncssl.models.checkpoint import load_strict, read_weights
from fncssl.models.cresunet import CResUnet
from fncssl.models.inference import load_model
from fncssl.models.init import initialise


def test_mismatch_names_the_keys():
    sd = CResUnet(8).state_dict()
    with pytest.raises(FNCError, match="shape mismatch"):
        load_strict(CResUnet(16), sd, "x.pt")
    sd.pop("head.heatmap.conv2d.bias")
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(FNCError) as err:
        load_strict(CResUnet(8), sd, "x.pt")
    assert "head.heatmap.conv2d.bias" in str(err.value) and "extra.weight" in str(err.value)


def test_ssl_encoder_init_loads_exactly_those_weights(tmp_path):
    torch.manual_seed(0)
    pretrained = CResUnet(8)
    torch.save(
        {
            "encoder": pretrained.encoder.state_dict(),
            "config": {"model": {"arch": "cresunet", "n_features_start": 8}},
        },
        tmp_path / "encoder.pt",
    )
    model = CResUnet(8)
    decoder_before = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    note = initialise(model, f"ssl:{tmp_path / 'encoder.pt'}", "cresunet")
    assert note.startswith(f"loaded {len(pretrained.encoder.state_dict())} encoder tensors")
    for k, v in pretrained.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[k], v)
    for k, v in model.decoder.state_dict().items():
        assert torch.equal(decoder_before[k], v)  # decoder untouched
    with pytest.raises(FNCError, match="smp-unet"):
        initialise(model, f"ssl:{tmp_path / 'encoder.pt'}", "smp-unet")
    with pytest.raises(FNCError, match="encoder only"):
        initialise(model, f"checkpoint:{tmp_path / 'encoder.pt'}", "cresunet")


def test_published_model_pth_round_trip(tmp_path):
    torch.manual_seed(1)
    published = CResUnet(16)
    torch.save({"model": published.state_dict(), "opt": {}}, tmp_path / "model.pth")
    assert read_weights(tmp_path / "model.pth").kind == "published"
    model, arch = load_model(tmp_path / "model.pth")
    x = torch.rand(1, 3, 32, 32)
    assert arch == "cresunet" and torch.allclose(model(x), published.eval()(x))


def test_bad_checkpoint_files(tmp_path):
    with pytest.raises(FNCError, match="not found"):
        read_weights(tmp_path / "none.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"junk")
    with pytest.raises(FNCError, match="junk.ckpt"):
        read_weights(tmp_path / "junk.ckpt")
    torch.save({"weights": {}}, tmp_path / "odd.pt")
    with pytest.raises(FNCError, match="unrecognised"):
        read_weights(tmp_path / "odd.pt")
    with pytest.raises(FNCError, match="model.init"):
        initialise(CResUnet(8), "imagenet", "cresunet")


def test_lightning_checkpoint_of_a_compiled_model(tmp_path):
    model = CResUnet(8)
    sd = {f"model._orig_mod.{k}": v for k, v in model.state_dict().items()}
    sd["augment.some_buffer"] = torch.zeros(1)  # not part of the network
    torch.save(
        {
            "state_dict": sd,
            "hyper_parameters": {"config": {"model": {"arch": "cresunet", "n_features_start": 8}}},
        },
        tmp_path / "x.ckpt",
    )
    weights = read_weights(tmp_path / "x.ckpt")
    assert weights.kind == "lightning" and set(weights.state_dict) == set(model.state_dict())
    loaded, arch = load_model(tmp_path / "x.ckpt")
    assert arch == "cresunet"
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
