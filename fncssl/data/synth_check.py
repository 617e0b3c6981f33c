"""How close synthetic images are to real ones: image statistics side by side, and a montage.

``image_stats(image, mask)`` measures one labelled image; ``collection_stats`` pools several.
Grey level is the brightest channel (the stain's channel in these single-hue images); the
"saturation" statistics are HSV saturation (0-255). Background texture is summarised on the
masked-out background (cells dilated by ``RING`` px): the median and p90 of the standard
deviation in 16x16 blocks, and the slope of the radially averaged power spectrum.
"Bright unannotated structure" is the share of background pixels brighter than half the
median cell grey level of the same image. Object level (grey smoothed with a sigma of 2 px): the
brightness of each annotated object's peak (p10, p50), and the unannotated blobs: connected
regions of at least ``BLOB_MIN_AREA`` px brighter than the image's background median plus
``BLOB_DELTA`` grey levels that lie mostly outside the masks: their peak p90, and how many
there are per annotated object, counted apart for cell-sized blobs (``CELL_SIZED`` times the
pooled median annotated object's area: unmarked cell bodies, the negatives a model must learn
to skip) and smaller ones (fragments, dust, bits of fibre); larger blobs (webs of neuropil,
haze, stripes) count in neither. These say whether "bright enough to be annotated" means the
same in both archives; a model trained where faint cells are annotated over-detects on real
images. Ratios are synthetic / real with one grey level
added to both sides (``(s + 1) / (r + 1)``), so near-black statistics do not blow up; slopes
are compared as plain ratios. A ratio in [0.7, 1.4] counts as matched. Each statistic is
also measured on every real image alone; their min and max show how far the real samples
disagree among themselves (shown, never used to judge a match).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage as ndi

from fncssl.config import COLLECTIONS
from fncssl.data.imageio import check_same_size, read_image, read_mask
from fncssl.data.layout import open_archive
from fncssl.errors import DataError

RING = 4  # px of dilation around cells excluded from "background"
BLOCK = 16
MATCH_BAND = (0.7, 1.4)
BLOB_DELTA = 12.0  # grey levels above the background median that make an unannotated blob
BLOB_MIN_AREA = 60  # px
CELL_SIZED = (0.5, 4.0)  # a blob's area range, in median annotated object areas
PLAIN_RATIO = {  # compared without the +1 floor
    "psd_slope",
    "contrast",
    "bright_unannotated_pct",
    "cell_sized_blobs_per_object",
    "small_blobs_per_object",
}


@dataclass(frozen=True)
class Labelled:
    """One labelled image on disk."""

    collection: str
    image: Path
    mask: Path


def find_labelled(root: str | Path, max_per_collection: int | None = None) -> list[Labelled]:
    """Labelled images of a flat samples folder (``<c>/images``, ``<c>/masks``) or an archive."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"not a folder: {root}")
    found: list[Labelled] = []
    flat = [
        c for c in COLLECTIONS if (root / c / "images").is_dir() and (root / c / "masks").is_dir()
    ]
    if flat:
        for c in flat:
            for img in sorted((root / c / "images").glob("*.png")):
                m = root / c / "masks" / img.name
                if not m.is_file():
                    raise DataError(f"{img}: no mask {m}")
                found.append(Labelled(c, img, m))
    else:
        try:
            archive = open_archive(root)
        except DataError as err:
            raise DataError(f"{err}; or a flat samples folder <collection>/images + masks") from err
        for r in archive.records:
            if r.labelled and r.mask is not None:
                found.append(Labelled(r.collection, r.image, r.mask))
    if max_per_collection is not None:
        by: dict[str, list[Labelled]] = {}
        for x in found:
            by.setdefault(x.collection, []).append(x)
        found = [x for c in by for x in by[c][:max_per_collection]]
    if not found:
        raise DataError(
            f"{root}: no labelled images (expected <collection>/images + masks, or an FNC archive)"
        )
    return found


def _tiles(shape: tuple[int, int], size: int, most: int) -> list[tuple[int, int]]:
    """Top-left corners of up to ``most`` evenly spread ``size`` squares inside ``shape``."""
    h, w = shape
    ny, nx = max(1, min(h // size, int(most**0.5))), max(1, min(w // size, int(most**0.5)))
    ys = np.linspace(0, max(h - size, 0), ny).astype(int)
    xs = np.linspace(0, max(w - size, 0), nx).astype(int)
    return [(int(y), int(x)) for y in ys for x in xs]


def psd_slope(grey: np.ndarray, keep: np.ndarray, tile: int = 256) -> float:
    """Slope of log radially-averaged power vs log frequency (1/64 to 1/4 cycles/px).

    Welch-style: spectra of up to 16 Hann-windowed ``tile`` squares are averaged. Pixels
    outside ``keep`` are replaced by the median of the kept ones before the FFT.
    """
    g = grey.astype(np.float32)
    fill = float(np.median(g[keep])) if keep.any() else 0.0
    g = np.where(keep, g, fill)
    size = min(tile, *g.shape)
    win = np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
    power = np.zeros((size, size), np.float64)
    for y, x in _tiles(g.shape, size, 16):
        t = g[y : y + size, x : x + size]
        power += np.abs(np.fft.fftshift(np.fft.fft2((t - t.mean()) * win))) ** 2
    freq = np.fft.fftshift(np.fft.fftfreq(size))
    f = np.sqrt(freq[None, :] ** 2 + freq[:, None] ** 2)
    edges = np.geomspace(1 / 64, 1 / 4, 13)
    idx = np.digitize(f.ravel(), edges)
    sums = np.bincount(idx, power.ravel(), minlength=len(edges) + 1)[1 : len(edges)]
    cnt = np.bincount(idx, minlength=len(edges) + 1)[1 : len(edges)]
    centres = np.sqrt(edges[:-1] * edges[1:])
    ok = (cnt > 0) & (sums > 0)
    if ok.sum() < 3:
        return 0.0
    return float(np.polyfit(np.log(centres[ok]), np.log(sums[ok] / cnt[ok]), 1)[0])


def block_std(grey: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Standard deviation of every BLOCK x BLOCK tile lying wholly inside ``keep``."""
    h, w = (s // BLOCK * BLOCK for s in grey.shape)
    g = grey[:h, :w].astype(np.float32).reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    k = keep[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).all(axis=(1, 3))
    return g.std(axis=(1, 3))[k]


def image_stats(image: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray | float]:
    """Raw per-image measurements: pixel samples (for pooling) and scalars.

    ``image`` uint8 (H, W, 3) RGB, ``mask`` bool (H, W).
    """
    check_same_size(image, mask)
    grey = image.max(axis=2)
    sat = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 1]
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((2 * RING + 1,) * 2, np.uint8)) > 0
    bg = ~ring
    out: dict[str, np.ndarray | float] = {
        "grey_in": grey[mask],
        "grey_out": grey[bg],
        "sat_in": sat[mask],
        "sat_out": sat[bg],
        "rgb_in": image[mask].reshape(-1, 3),
        "rgb_out": image[bg].reshape(-1, 3),
        "bstd": block_std(grey, bg),
        "psd_slope": psd_slope(grey, bg),
    }
    out.update(object_peaks(grey, mask))
    cell_med = float(np.median(grey[mask])) if mask.any() else float("nan")
    out["bright_out"] = (
        float(np.mean(grey[bg] > 0.5 * cell_med)) if mask.any() and bg.any() else float("nan")
    )
    return out


def object_peaks(grey: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray | float]:
    """Peak brightness and area of annotated objects and of unannotated blobs (module doc).

    ``grey`` uint8 (H, W), ``mask`` bool (H, W). Returns float arrays ``peak_in`` and
    ``area_in`` (one value per annotated object, area in px), ``peak_blob`` and ``area_blob``
    (one per unannotated blob), and the scalar ``n_objects``.
    """
    smooth = smoothed(grey)
    objects, n_obj = ndi.label(mask)
    ids = np.arange(1, n_obj + 1)
    peak_in = ndi.maximum(smooth, objects, ids) if n_obj else np.empty(0)
    area_in = ndi.sum_labels(np.ones_like(smooth), objects, ids) if n_obj else np.empty(0)
    _, _, area_blob, peak_blob = unannotated_blobs(smooth, mask)
    return {
        "peak_in": np.asarray(peak_in, np.float64),
        "area_in": np.asarray(area_in, np.float64),
        "peak_blob": np.asarray(peak_blob, np.float64),
        "area_blob": np.asarray(area_blob, np.float64),
        "n_objects": float(n_obj),
    }


def smoothed(grey: np.ndarray) -> np.ndarray:
    """float32 ``grey`` smoothed with a sigma of 2 px: the image the object statistics read."""
    return cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 2.0)


def unannotated_blobs(
    smooth: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The unannotated blobs of a :func:`smoothed` image (module doc): an int label image of
    every connected region over the background median + ``BLOB_DELTA``, and for the blobs kept
    (at least ``BLOB_MIN_AREA`` px, at most 30% on the mask) their labels, areas (px) and
    peaks (float arrays, label order)."""
    level = float(np.median(smooth[~mask])) if (~mask).any() else 0.0
    blobs, n = ndi.label(smooth > level + BLOB_DELTA)
    if not n:
        return blobs, np.empty(0, np.int64), np.empty(0), np.empty(0)
    idx = np.arange(1, n + 1)
    area = ndi.sum_labels(np.ones_like(smooth), blobs, idx)
    inside = ndi.mean(mask.astype(np.float32), blobs, idx)
    keep = (area >= BLOB_MIN_AREA) & (inside <= 0.3)
    return blobs, idx[keep], area[keep], ndi.maximum(smooth, blobs, idx)[keep]


def cell_sized(area: np.ndarray, median_area: float) -> np.ndarray:
    """Which blob ``area`` values (px) lie within ``CELL_SIZED`` times ``median_area``."""
    return (area >= CELL_SIZED[0] * median_area) & (area <= CELL_SIZED[1] * median_area)


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else float("nan")


def collection_stats(items: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Pooled statistics of (image, mask) pairs of one collection."""
    return pooled_stats([image_stats(im, m) for im, m in items])


def pooled_stats(per: list[dict]) -> dict[str, float]:
    """The collection statistics of several :func:`image_stats` results pooled together."""

    def cat(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in per])

    gi, go, si, so = cat("grey_in"), cat("grey_out"), cat("sat_in"), cat("sat_out")
    ri, ro, bs = cat("rgb_in").astype(np.float64), cat("rgb_out").astype(np.float64), cat("bstd")
    s: dict[str, float] = {}
    for q in (10, 50, 90, 99):
        s[f"cell_grey_p{q}"] = _pct(gi, q)
    for q in (50, 90, 99, 99.9):
        s[f"bg_grey_p{q}"] = _pct(go, q)
    s["cell_sat_p50"], s["bg_sat_p50"] = _pct(si, 50), _pct(so, 50)
    s["contrast"] = (_pct(gi, 50) + 1) / (_pct(go, 50) + 1)
    s["bg_block_std_p50"], s["bg_block_std_p90"] = _pct(bs, 50), _pct(bs, 90)
    s["psd_slope"] = float(np.mean([p["psd_slope"] for p in per]))
    bright = [p["bright_out"] for p in per if math.isfinite(p["bright_out"])]
    s["bright_unannotated_pct"] = 100.0 * float(np.mean(bright)) if bright else float("nan")
    peak_in, peak_blob = cat("peak_in"), cat("peak_blob")
    s["object_peak_p10"], s["object_peak_p50"] = _pct(peak_in, 10), _pct(peak_in, 50)
    s["unannotated_blob_peak_p90"] = _pct(peak_blob, 90)
    n_obj = sum(p["n_objects"] for p in per)
    area_in, area_blob = cat("area_in"), cat("area_blob")
    area_obj = _pct(area_in, 50)  # NaN without objects; then n_obj is 0 and both are NaN
    small = area_blob < CELL_SIZED[0] * area_obj
    for key, chosen in (("cell_sized", cell_sized(area_blob, area_obj)), ("small", small)):
        s[f"{key}_blobs_per_object"] = float(chosen.sum()) / n_obj if n_obj else float("nan")
    for i, ch in enumerate("RGB"):
        s[f"cell_mean_{ch}"] = float(ri[:, i].mean()) if ri.size else float("nan")
        s[f"bg_mean_{ch}"] = float(ro[:, i].mean()) if ro.size else float("nan")
    return s


def ratio(key: str, synth: float, real: float) -> float:
    """synthetic / real, with the +1 floor except for PLAIN_RATIO keys."""
    if key in PLAIN_RATIO:
        return synth / real if real else float("nan")
    return (synth + 1.0) / (real + 1.0)


def read_pair(x: Labelled, binarise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image, boolean mask) of one labelled image; a size mismatch names both files.
    Non-binary masks are refused unless ``binarise`` (then thresholded at > 127)."""
    image, mask = read_image(x.image), read_mask(x.mask, binarise)
    check_same_size(image, mask, str(x.image), str(x.mask))
    return image, mask


Row = tuple[float, float, float, float, float]  # real, synthetic, ratio, real min, real max


def compare(
    real: list[Labelled], synth: list[Labelled], binarise: bool = False
) -> dict[str, dict[str, Row]]:
    """{collection: {statistic: (real, synthetic, ratio, real min, real max)}} for collections
    present in both. Real and synthetic are pooled over their images; min and max are over the
    real images each measured alone (blob counts then use that image's own median object), so
    they show how far the real samples themselves disagree. The pooled figure need not lie
    between them (pooled blob counts use the pooled median object); an image on which a
    statistic cannot be measured (NaN, e.g. no object) is left out of the range, and the range
    is NaN when no image has it."""
    table: dict[str, dict[str, Row]] = {}
    for c in COLLECTIONS:
        r = [image_stats(*read_pair(x, binarise)) for x in real if x.collection == c]
        s = [image_stats(*read_pair(x, binarise)) for x in synth if x.collection == c]
        if not r or not s:
            continue
        rs, ss = pooled_stats(r), pooled_stats(s)
        alone = [pooled_stats([one]) for one in r]
        table[c] = {}
        for k in rs:
            vals = [a[k] for a in alone if math.isfinite(a[k])]
            lo, hi = (min(vals), max(vals)) if vals else (math.nan, math.nan)
            table[c][k] = (rs[k], ss[k], ratio(k, ss[k], rs[k]), lo, hi)
    return table


def to_text(table: dict, real: list[Labelled], synth: list[Labelled]) -> str:
    """The side-by-side table, one block per collection, plus notes on missing collections."""
    lines = []
    for c, rows in table.items():
        nr = sum(x.collection == c for x in real)
        ns = sum(x.collection == c for x in synth)
        lines.append(f"== {c}: {nr} real vs {ns} synthetic image(s)")
        head = f"{'statistic':28s} {'real':>9s} {'real per image':>19s} {'synthetic':>10s}"
        lines.append(f"{head} {'ratio':>7s}")
        for k, (rv, sv, q, lo, hi) in rows.items():
            flag = ""
            if not MATCH_BAND[0] <= q <= MATCH_BAND[1]:
                flag = "  <-- outside [0.7, 1.4]"
                if math.isfinite(q) and lo <= sv <= hi:
                    flag += "; inside the real images' own range"
            spread = f"{lo:8.3f} - {hi:8.3f}"
            lines.append(f"{k:28s} {rv:9.3f} {spread:>19s} {sv:10.3f} {q:7.3f}{flag}")
        bad = sum(not (MATCH_BAND[0] <= row[2] <= MATCH_BAND[1]) for row in rows.values())
        lines.append(f"{len(rows) - bad}/{len(rows)} ratios within [0.7, 1.4]")
    for c in COLLECTIONS:
        if c not in table:
            have_r = any(x.collection == c for x in real)
            have_s = any(x.collection == c for x in synth)
            why = "no real sample" if not have_r else "no synthetic image" if not have_s else ""
            if have_r or have_s:
                lines.append(f"== {c}: not compared ({why})")
    return "\n".join(lines)


def _crop_at_cell(
    rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, size: int
) -> np.ndarray:
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys):
        i = rng.integers(len(ys))
        cy, cx = (
            ys[i] + rng.integers(-size // 4, size // 4 + 1),
            xs[i] + rng.integers(-size // 4, size // 4 + 1),
        )
    else:
        cy, cx = rng.integers(h), rng.integers(w)
    y0 = int(np.clip(cy - size // 2, 0, max(h - size, 0)))
    x0 = int(np.clip(cx - size // 2, 0, max(w - size, 0)))
    crop = np.zeros((size, size, 3), np.uint8)
    part = image[y0 : y0 + size, x0 : x0 + size]
    crop[: part.shape[0], : part.shape[1]] = part
    return crop


def montage(
    real: list[Labelled],
    synth: list[Labelled],
    per_row: int = 4,
    size: int = 256,
    seed: int = 0,
    binarise: bool = False,
) -> np.ndarray:
    """RGB uint8 montage: per collection, a row of real crops above a row of synthetic crops.

    Crops are centred near a random annotated pixel; rows are labelled "real" / "synthetic".
    """
    rng = np.random.default_rng(seed)
    rows = []
    pad = 4
    for c in COLLECTIONS:
        groups = [[x for x in real if x.collection == c], [x for x in synth if x.collection == c]]
        if not all(groups):
            continue
        for label, group in zip(("real", "synthetic"), groups, strict=True):
            tiles = []
            for k in range(per_row):
                x = group[k % len(group)]
                tiles.append(_crop_at_cell(rng, *read_pair(x, binarise), size))
                tiles.append(np.full((size, pad, 3), 128, np.uint8))
            row = np.concatenate(tiles, axis=1)
            cv2.putText(
                row, f"{c} {label}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1
            )
            rows += [row, np.full((pad, row.shape[1], 3), 128, np.uint8)]
    if not rows:
        raise DataError("no collection has both real and synthetic labelled images")
    return np.concatenate(rows, axis=0)


def all_matched(table: dict) -> bool:
    """True when every ratio of every compared collection is inside MATCH_BAND."""
    return all(
        MATCH_BAND[0] <= row[2] <= MATCH_BAND[1] and math.isfinite(row[2])
        for rows in table.values()
        for row in rows.values()
    )


def refuse_synthetic_real_root(real_root: str | Path, usage: str) -> None:
    """Raise ``DataError`` when ``real_root`` is a synthetic archive (holds synthetic.json):
    the two roots were swapped, which would also put a default output beside the real samples.
    ``usage`` is the command's synopsis for the message."""
    if (Path(real_root) / "synthetic.json").is_file():
        raise DataError(
            f"REAL_ROOT {real_root} is a synthetic archive (it holds synthetic.json): the real "
            f"samples come first, `{usage}`"
        )


def check_out_folder(folder: Path, inputs: tuple[Path, ...]) -> None:
    """Refuse an output folder that cannot be made (a file on its path) or that lies inside an
    input, where it would become part of that archive."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                what = (
                    "exists and is not a folder" if above == folder else f"is under a file, {above}"
                )
                raise DataError(f"--out {folder} {what}")
            break
    where = folder.resolve()
    for root in inputs:
        if where.is_relative_to(root.resolve()):
            raise DataError(f"--out {folder} lies inside the input {root}; write it beside, not in")


def run_synth_check(
    real_root: Path,
    synth_root: Path,
    out: str | Path = "",
    max_images: int = 16,
    seed: int = 0,
    binarise: bool = False,
) -> int:
    """Print the comparison, write ``synth_check.txt/json`` and ``montage.png``; 0 if matched.

    The JSON holds ``{collection: {statistic: [real, synthetic, ratio, real min, real max]}}``
    (see :func:`compare`), with null where a value could not be measured.

    ``out`` defaults to ``<synth_root>-synth-check`` beside (never inside) the inputs.
    """
    from fncssl.data.atomic import write_json, write_text
    from fncssl.data.imageio import write_image

    refuse_synthetic_real_root(real_root, "fncssl synth-check REAL_ROOT SYNTH_ROOT")
    folder = Path(out) if out else synth_root.parent / f"{synth_root.name}-synth-check"
    check_out_folder(folder, (real_root, synth_root))  # refused before any work
    real = find_labelled(real_root, max_images)
    synth = find_labelled(synth_root, max_images)
    table = compare(real, synth, binarise)
    if not table:  # checked before anything is written
        sides = [(real_root, real), (synth_root, synth)]
        raise DataError(
            "no collection has both real and synthetic labelled images: "
            + "; ".join(
                f"{root} has {', '.join(sorted({x.collection for x in found}))}"
                for root, found in sides
            )
        )
    text = to_text(table, real, synth)
    print(text)
    write_text(folder / "synth_check.txt", text + "\n")
    write_json(
        folder / "synth_check.json",
        {  # strict JSON: a statistic that could not be measured is null, not NaN
            c: {k: [x if math.isfinite(x) else None for x in v] for k, v in r.items()}
            for c, r in table.items()
        },
    )
    write_image(folder / "montage.png", montage(real, synth, seed=seed, binarise=binarise))
    names = ("synth_check.txt", "synth_check.json", "montage.png")
    print("written: " + ", ".join(str(folder / n) for n in names))
    return 0 if all_matched(table) else 1
