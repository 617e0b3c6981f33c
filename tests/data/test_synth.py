import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from fncssl.config import COLLECTIONS
from fncssl.data.atomic import current_umask
from fncssl.data.layout import open_archive
from fncssl.data.reference_stats import REAL_COUNTS, estimated_iqr
from fncssl.data.stats import archive_stats
from fncssl.data.synth import plan_archive, write_synthetic_archive
from fncssl.data.synth_check import object_peaks
from fncssl.data.synth_render import annotated_peak, render_image
from fncssl.data.synth_style import STYLES
from fncssl.errors import DataError


def test_default_plan_matches_the_real_archive():
    plan = plan_archive(list(COLLECTIONS), None, None, None, seed=0)
    for c in COLLECTIONS:
        mine = [p for p in plan if p.collection == c]
        lab = [p for p in mine if p.partition != "unlabelled"]
        assert (len(lab), len(mine) - len(lab)) == REAL_COUNTS[c]
        assert len(mine) - len(lab) > len(lab)
        assert sum(p.partition == "test" for p in lab) == round(0.25 * len(lab))
        assert len({p.stem for p in mine}) == len(mine)
    sizes = {p.size for p in plan if p.collection == "red"}
    assert sizes == {(1600, 1200), (2272, 1704)}
    green = {
        p.index: p.partition
        for p in plan
        if p.collection == "green" and p.partition != "unlabelled"
    }
    for p in plan:  # double-marked twins share a partition
        if p.collection == "yellow" and p.index in green:
            assert p.partition == green[p.index]


def test_rendering_is_deterministic_per_seed():
    a = render_image(np.random.default_rng(5), STYLES["red"], (300, 200))
    b = render_image(np.random.default_rng(5), STYLES["red"], (300, 200))
    c = render_image(np.random.default_rng(6), STYLES["red"], (300, 200))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, c.image)


def test_same_seed_gives_identical_archives(tmp_path):
    a = write_synthetic_archive(tmp_path / "a", ["green"], 2, 1, (200, 160), seed=4, workers=1)
    b = write_synthetic_archive(tmp_path / "b", ["green"], 2, 1, (200, 160), seed=4, workers=2)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 2 * 2 + 1
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes()


def test_empty_images_still_show_unannotated_signal():
    r = render_image(np.random.default_rng(2), STYLES["yellow"], (800, 600), empty=True)
    assert not r.mask.any()
    red_channel = r.image[..., 0].astype(float)
    assert red_channel.max() > np.median(red_channel) + 20  # faint cells / artifacts are there


def test_cells_are_brighter_than_background():
    for c in COLLECTIONS:
        r = render_image(np.random.default_rng(9), STYLES[c], (800, 600))
        if r.mask.any():
            lum = r.image.max(axis=2).astype(float)
            assert lum[r.mask].mean() > 3 * lum[~r.mask].mean(), c


def test_bad_arguments(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(DataError, match="not empty"):
        write_synthetic_archive(tmp_path / "full", labelled=1, unlabelled=1, size=(100, 100))
    with pytest.raises(DataError, match="blue"):
        write_synthetic_archive(tmp_path / "o", ["blue"], 1, 1, (100, 100))
    with pytest.raises(DataError, match="too small"):
        write_synthetic_archive(tmp_path / "o2", None, 1, 1, (10, 10))
    from fncssl.cli import main

    with pytest.raises(SystemExit) as exc:  # a usage error: workers must be at least 1
        main(["synth", str(tmp_path / "o4"), "--workers", "0"])
    assert exc.value.code == 2 and not (tmp_path / "o4").exists()
    with pytest.raises(DataError, match="too large"):  # refused before any folder is made
        write_synthetic_archive(tmp_path / "o3", None, 1, 1, (20000, 20000))
    assert not (tmp_path / "o3").exists()
    with pytest.raises(DataError, match="not a folder"):
        write_synthetic_archive(tmp_path / "full" / "x", None, 1, 1, (100, 100))
    with pytest.raises(DataError, match="no collection"):
        write_synthetic_archive(tmp_path / "o3", [], 1, 1, (100, 100))
    with pytest.raises(DataError, match="--labelled must be 0 or more"):
        write_synthetic_archive(tmp_path / "o4", ["red"], -1, 1, (100, 100))
    with pytest.raises(DataError, match="nothing to write"):
        write_synthetic_archive(tmp_path / "o5", ["red"], 0, 0, (100, 100))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]  # nothing half-written


@pytest.mark.slow
def test_default_archive_statistics_land_in_table1_bands(tmp_path):
    """Full-size images with the default generator: Table 1 bands (estimated IQRs)."""
    root = write_synthetic_archive(tmp_path / "a", labelled=60, unlabelled=0, seed=0)
    table, _ = archive_stats(open_archive(root))
    for c in COLLECTIONS:
        band = estimated_iqr(c)
        assert band["area_um2"][0] <= table[c]["area_um2_median"] <= band["area_um2"][1], c
        assert (
            band["cells_per_image"][0] <= table[c]["cells_median"] <= band["cells_per_image"][1]
        ), c
        assert band["signal_pct"][0] <= table[c]["signal_pct_mean"] <= band["signal_pct"][1], c


def test_masks_have_no_holes_even_when_cells_merge():
    """Polygon formats cannot hold holes; touching cells must not enclose unmasked background."""
    from dataclasses import replace

    from scipy import ndimage as ndi

    crowded = replace(STYLES["red"], touching=0.9, count_median=120.0)
    for seed in range(4):
        mask = render_image(np.random.default_rng(seed), crowded, (800, 600)).mask
        assert np.array_equal(ndi.binary_fill_holes(mask), mask), seed


def _share_of_annotated_below_unannotated(style, n: int = 16) -> float:
    """Share of annotated objects whose smoothed peak is below the p90 of the unannotated
    blobs' peaks, pooled over ``n`` images with different exposures."""
    peak_in, peak_blob = [], []
    for i in range(n):
        r = render_image(np.random.default_rng([21, i]), style, (800, 600))
        o = object_peaks(r.image.max(axis=2), r.mask)
        peak_in.append(o["peak_in"])
        peak_blob.append(o["peak_blob"])
    inside, blobs = np.concatenate(peak_in), np.concatenate(peak_blob)
    return float(np.mean(inside < np.percentile(blobs, 90)))


def test_annotated_cells_clear_an_absolute_brightness_threshold():
    """The annotator marks a cell by how bright it looks, whatever the image's exposure: pooled
    over images, few annotated cells are dimmer than the brighter unannotated blobs (as in the
    real samples, where none is). With the exposure-relative rule of the first pass a third of
    them were, and a model trained on it took real faint cells for cells."""
    for c in ("yellow", "red"):
        assert STYLES[c].annotate_min > 0
        assert _share_of_annotated_below_unannotated(STYLES[c]) <= 0.15, c
    relative = dataclasses.replace(STYLES["yellow"], annotate_min=0.0)
    assert _share_of_annotated_below_unannotated(relative) > 0.2


def test_annotated_peaks_never_fall_below_the_threshold():
    style = dataclasses.replace(STYLES["yellow"], annotate_jitter=0.0, brightness_sigma=0.5)
    rng = np.random.default_rng(0)
    peaks = np.array([annotated_peak(rng, 100.0, 120.0, style) for _ in range(2000)])
    assert peaks.min() >= 120.0
    free = np.array([annotated_peak(rng, 100.0, 0.0, style) for _ in range(2000)])
    assert free.min() < 60.0 and np.median(free) == pytest.approx(100.0, rel=0.05)


def test_stain_channel_pales_with_level_as_the_colour_curve_says():
    from fncssl.data.synth_camera import _stain_channel

    stain = np.array([25.5, 127.5, 255.0], np.float32)
    got = _stain_channel(stain, 0.86, 0.07)
    want = 0.86 * stain * (stain / 255.0) ** 0.07
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert got[2] / stain[2] > got[0] / stain[0]  # weak channel catches up where bright
    np.testing.assert_allclose(_stain_channel(stain, 0.5, 0.0), 0.5 * stain)


def test_linear_level_is_the_inverse_of_the_display_gamma():
    from fncssl.data.synth_camera import linear_level

    for gamma in (0.9, 1.0, 1.1):
        for shown in (10.0, 96.0, 200.0):
            v = linear_level(shown, gamma)
            assert 255.0 * (v / 255.0) ** gamma == pytest.approx(shown, rel=1e-9)


def test_annotated_cells_look_bright_enough_even_where_the_lamp_is_dim():
    """The annotator judges the displayed image: with cells drawn right at the threshold, an
    annotated cell in a dim corner of an unevenly lit frame is still displayed above it. With
    the threshold on the pre-lamp brightness (the third-pass rule) about a quarter of these
    cells were displayed below 0.9 of it, down to 0.78."""
    style = dataclasses.replace(
        STYLES["yellow"],
        annotate_jitter=0.0,
        annotate_min=1.0,
        brightness_sigma=0.05,
        gain_sigma=0.0,
        intensity=110.0,
        # round, evenly stained cells filling their outline, so that the displayed peak is
        # the drawn one (blur dims a thin cell's peak whatever the annotator's rule)
        clumps=0.0,
        outline_margin=0.0,
        aspect=(1.0, 1.5),
        irregularity=0.1,
        # no unannotated cells, whose glow would lift a neighbour's displayed peak
        faint_ratio=0.0,
    )
    threshold = style.annotate_min * style.intensity
    peaks = []
    for i in range(16):
        r = render_image(np.random.default_rng([33, i]), style, (800, 600))
        peaks.append(object_peaks(r.image.max(axis=2), r.mask)["peak_in"])
    peaks = np.concatenate(peaks) / threshold
    assert peaks.size >= 30
    # the texture moves a displayed peak by up to about 12% either way
    assert peaks.min() >= 0.87
    assert np.mean(peaks < 0.93) <= 0.1


def _plain_cell(style, margin: float, clumps: float = 0.0, seed: int = 0):
    """One cell drawn alone, without texture, glow or dome unless asked: (signal, mask)."""
    from fncssl.data.synth_render import _draw_cell, cell_polygon

    plain = dataclasses.replace(
        style,
        outline_margin=margin,
        clumps=clumps,
        granularity=0.0,
        puncta=0.0,
        glow=0.0,
        core=0.0,
        edge_soft=0.0,
        irregularity=0.0,
        processes=0,
        aspect=(1.0, 1.0),
    )
    rng = np.random.default_rng(seed)
    signal = np.zeros((160, 160), np.float32)
    mask = np.zeros((160, 160), bool)
    outline = cell_polygon(rng, 2000.0, plain)
    _draw_cell(rng, signal, mask, outline, (80.0, 80.0), 100.0, plain, hollow=False)
    return signal, mask


def test_outline_margin_sets_the_stained_body_inside_or_beyond_the_annotated_outline():
    """A round cell of mask area A drawn with margin m has its half-maximum contour (the edge
    of the blurred body) around A / (1 + m)^2; the mask itself does not change."""
    style = STYLES["yellow"]
    for m in (0.0, 0.2, -0.1):
        signal, mask = _plain_cell(style, m)
        base_mask = _plain_cell(style, 0.0)[1]
        assert np.array_equal(mask, base_mask)
        half = (signal > 50.0).sum()
        assert half / mask.sum() == pytest.approx(1.0 / (1.0 + m) ** 2, rel=0.06), m


def test_clumps_make_staining_uneven_but_keep_the_mean():
    """Clumped staining spreads the brightness inside the cell (coefficient of variation up)
    while the cell's mean level stays about the same (the clump field is mean-normalised)."""
    from scipy import ndimage as ndi

    style = STYLES["yellow"]
    cv, means = {}, {}
    for clumps in (0.0, 0.6):
        values = []
        for seed in range(6):
            signal, mask = _plain_cell(style, 0.0, clumps, seed)
            inner = ndi.binary_erosion(mask, iterations=6)  # away from the blurred edge
            values.append(signal[inner])
        v = np.concatenate(values)
        cv[clumps], means[clumps] = v.std() / v.mean(), v.mean()
    assert cv[0.0] < 0.05 < 0.2 < cv[0.6]
    assert means[0.6] == pytest.approx(means[0.0], rel=0.15)


def test_fragments_are_small_bright_and_never_annotated():
    """With only fragments drawn (no cells, faint cells, fibres, dust), an image has bright
    blobs but an empty mask, and no blob is larger than a blurred largest fragment."""
    from scipy import ndimage as ndi

    style = dataclasses.replace(
        STYLES["red"],
        fragments=30.0,
        fragment_level=(0.8, 1.0),
        faint_ratio=0.0,
        fibres=0,
        debris_rate=0.0,
        tissue_level=0.0,
        haze_max=0.0,
        hole_fraction=0.0,
        crowding=0.0,
        jpeg_fraction=0.0,
    )
    r = render_image(np.random.default_rng(4), style, (1600, 1200), empty=True)
    assert not r.mask.any()
    grey = r.image.max(axis=2).astype(np.float32)
    blobs, _ = ndi.label(grey > 0.3 * style.intensity)
    sizes = np.bincount(blobs.ravel())[1:]
    sizes = sizes[sizes >= 20]
    biggest = style.fragment_area[1] * style.area_median_um2 / 0.3**2
    assert len(sizes) >= 15
    assert sizes.max() <= 2.5 * biggest


def test_sensor_defects_add_a_sparse_noise_floor_and_hot_pixels():
    """On a black frame: the weak channels gain only 1-2 grey levels (besides hot pixels),
    the main channel only hot pixels (25-150); the noise-floor share spans orders of
    magnitude between images, as between the real red samples."""
    from fncssl.data.synth_camera import sensor_defects

    shares = []
    for seed in range(30):
        out = np.zeros((300, 400, 3), np.uint8)
        sensor_defects(np.random.default_rng(seed), out, weak=[1, 2])
        hot = out >= 25
        assert np.all(out[hot] <= 150)
        assert np.all(out[..., 0][~hot[..., 0]] == 0)
        assert np.all(out[..., 1:][~hot[..., 1:]] <= 2)
        shares.append(float(np.mean((out[..., 1] > 0) & ~hot[..., 1])))
    assert min(shares) < 1e-3 and max(shares) > 0.05


def test_a_style_change_redraws_only_the_layers_it_touches():
    """Each layer draws from its own random stream: changing how processes and neuropil look
    leaves every cell, hence the mask, byte-identical (the same seed compares like with like);
    changing the cells changes the mask."""
    base = STYLES["yellow"]
    clutter = dataclasses.replace(
        base,
        dotted=1.0 - base.dotted,
        neuropil=0.0,
        neurites=5,
        neurite_turn=0.05,
        neurite_swell=0.4,
        neurite_far=0.5,
    )
    negatives = dataclasses.replace(  # unmarked cells, fragments and tissue: not the annotation
        base, faint_ratio=2.0, faint_area=0.5, fragments=80.0, tissue_contrast=2.0
    )
    cells = dataclasses.replace(base, area_sigma=base.area_sigma * 2)
    size = (480, 360)
    ref = render_image(np.random.default_rng(11), base, size)
    assert ref.mask.any()
    other = render_image(np.random.default_rng(11), clutter, size)
    assert np.array_equal(other.mask, ref.mask)
    assert not np.array_equal(other.image, ref.image)
    again = render_image(np.random.default_rng(11), negatives, size)
    assert np.array_equal(again.mask, ref.mask)
    assert not np.array_equal(again.image, ref.image)
    assert not np.array_equal(render_image(np.random.default_rng(11), cells, size).mask, ref.mask)


def test_dotted_processes_are_chains_of_separate_puncta_along_the_path():
    """A dotted process lights only pixels within 2 px of its path, in many separate puncta
    (not one line), dimming towards the far end by the fade."""
    from scipy import ndimage as ndi

    from fncssl.data.synth_render import _dotted

    path = np.array([[[20 + 3 * k, 50]] for k in range(60)], np.int32)  # 177 px to the right
    lines = np.zeros((100, 220), np.float32)
    _dotted(np.random.default_rng(0), lines, path, bright=100.0, beading=0.0, fade=0.9)
    ys, xs = np.nonzero(lines)
    assert np.all(np.abs(ys - 50) <= 1) and xs.min() >= 19 and xs.max() <= 198
    _, n = ndi.label(lines > 0)
    assert n >= 15
    near, far = lines[:, :80], lines[:, 140:]
    assert far[far > 0].mean() < 0.6 * near[near > 0].mean()


def test_neuropil_puncta_gather_around_the_cells():
    """Neuropil puncta scatter with the given spread around the anchors: nearly all lie
    within four spreads of one, and without anchors they cover the frame."""
    from fncssl.data.synth_render import _neuropil

    anchors = [(100.0, 100.0), (400.0, 250.0)]
    lines = np.zeros((360, 480), np.float32)
    _neuropil(np.random.default_rng(0), lines, 300, 100.0, (0.2, 0.4), anchors, spread=15.0)
    ys, xs = np.nonzero(lines)
    dist = np.min([np.hypot(xs - ax, ys - ay) for ax, ay in anchors], axis=0)
    assert np.mean(dist <= 62) > 0.995  # a 2-D Gaussian leaves exp(-8) beyond 4 spreads
    assert lines.max() <= 40.0 + 1e-4 and lines[lines > 0].min() >= 20.0 - 1e-4
    spread_out = np.zeros_like(lines)
    _neuropil(np.random.default_rng(0), spread_out, 300, 100.0, (0.2, 0.4), [], spread=15.0)
    ys, xs = np.nonzero(spread_out)
    assert xs.min() < 60 and xs.max() > 420 and ys.min() < 60 and ys.max() > 300


def test_a_neurite_base_widens_the_process_where_it_leaves_the_cell():
    """With ``neurite_base`` the first stretch of a process is a cone a share of the cell
    radius wide; without it the process keeps its thin ``neurite_width``."""
    from fncssl.data.synth_render import _neurite

    plain = dataclasses.replace(STYLES["red"], dotted=0.0, neurite_base=0.0, neurite_width=(2, 3))
    cone = dataclasses.replace(plain, neurite_base=0.8)
    widths = {}
    for name, style in (("plain", plain), ("cone", cone)):
        lines = np.zeros((400, 400), np.float32)
        _neurite(np.random.default_rng(3), lines, (200.0, 200.0), 20.0, 100.0, style)
        near = lines[170:231, 170:231] > 0  # within 30 px of the centre: the process's base
        widths[name] = near.sum()
    assert widths["cone"] > 2 * widths["plain"]


def _plain_neurite_style(**changes):
    """Red's style with one deterministic process: no beads, dots, cone, swellings or
    brightness draw, and the default bending."""
    base = dataclasses.replace(
        STYLES["red"],
        dotted=0.0,
        fibre_beading=0.0,
        neurite_base=0.0,
        neurite_branch=0.0,
        neurite_swell=0.0,
        neurite_turn=0.18,
        neurite_level=(1.0, 1.0),
        neurite_width=(3, 4),
        neurite_length=(30, 31),
    )
    return dataclasses.replace(base, **changes)


def test_neurite_fade_sets_how_bright_the_far_end_is():
    """A process starts at the cell's brightness and ends at ``1 - neurite_fade * k / n`` of it,
    k being the first step of its last 3-step run of n steps; with no fade it stays level."""
    from fncssl.data.synth_render import _neurite

    n, last_run = 30, 27
    for fade in (0.0, 0.6, 0.9):
        lines = np.zeros((500, 500), np.float32)
        style = _plain_neurite_style(neurite_fade=fade)
        _neurite(np.random.default_rng(5), lines, (250.0, 250.0), 15.0, 100.0, style)
        lit = lines[lines > 0]
        assert lit.max() == pytest.approx(100.0)
        assert lit.min() == pytest.approx(100.0 * (1 - fade * last_run / n), rel=1e-5)


def test_neurite_branch_forks_the_process_without_erasing_it():
    """With ``neurite_branch`` 1 every process forks once: the same stem is drawn, plus a
    branch leaving it, so the drawing grows and stays one connected piece."""
    from fncssl.data.synth_render import _neurite

    drawn = {}
    for branch in (0.0, 1.0):
        lines = np.zeros((800, 800), np.float32)
        style = _plain_neurite_style(neurite_branch=branch)
        _neurite(np.random.default_rng(11), lines, (400.0, 400.0), 15.0, 100.0, style)
        drawn[branch] = lines > 0
    stem, tree = drawn[0.0], drawn[1.0]
    assert (tree | stem).sum() == tree.sum()  # every stem pixel is still lit
    assert tree.sum() > 1.2 * stem.sum()
    assert ndi.label(tree, structure=np.ones((3, 3)))[1] == 1


def test_curve_turn_sets_how_far_a_path_runs_as_a_persistent_random_walk_says():
    """The heading takes a normal step of std ``turn`` at each point, so the cosine between
    steps i and j averages exp(-|i - j| turn^2 / 2) and the mean squared end-to-end distance
    is step^2 times the sum of those over all pairs; turn 0 is a straight line."""
    from fncssl.data.synth_render import _curve

    steps, step = 40, 5.0
    straight = _curve(np.random.default_rng(0), (0.0, 0.0), 0.3, steps, step, turn=0.0)
    assert np.hypot(*straight[-1, 0]) == pytest.approx(steps * step, abs=1.0)
    for turn in (0.07, 0.18, 0.4):
        ends = np.array(
            [
                _curve(np.random.default_rng(s), (0.0, 0.0), 0.0, steps, step, turn)[-1, 0]
                for s in range(3000)
            ],
            np.float64,
        )
        lag = np.abs(np.subtract.outer(np.arange(steps), np.arange(steps)))
        expected = step**2 * np.exp(-lag * turn**2 / 2).sum()
        assert (ends**2).sum(1).mean() == pytest.approx(expected, rel=0.05)


def test_neurite_swell_makes_a_process_swell_and_pinch_along_its_length():
    """Without swell a straight process only narrows from base to tip (the taper); with
    ``neurite_swell`` its width goes up and down from run to run (varicosities)."""
    from fncssl.data.synth_render import _neurite

    def widths(swell: float, seed: int) -> np.ndarray:
        style = _plain_neurite_style(neurite_turn=0.0, neurite_swell=swell, neurite_width=(6, 7))
        lines = np.zeros((400, 600), np.float32)
        _neurite(np.random.default_rng(seed), lines, (300.0, 200.0), 1.0, 100.0, style)
        ys, xs = np.nonzero(lines > 0)
        # measure across the process (perpendicular to its straight path), every 6 px
        d = np.array([xs - xs.mean(), ys - ys.mean()])
        u, _, _ = np.linalg.svd(np.cov(d))
        along, across = u[:, 0] @ d, u[:, 1] @ d
        bins = np.arange(along.min() + 3, along.max() - 3, 6)
        idx = np.digitize(along, bins)
        w = np.array([np.ptp(across[idx == k]) for k in range(1, len(bins))])
        return w if along[np.argmin(np.hypot(xs - 300, ys - 200))] < 0 else w[::-1]  # base first

    grew = {0.0: 0, 0.6: 0}
    for swell in grew:
        for seed in range(10):
            steps = np.diff(widths(swell, seed))
            if swell == 0.0:
                assert np.all(steps <= 1.5)  # never wider further out, up to rounding
            grew[swell] += int((steps > 1.5).sum())
    assert grew[0.6] >= 10


def test_out_of_focus_neurites_blur_the_processes_but_keep_cells_and_geometry():
    """``neurite_far`` sends a share of the processes out of the focal plane: the mask and
    every other layer stay byte-identical (the choice has its own stream), and what the
    processes add to the picture (the render minus one without processes) is smoother: less
    gradient per unit of added signal. With no share out of focus the blur setting is unused."""
    import cv2

    base = dataclasses.replace(STYLES["red"], neurites=4, neurite_far=0.0)
    far = dataclasses.replace(base, neurite_far=1.0, neurite_far_blur=8.0)
    bare = dataclasses.replace(base, neurites=0)
    size = (480, 360)

    def sharpness(added: np.ndarray) -> float:
        g = cv2.GaussianBlur(added, (0, 0), 1.0)  # past the pixel noise
        gy, gx = np.gradient(g)
        return float(np.hypot(gx, gy).sum() / np.abs(g).sum())

    checked = 0
    for seed in range(6):
        sharp, blurred, without = (
            render_image(np.random.default_rng(seed), style, size) for style in (base, far, bare)
        )
        assert np.array_equal(sharp.mask, blurred.mask)
        if not sharp.mask.any():
            assert np.array_equal(sharp.image, blurred.image)  # no cells, no processes
            continue
        checked += 1
        red = [x.image[..., 0].astype(np.float32) for x in (sharp, blurred, without)]
        assert sharpness(red[1] - red[2]) < 0.8 * sharpness(red[0] - red[2])
    assert checked >= 2
    # with every process out of focus but blurred as the in-focus ones, and nothing else on
    # the line layers, the picture is the same: which processes go out of focus does not
    # change where they are drawn
    only = dataclasses.replace(base, fibres=0, neuropil=0.0)
    same_blur = dataclasses.replace(only, neurite_far=1.0, neurite_far_blur=only.line_blur)
    for seed in (0, 3):
        a = render_image(np.random.default_rng(seed), only, size).image
        b = render_image(np.random.default_rng(seed), same_blur, size).image
        assert np.array_equal(a, b)
    default = dataclasses.replace(STYLES["red"], neurite_far=0.0, neurite_far_blur=1.0)
    a = render_image(np.random.default_rng(7), default, size).image
    b = render_image(
        np.random.default_rng(7), dataclasses.replace(default, neurite_far_blur=9.0), size
    )
    assert np.array_equal(a, b.image)


def test_process_reach_draws_longer_protrusions_at_the_same_area():
    """Outlines keep their area whatever the protrusions; a longer ``process_reach`` pushes
    the farthest outline point further out relative to the cell's equivalent radius."""
    from fncssl.data.synth_render import cell_polygon

    def reach_ratio(reach: tuple[float, float]) -> float:
        style = dataclasses.replace(
            STYLES["yellow"], processes=3, process_reach=reach, irregularity=0.0, aspect=(1, 1)
        )
        ratios = []
        for seed in range(40):
            pts = cell_polygon(np.random.default_rng(seed), 400.0, style)
            x, y = pts[:, 0], pts[:, 1]
            area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            assert area == pytest.approx(400.0, rel=1e-6)
            ratios.append(np.hypot(x, y).max() / np.sqrt(area / np.pi))
        return float(np.mean(ratios))

    assert reach_ratio((1.0, 1.2)) > reach_ratio((0.1, 0.2)) + 0.3


@pytest.mark.parametrize("pre_existing", [False, True])
def test_an_interrupted_synth_leaves_no_partial_archive(tmp_path, monkeypatch, pre_existing):
    """Interrupted after the images are written, ``out`` is as it was and no temp folder stays;
    a rerun then writes the whole archive into the same place."""
    import fncssl.data.synth as synth

    out = tmp_path / "arch"
    if pre_existing:
        out.mkdir()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "_write_spreadsheet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_archive(out, ["red"], 1, 1, (96, 96), workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["arch"] if pre_existing else [])
    assert not pre_existing or not any(out.iterdir())
    monkeypatch.undo()
    write_synthetic_archive(out, ["red"], 1, 1, (96, 96), workers=1)
    assert (out / "synthetic.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch"]
    assert out.stat().st_mode & 0o777 == 0o777 & ~current_umask()
    hidden = str(tmp_path / ".arch")  # no file names the temp folder it was built in
    assert not [p for p in out.rglob("*") if p.is_file() and hidden.encode() in p.read_bytes()]


TIMEOUT_S = 120
_FAILING_RENDER_SCRIPT = """
import signal, sys
import fncssl.data.synth as synth
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a caller that traps SIGTERM; workers inherit it
real = synth.render_and_write
def failing(out, item):
    if item.index == 1:
        raise ValueError("render failed")
    return real(out, item)
synth.render_and_write = failing
try:
    synth.write_synthetic_archive(sys.argv[1], ["red"], 4, 4, (96, 96), workers=2)
except ValueError as exc:
    print("raised:", exc)
"""


def test_a_failing_render_stops_the_workers_even_when_the_caller_traps_sigterm(tmp_path):
    """Forked workers used to inherit the caller's SIGTERM handler, so ``Pool.terminate`` could
    not stop them and the caller hung (seen in ``bench_sim2real``, which traps SIGTERM)."""
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "arch"
    cmd = [sys.executable, "-c", _FAILING_RENDER_SCRIPT, str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the workers too: they ignore SIGTERM
        proc.communicate()
        pytest.fail("write_synthetic_archive hung after a worker failed")
    assert "raised: render failed" in stdout, stderr
    assert list(tmp_path.iterdir()) == []  # no archive and no temp folder


def test_an_archive_that_cannot_be_moved_into_place_is_one_clear_error(tmp_path, monkeypatch):
    """If something is written into the (empty) target meanwhile, the finished archive cannot
    replace it: a DataError naming the target, the foreign file kept, no temp folder left."""
    import fncssl.data.synth as synth

    out = tmp_path / "arch"
    out.mkdir()
    real = synth._write_spreadsheet

    def meanwhile(*args, **kwargs):
        (out / "someone-else.txt").write_text("x")
        return real(*args, **kwargs)

    monkeypatch.setattr(synth, "_write_spreadsheet", meanwhile)
    with pytest.raises(DataError, match=f"could not move the finished archive to {out}"):
        write_synthetic_archive(out, ["red"], 1, 1, (96, 96), workers=1)
    assert sorted(p.name for p in out.iterdir()) == ["someone-else.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch"]


def test_the_default_archive_is_generated_once_and_a_concurrent_finisher_is_kept(
    tmp_path, monkeypatch
):
    """First use writes the cached archive; the next returns it untouched; when another process
    finishes the same archive first, its copy is used and the refusal is not an error."""
    import fncssl.data.default_archive as da

    monkeypatch.setenv("FNCSSL_CACHE", str(tmp_path / "cache"))
    settings = {"labelled": 1, "unlabelled": 0, "size": (96, 96), "seed": 3}
    root = da.default_archive_root(**settings)
    manifest = root / "synthetic.json"
    assert manifest.is_file() and manifest.read_bytes()
    stamp = manifest.stat().st_mtime_ns
    assert da.default_archive_root(**settings) == root and manifest.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in root.parent.iterdir()) == [root.name]  # no temp folder

    other = {**settings, "seed": 4}
    real = da.write_synthetic_archive

    def beaten(out, **kwargs):  # the other process renames its archive in first
        real(out, **kwargs)
        raise DataError(f"output folder is not empty: {out}")

    monkeypatch.setattr(da, "write_synthetic_archive", beaten)
    assert (da.default_archive_root(**other) / "synthetic.json").is_file()

    def refused(out, **kwargs):  # a stale folder at ``root`` that is not a finished archive
        raise DataError(f"output folder is not empty: {out}")

    monkeypatch.setattr(da, "write_synthetic_archive", refused)
    with pytest.raises(DataError, match="not empty"):
        da.default_archive_root(**{**settings, "seed": 5})
