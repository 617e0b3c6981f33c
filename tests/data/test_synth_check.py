import numpy as np
import pytest

from fncssl.cli import main
from fncssl.data.imageio import read_image, read_mask, write_image, write_mask
from fncssl.data.synth_camera import draw_domain
from fncssl.data.synth_check import (
    collection_stats,
    compare,
    find_labelled,
    psd_slope,
    ratio,
    to_text,
)
from fncssl.data.synth_render import render_image
from fncssl.data.synth_style import STYLES
from fncssl.errors import DataError


def _case(cell: int, bg: int, bright: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 128x128 yellow-ish image: one 20x20 cell at ``cell`` grey on a flat ``bg``."""
    img = np.zeros((128, 128, 3), np.uint8)
    img[..., 0], img[..., 1] = bg, bg // 2
    mask = np.zeros((128, 128), bool)
    mask[20:40, 20:40] = True
    img[mask] = (cell, cell // 2, 0)
    if bright:  # unannotated structure far from the cell: 10x10 px at the cell's level
        img[100:110, 100:110] = (cell, cell // 2, 0)
    return img, mask


def test_statistics_on_a_constructed_case():
    s = collection_stats([_case(100, 10, True)])
    assert s["cell_grey_p50"] == 100 and s["bg_grey_p50"] == 10
    assert s["contrast"] == pytest.approx(101 / 11)
    assert s["cell_mean_R"] == 100 and s["cell_mean_G"] == 50 and s["cell_mean_B"] == 0
    bg_pixels = 128 * 128 - 28 * 28  # the cell dilated by RING=4 px is not background
    assert s["bright_unannotated_pct"] == pytest.approx(100 * 100 / bg_pixels)
    assert s["bg_block_std_p50"] == 0.0
    assert ratio("cell_grey_p50", 59.0, 119.0) == pytest.approx(0.5)
    assert ratio("psd_slope", -1.5, -3.0) == pytest.approx(0.5)


def test_psd_slope_recovers_a_power_law():
    rng = np.random.default_rng(0)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256)))
    f[0, 0] = 1.0
    spec = np.fft.fft2(rng.standard_normal((256, 256))) * f**-1.5  # power ~ f^-3
    field = np.real(np.fft.ifft2(spec))
    keep = np.ones(field.shape, bool)
    assert psd_slope(field, keep) == pytest.approx(-3.0, abs=0.3)
    assert psd_slope(rng.standard_normal((256, 256)), keep) == pytest.approx(0.0, abs=0.3)


def test_compare_two_flat_folders_gives_the_known_ratios(tmp_path):
    for name, (cell, bg) in {"real": (100, 10), "synth": (50, 10)}.items():
        img, mask = _case(cell, bg, False)
        write_image(tmp_path / name / "yellow" / "images" / "a.png", img)
        write_mask(tmp_path / name / "yellow" / "masks" / "a.png", mask)
    real, synth = find_labelled(tmp_path / "real"), find_labelled(tmp_path / "synth")
    rows = compare(real, synth)["yellow"]
    assert rows["cell_grey_p50"] == (100.0, 50.0, pytest.approx(51 / 101), 100.0, 100.0)
    assert rows["bg_grey_p50"][2] == pytest.approx(1.0)
    with pytest.raises(DataError, match="no (labelled )?images"):
        find_labelled(tmp_path)


def test_real_per_image_range_is_each_real_image_measured_alone(tmp_path):
    cases = {"real/yellow/a": (100, 10), "real/yellow/b": (40, 30), "synth/yellow/a": (30, 10)}
    for name, (cell, bg) in cases.items():
        root, stem = name.rsplit("/", 1)
        img, mask = _case(cell, bg, False)
        write_image(tmp_path / root / "images" / f"{stem}.png", img)
        write_mask(tmp_path / root / "masks" / f"{stem}.png", mask)
    real, synth = find_labelled(tmp_path / "real"), find_labelled(tmp_path / "synth")
    table = compare(real, synth)
    alone = [collection_stats([_case(100, 10, False)]), collection_stats([_case(40, 30, False)])]
    for key, (_, _, _, lo, hi) in table["yellow"].items():
        if np.isfinite(lo):
            assert (lo, hi) == (min(a[key] for a in alone), max(a[key] for a in alone)), key
    assert table["yellow"]["bg_grey_p50"][3:] == (10.0, 30.0)
    # synthetic background 10: half the pooled real median, yet one real image has it too
    line = next(x for x in to_text(table, real, synth).splitlines() if x.startswith("bg_grey_p50"))
    assert "outside [0.7, 1.4]; inside the real images' own range" in line
    line = next(
        x for x in to_text(table, real, synth).splitlines() if x.startswith("cell_grey_p50")
    )
    assert "outside" in line and "own range" not in line  # 30: below both real images' 40, 100


def test_real_range_leaves_out_an_image_where_a_statistic_is_not_measured(tmp_path):
    cases = {"real/yellow/a": (100, 10), "synth/yellow/a": (60, 10)}
    for name, (cell, bg) in cases.items():
        root, stem = name.rsplit("/", 1)
        img, mask = _case(cell, bg, False)
        write_image(tmp_path / root / "images" / f"{stem}.png", img)
        write_mask(tmp_path / root / "masks" / f"{stem}.png", mask)
    blank = _case(100, 30, False)[0]  # no annotated object: object statistics are NaN
    write_image(tmp_path / "real" / "yellow" / "images" / "b.png", blank)
    write_mask(tmp_path / "real" / "yellow" / "masks" / "b.png", np.zeros((128, 128), bool))
    real, synth = find_labelled(tmp_path / "real"), find_labelled(tmp_path / "synth")
    for order in (real, real[::-1]):  # the range must not depend on which image comes first
        rows = compare(order, synth)["yellow"]
        assert rows["cell_grey_p50"][3:] == (100.0, 100.0)
        assert rows["bg_grey_p50"][3:] == (10.0, 30.0)


def test_no_range_note_on_a_ratio_that_could_not_be_computed():
    table = {"yellow": {"contrast": (1.0, 2.0, float("nan"), 0.0, 5.0)}}
    line = to_text(table, [], []).splitlines()[2]
    assert "outside" in line and "own range" not in line


def test_synth_check_cli_against_the_real_samples(samples_dir, synth_root, tmp_path, capsys):
    out = tmp_path / "check"
    code = main(
        ["synth-check", str(samples_dir), str(synth_root), "--out", str(out), "--max-images", "1"]
    )
    text = capsys.readouterr().out
    assert code in (0, 1)
    assert "== yellow" in text and "== red" in text and "cell_grey_p50" in text
    assert "green: not compared (no real sample)" in text
    assert (out / "montage.png").is_file() and (out / "synth_check.json").is_file()


def test_domain_randomisation_varies_across_images_and_repeats_per_seed():
    style = STYLES["yellow"]
    domains = [draw_domain(np.random.default_rng([3, i]), style) for i in range(40)]
    for field in ("gain", "background", "blur", "noise", "haze"):
        values = [getattr(d, field) for d in domains]
        assert max(values) > 1.3 * min(values) + 1e-6, field
    assert {d.jpeg_quality > 0 for d in domains} == {True, False}
    assert {d.holes for d in domains} == {True, False}
    renders = [render_image(np.random.default_rng([3, i]), style, (320, 240)) for i in range(6)]
    bg = [float(np.median(r.image.max(axis=2)[~r.mask])) for r in renders]
    assert max(bg) >= min(bg) + 2  # the measured background level follows the domain
    again = render_image(np.random.default_rng([3, 0]), style, (320, 240))
    assert np.array_equal(again.image, renders[0].image)
    assert again.domain == renders[0].domain


def test_object_peaks_count_only_unannotated_blobs_big_and_bright_enough():
    img, mask = _case(100, 10, False)
    img[60:72, 60:72] = (100, 50, 0)  # unannotated 12x12 blob at the cell's level: counted
    img[100:103, 100:103] = (100, 50, 0)  # a 3x3 dot: smaller than BLOB_MIN_AREA, not counted
    img[90:102, 20:32] = (18, 9, 0)  # 8 grey levels above the background: too faint
    s = collection_stats([(img, mask)])
    assert s["object_peak_p50"] == pytest.approx(100, abs=0.5)  # smoothing keeps a 20 px peak
    assert s["unannotated_blob_peak_p90"] == pytest.approx(100 * 0.9973**2, abs=0.5)
    # above the background + BLOB_DELTA the smoothed 12x12 blob covers 244 px, at least
    # CELL_SIZED (half) of the 400 px cell: a cell-sized blob
    assert s["cell_sized_blobs_per_object"] == 1.0 and s["small_blobs_per_object"] == 0.0
    img[60:68, 100:108] = (100, 50, 0)  # an 8x8 blob covers 132 px: a small one
    s = collection_stats([(img, mask)])
    assert s["cell_sized_blobs_per_object"] == 1.0 and s["small_blobs_per_object"] == 1.0
    mask[60:68, 100:108] = True  # now annotated: two objects, no small blob left
    s = collection_stats([(img, mask)])
    assert s["cell_sized_blobs_per_object"] == 0.5 and s["small_blobs_per_object"] == 0.0
    assert 92.0 < s["object_peak_p10"] < 94.0  # the 8 px object, dimmed by the smoothing
    img[100:, :] = (100, 50, 0)  # a bright band far over CELL_SIZED's upper bound: in neither
    s = collection_stats([(img, mask)])
    assert s["cell_sized_blobs_per_object"] == 0.5 and s["small_blobs_per_object"] == 0.0


def test_synthetic_yellow_annotates_the_cells_a_real_annotator_would(samples_dir):
    """Annotated synthetic cells are as bright as the real annotated ones, and unannotated
    blobs as bright as the real unannotated ones: when annotated synthetic cells were much
    dimmer (object peak p10 at 0.47x the real), a model trained on them took the real images'
    faint unannotated cells for cells and over-detected 2x."""
    real = [x for x in find_labelled(samples_dir) if x.collection == "yellow"]
    real_stats = collection_stats([(read_image(x.image), read_mask(x.mask)) for x in real])
    renders = [
        render_image(np.random.default_rng([21, i]), STYLES["yellow"], (800, 600))
        for i in range(12)
    ]
    synth_stats = collection_stats([(r.image, r.mask) for r in renders if r.mask.any()])
    for key in ("object_peak_p10", "object_peak_p50", "unannotated_blob_peak_p90"):
        r = ratio(key, synth_stats[key], real_stats[key])
        assert 0.6 <= r <= 1.6, (key, synth_stats[key], real_stats[key])


def test_synth_check_refuses_before_writing_anything(tmp_path, capsys):
    """No collection in common, or an image whose mask has another size: one error naming
    the problem (and the file), exit 2, and no output folder."""
    img, mask = _case(100, 10, False)
    write_image(tmp_path / "real" / "yellow" / "images" / "a.png", img)
    write_mask(tmp_path / "real" / "yellow" / "masks" / "a.png", mask)
    write_image(tmp_path / "green" / "green" / "images" / "a.png", img)
    write_mask(tmp_path / "green" / "green" / "masks" / "a.png", mask)
    out = tmp_path / "check"
    assert (
        main(["synth-check", str(tmp_path / "real"), str(tmp_path / "green"), "--out", str(out)])
        == 2
    )
    err = capsys.readouterr().err
    assert "no collection has both" in err and "has yellow" in err and "has green" in err
    assert not out.exists()
    write_image(tmp_path / "odd" / "yellow" / "images" / "b.png", img)
    write_mask(tmp_path / "odd" / "yellow" / "masks" / "b.png", mask[:10, :10])
    assert (
        main(["synth-check", str(tmp_path / "real"), str(tmp_path / "odd"), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert "b.png" in err and "differ in size" in err
    assert not out.exists()
    import cv2

    cv2.imwrite(str(tmp_path / "odd" / "yellow" / "masks" / "b.png"), mask.astype(np.uint8) * 100)
    write_image(tmp_path / "odd" / "yellow" / "images" / "b.png", img)
    assert (
        main(["synth-check", str(tmp_path / "real"), str(tmp_path / "odd"), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err  # a 0/100 mask is refused, not thresholded to empty
    assert "b.png" in err and "100" in err
    assert not out.exists()
    (tmp_path / "afile").write_text("")
    argv = ["synth-check", str(tmp_path / "real"), str(tmp_path / "real")]
    assert main([*argv, "--out", str(tmp_path / "afile")]) == 2
    assert "afile exists and is not a folder" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "afile" / "sub")]) == 2  # no traceback at the end
    assert f"is under a file, {tmp_path / 'afile'}" in capsys.readouterr().err
    inside = tmp_path / "real" / "check"
    assert main([*argv, "--out", str(inside)]) == 2
    assert "lies inside the input" in capsys.readouterr().err and not inside.exists()
    (tmp_path / "odd" / "synthetic.json").write_text("{}")  # roots swapped: synthetic first
    before = sorted(tmp_path.iterdir())
    assert main(["synth-check", str(tmp_path / "odd"), str(tmp_path / "real")]) == 2
    assert "is a synthetic archive" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == before  # nothing written beside the real samples


def test_synth_check_json_is_strict_when_a_statistic_cannot_be_measured(tmp_path, capsys):
    """Masks with no annotated pixel leave the in-cell statistics unmeasured: the JSON holds
    null for them (strict JSON, no NaN token) and the text says they are outside the band."""
    import json

    img, mask = _case(100, 10, False)
    for name, m in (("real", mask), ("blank", np.zeros_like(mask))):
        write_image(tmp_path / name / "yellow" / "images" / "a.png", img)
        write_mask(tmp_path / name / "yellow" / "masks" / "a.png", m)
    out = tmp_path / "check"
    assert main(["synth-check", str(tmp_path / "real"), str(tmp_path / "blank"), "--out", str(out)])
    text = (out / "synth_check.json").read_text()
    rows = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    assert rows["yellow"]["cell_grey_p50"][1] is None
    assert "outside" in capsys.readouterr().out


def test_synth_check_binarise_thresholds_a_non_binary_mask_as_its_error_suggests(tmp_path, capsys):
    """The refusal of a 0/200 mask tells the user to pass --binarise; with it, the 0/200 mask
    gives exactly the statistics of the same mask written 0/255."""
    import json

    import cv2

    img, mask = _case(100, 10, False)
    for name in ("real", "plain", "grey"):
        write_image(tmp_path / name / "yellow" / "images" / "a.png", img)
    write_mask(tmp_path / "real" / "yellow" / "masks" / "a.png", mask)
    write_mask(tmp_path / "plain" / "yellow" / "masks" / "a.png", mask)
    grey_mask = tmp_path / "grey" / "yellow" / "masks" / "a.png"
    grey_mask.parent.mkdir(parents=True)
    cv2.imwrite(str(grey_mask), mask.astype(np.uint8) * 200)
    real = str(tmp_path / "real")
    assert main(["synth-check", real, str(tmp_path / "grey"), "--out", str(tmp_path / "x")]) == 2
    assert "--binarise" in capsys.readouterr().err
    results = {}
    for name in ("plain", "grey"):
        out = tmp_path / f"check-{name}"
        argv = ["synth-check", real, str(tmp_path / name), "--out", str(out), "--binarise"]
        assert main(argv) in (0, 1)  # compared (not refused), montage included
        assert (out / "montage.png").is_file()
        results[name] = json.loads((out / "synth_check.json").read_text())
    assert results["grey"] == results["plain"]
    assert results["grey"]["yellow"]["cell_grey_p50"][2] == 1.0  # same image, same mask
