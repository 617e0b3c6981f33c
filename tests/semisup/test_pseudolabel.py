"""`fncssl pseudolabel`: maps + manifest, TTA, test images refused, manifest and teacher checks."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from fncssl.cli import main
from fncssl.data.imageio import _load, read_image, write_image
from fncssl.data.layout import open_archive
from fncssl.errors import FNCError
from fncssl.models.inference import load_model, probability_map
from fncssl.models.registry import build_model
from fncssl.models.tiling import TileConfig
from fncssl.semisup.manifest import check_manifest, teacher_identity
from fncssl.semisup.pseudolabel import (
    PseudoLabelConfig,
    run_pseudolabel,
    tta_probability,
    unlabelled_records,
)


@pytest.fixture(scope="module")
def labelled_dir(synth_root, teacher_pth, tmp_path_factory):
    out = tmp_path_factory.mktemp("pl") / "pseudo"
    code = main(["pseudolabel", str(teacher_pth), "--out", str(out), f"root={synth_root}",
                 "collections=[red]", "tile=256", "overlap=32"])  # fmt: skip
    assert code == 0
    return out


def test_maps_and_manifest_cover_exactly_the_unlabelled_images(
    labelled_dir, synth_root, teacher_pth
):
    archive = open_archive(synth_root)
    unlabelled = archive.select(["red"], ["unlabelled"])
    manifest = json.loads((labelled_dir / "manifest.json").read_text())
    assert [e["key"] for e in manifest["images"]] == [r.key for r in unlabelled]
    test_keys = {r.key for r in archive.select(None, ["test"])}
    assert not test_keys & {e["key"] for e in manifest["images"]}
    assert manifest["teacher"] == teacher_identity(teacher_pth)
    rec, entry = unlabelled[0], manifest["images"][0]
    stored = _load(labelled_dir / entry["file"])
    assert stored.dtype == np.uint8 and stored.shape == (entry["height"], entry["width"])
    model, _ = load_model(teacher_pth)
    prob = probability_map(model, read_image(rec.image), TileConfig(256, 32, multiple=8))
    assert np.abs(stored.astype(float) - prob * 255).max() <= 0.5 + 1e-3
    assert 0 < (stored >= 0.7 * 255).mean() < 1  # the sharpened teacher is confident somewhere
    check_manifest(labelled_dir, unlabelled, teacher_identity(teacher_pth))


def test_a_test_image_is_never_pseudo_labelled(synth_root, teacher_pth, tmp_path):
    test_image = open_archive(synth_root).select(["red"], ["test"])[0].image
    disguised = tmp_path / "elsewhere" / test_image.name  # same file stem, another folder
    disguised.parent.mkdir()
    shutil.copy(test_image, disguised)
    for item in (test_image, disguised):
        out = tmp_path / f"out-{item.parent.name}"
        code = main(["pseudolabel", str(teacher_pth), "--out", str(out), f"root={synth_root}",
                     "collections=[red]", f"extra_images=[{item}]"])  # fmt: skip
        assert code == 2
        assert not out.exists()


def test_empty_unlabelled_set_is_an_error(synth_copy):
    shutil.rmtree(synth_copy / "red" / "unlabelled")
    with pytest.raises(FNCError, match="no unlabelled images"):
        unlabelled_records(open_archive(synth_copy), ["red"])


def test_manifest_from_another_image_set_or_teacher_is_refused(labelled_dir, synth_root, tmp_path):
    archive = open_archive(synth_root)
    unlabelled = archive.select(["red"], ["unlabelled"])
    with pytest.raises(FNCError, match="another image set"):
        check_manifest(labelled_dir, unlabelled[:-1])
    with pytest.raises(FNCError, match="another image set"):
        check_manifest(labelled_dir, archive.select(["green"], ["unlabelled"]))
    other = tmp_path / "other.pth"
    torch.save({"model": _perturbed_teacher()}, other)
    with pytest.raises(FNCError, match="another teacher"):
        check_manifest(labelled_dir, unlabelled, teacher_identity(other))
    # same keys, but an image whose pixels changed since it was labelled
    copy = tmp_path / "archive"
    shutil.copytree(synth_root / "red" / "unlabelled", copy / "red" / "unlabelled")
    img = read_image(unlabelled[0].image)
    write_image(copy / "red" / "unlabelled" / "images" / unlabelled[0].image.name, 255 - img)
    with pytest.raises(FNCError, match="differs from the image"):
        check_manifest(labelled_dir, open_archive(copy).select(["red"], ["unlabelled"]))
    with pytest.raises(FNCError, match="no manifest.json"):
        check_manifest(tmp_path, unlabelled)


def _perturbed_teacher() -> dict:
    torch.manual_seed(1)
    return build_model("cresunet", 8, "resnet18").state_dict()


def test_teachers_that_do_not_fit_are_refused(synth_root, tmp_path):
    sd = build_model("cresunet", 8, "resnet18").state_dict()
    sd.pop(next(k for k in sd if k.startswith("head.")))
    torch.save({"model": sd}, tmp_path / "broken.pth")
    torch.save({"encoder": {}, "config": {}}, tmp_path / "encoder.pt")
    for name, message in (("broken.pth", "does not fit"), ("encoder.pt", "encoder only")):
        with pytest.raises(FNCError, match=message):
            run_pseudolabel(
                str(tmp_path / name), tmp_path / "o", PseudoLabelConfig(str(synth_root), ["red"])
            )


class _Asymmetric(nn.Module):
    """Not equivariant to flips or turns (a fixed asymmetric kernel)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3, padding=1)
        torch.manual_seed(0)
        nn.init.normal_(self.conv.weight)

    def forward(self, x):
        return self.conv(x) * 3


def test_d4_tta_is_invariant_to_the_transforms_it_averages_over():
    model = _Asymmetric()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
    tiles = TileConfig(64, 8, multiple=8)
    plain = tta_probability(model, image, tiles, "cpu", "none")
    d4 = tta_probability(model, image, tiles, "cpu", "d4")
    assert np.abs(plain - d4).max() > 1e-3  # TTA changes the prediction of this model ...
    turned = tta_probability(model, np.rot90(image).copy(), tiles, "cpu", "d4")
    assert np.allclose(np.rot90(d4), turned, atol=1e-5)  # ... into an equivariant one
    flipped = tta_probability(model, image[:, ::-1].copy(), tiles, "cpu", "flips")
    assert np.allclose(tta_probability(model, image, tiles, "cpu", "flips")[:, ::-1], flipped,
                       atol=1e-5)  # fmt: skip


def test_pseudo_crops_align_probabilities_and_ignore_dropped_objects(labelled_dir, synth_root):
    from fncssl.semisup.dataset import PseudoLabelCrops
    from fncssl.semisup.objects import dropped_objects

    records = open_archive(synth_root).select(["red"], ["unlabelled"])
    crops = PseudoLabelCrops(records, labelled_dir, 64, 6, 1.0, 0, 0.7, 400, 0.0)
    for i in range(len(crops)):
        item = crops[i]
        rec = next(r for r in records if r.key == item["key"])
        stored = _load(labelled_dir / f"{rec.key}.png")
        (y, x), s = item["origin"], 64
        assert np.array_equal(item["prob"][0].numpy(), stored[y : y + s, x : x + s])
        assert np.array_equal(item["image"].numpy().transpose(1, 2, 0),
                              read_image(rec.image)[y : y + s, x : x + s])  # fmt: skip
        drop = dropped_objects(stored, 0.7, 400, 0.0)[y : y + s, x : x + s]
        assert np.array_equal(item["ignore"][0].numpy(), drop)


def test_finetune_refuses_a_pseudo_dir_of_another_teacher_or_image_set(
    labelled_dir, synth_root, teacher_pth, tmp_path, capsys
):
    other = tmp_path / "other.pth"
    torch.save({"model": _perturbed_teacher()}, other)
    smoke = Path(__file__).resolve().parents[2] / "configs" / "smoke" / "pseudolabel.yaml"
    base = ["finetune", str(smoke), f"data.root={synth_root}", f"run.dir={tmp_path}",
            f"semisup.pseudo_dir={labelled_dir}", "semisup.max_unlabelled=0"]  # fmt: skip
    cases = (
        ([f"semisup.teacher={other}", "semisup.unlabelled_pool=false"], "another teacher"),
        ([f"semisup.teacher={teacher_pth}", "data.label_fraction=0.5"], "another image set"),
    )
    for i, (extra, message) in enumerate(cases):
        assert main([*base, f"run.name=r{i}", *extra]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / f"r{i}" / "round-1" / "checkpoints").exists()


def test_the_teacher_runs_archive_is_the_default(synth_root, teacher_pth, tmp_path, monkeypatch):
    """Without ``root=``, a run directory's own ``data.root`` is labelled, not the synthetic
    default (which must not even be built)."""
    import yaml

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(teacher_pth, run / "checkpoints" / "best.ckpt")
    tree = {"data": {"root": str(synth_root), "collections": ["red"]}}
    (run / "config.yaml").write_text(yaml.safe_dump(tree))
    monkeypatch.setenv("FNCSSL_CACHE", str(tmp_path / "cache"))
    cfg = PseudoLabelConfig(tile=256, overlap=32, max_images=1)
    manifest = run_pseudolabel(str(run), tmp_path / "pl", cfg)
    assert [Path(e["image"]).is_relative_to(synth_root) for e in manifest["images"]] == [True]
    assert not (tmp_path / "cache").exists()
    with pytest.raises(FNCError, match="nope"):
        run_pseudolabel(str(tmp_path / "nope.ckpt"), tmp_path / "pl2", cfg)
    assert not (tmp_path / "cache").exists()  # a bad checkpoint fails before any data work


def test_output_inside_the_archive_is_refused(synth_root, teacher_pth, capsys):
    out = synth_root / "red" / "pseudo"
    code = main(["pseudolabel", str(teacher_pth), "--out", str(out), f"root={synth_root}"])
    assert code == 2
    assert "is inside the archive" in capsys.readouterr().err
    assert not out.exists()
