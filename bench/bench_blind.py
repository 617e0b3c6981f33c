"""Blind realism test: can a person tell real FNC crops from synthetic ones by eye?

``make`` writes, per collection, one PNG of numbered crops in a shuffled order, half real and
half synthetic, and a separate ``key.json`` saying which is which. Give a judge (a person, or a
helper with a fresh context) only the PNGs and the rule "half of them are synthetic"; collect
one answer per number. ``score`` then counts the right answers and gives the chance of doing at
least as well by guessing (6 of 12 is chance; 10 or more of 12, answered half and half, has
p = 0.040).

Real crops never overlap one another (each image's windows are kept apart), so a judge cannot
match two views of the same cells; synthetic crops come from distinct synthetic images. Every
crop is centred near an annotated pixel, so each shows cells, not empty background.

    python -m bench.bench_blind make ../shared/fnc-samples /tmp/synth-yr --seed 3
    python -m bench.bench_blind score bench/out/blind-3/key.json answers.json [KEY ANSWERS ...]

``answers.json`` is ``{"yellow": {"1": "real", "2": "synthetic", ...}, ...}`` (``r`` / ``s``
also accepted). The real samples are only read. Output goes to ``bench/out/blind-<seed>/``
(gitignored) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

from fncssl.argtypes import OneLineErrorParser, bounded
from fncssl.data.atomic import refuse_output_inside, write_bytes, write_json
from fncssl.data.imageio import read_image, read_mask
from fncssl.data.synth_check import Labelled, find_labelled
from fncssl.errors import DataError, FNCError

OUT_ROOT = Path(__file__).resolve().parent / "out"  # gitignored
Window = tuple[int, int]  # top-left corner (y0, x0) of a square crop


def overlaps(a: Window, b: Window, size: int) -> bool:
    """True when two size x size windows share at least one pixel."""
    return abs(a[0] - b[0]) < size and abs(a[1] - b[1]) < size


def pick_window(
    rng: np.random.Generator,
    mask: np.ndarray,
    size: int,
    taken: list[Window],
    tries: int = 400,
) -> Window | None:
    """A window of an (H, W) bool mask centred near a random annotated pixel that overlaps no
    window in ``taken``; ``None`` if none was found in ``tries`` draws (or the image is smaller
    than ``size``)."""
    h, w = mask.shape
    if h < size or w < size:
        return None
    ys, xs = np.nonzero(mask)
    for _ in range(tries):
        if len(ys):
            i = int(rng.integers(len(ys)))
            cy = int(ys[i]) + int(rng.integers(-size // 4, size // 4 + 1))
            cx = int(xs[i]) + int(rng.integers(-size // 4, size // 4 + 1))
        else:
            cy, cx = int(rng.integers(h)), int(rng.integers(w))
        win = (
            int(np.clip(cy - size // 2, 0, h - size)),
            int(np.clip(cx - size // 2, 0, w - size)),
        )
        if not any(overlaps(win, t, size) for t in taken):
            return win
    return None


def _read(x: Labelled) -> tuple[np.ndarray, np.ndarray]:
    return read_image(x.image), read_mask(x.mask)


def real_crops(
    rng: np.random.Generator, items: list[Labelled], n: int, size: int
) -> list[tuple[Path, Window, np.ndarray]]:
    """``n`` crops spread round-robin over the real images, no two overlapping."""
    pairs = [_read(x) for x in items]
    taken: list[list[Window]] = [[] for _ in items]
    out = []
    for k in range(n * len(items)):
        if len(out) == n:
            break
        j = k % len(items)
        image, mask = pairs[j]
        win = pick_window(rng, mask, size, taken[j])
        if win is None:
            continue
        taken[j].append(win)
        y0, x0 = win
        out.append((items[j].image, win, image[y0 : y0 + size, x0 : x0 + size]))
    if len(out) < n:
        raise DataError(
            f"{items[0].collection}: only {len(out)} non-overlapping {size} px real crops fit "
            f"in {len(items)} image(s), {n} asked; lower --per-side or --size"
        )
    return out


def synthetic_crops(
    rng: np.random.Generator, items: list[Labelled], n: int, size: int
) -> list[tuple[Path, Window, np.ndarray]]:
    """One crop from each of ``n`` distinct synthetic images drawn at random."""
    if len(items) < n:
        raise DataError(
            f"{items[0].collection}: {len(items)} synthetic labelled image(s), {n} needed"
        )
    out = []
    for i in rng.permutation(len(items)):
        image, mask = _read(items[int(i)])
        win = pick_window(rng, mask, size, [])
        if win is None:
            continue
        y0, x0 = win
        out.append((items[int(i)].image, win, image[y0 : y0 + size, x0 : x0 + size]))
        if len(out) == n:
            return out
    raise DataError(f"{items[0].collection}: fewer than {n} synthetic images of {size} px or more")


def grid(tiles: list[np.ndarray], per_row: int = 4, pad: int = 3) -> np.ndarray:
    """RGB uint8 sheet of numbered tiles (1, 2, ... in reading order) on a grey frame."""
    framed = []
    for k, tile in enumerate(tiles, 1):
        t = np.ascontiguousarray(tile).copy()
        cv2.putText(t, str(k), (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        framed.append(
            cv2.copyMakeBorder(t, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        )
    blank = np.full_like(framed[0], 128)
    rows = []
    for r in range(0, len(framed), per_row):
        row = framed[r : r + per_row]
        rows.append(np.hstack(row + [blank] * (per_row - len(row))))
    return np.vstack(rows)


def make(real_root: Path, synth_root: Path, out: Path, seed: int, per_side: int, size: int) -> dict:
    """Write ``<collection>.png`` per collection with real and synthetic images, and
    ``key.json``; returns the key."""
    refuse_output_inside(out, [real_root, synth_root], "an input")
    real, synth = find_labelled(real_root), find_labelled(synth_root)
    key: dict = {"seed": seed, "real_root": str(real_root), "synth_root": str(synth_root)}
    sheets: dict[str, bytes] = {}
    for c in sorted({x.collection for x in real} & {x.collection for x in synth}):
        rng = np.random.default_rng([seed, sum(map(ord, c))])
        crops = [
            ("real", *t)
            for t in real_crops(rng, [x for x in real if x.collection == c], per_side, size)
        ]
        crops += [
            ("synthetic", *t)
            for t in synthetic_crops(rng, [x for x in synth if x.collection == c], per_side, size)
        ]
        order = rng.permutation(len(crops))
        shown = [crops[int(i)] for i in order]
        key[c] = {
            str(k): {"truth": label, "image": str(path), "window": list(win)}
            for k, (label, path, win, _) in enumerate(shown, 1)
        }
        sheet = grid([tile for *_, tile in shown])
        ok, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        if not ok:
            raise DataError(f"could not encode the {c} sheet")
        sheets[c] = png.tobytes()
    if not sheets:
        raise DataError("no collection has labelled images on both sides")
    out.mkdir(parents=True, exist_ok=True)
    for c, data in sheets.items():
        write_bytes(out / f"{c}.png", data)
    write_json(out / "key.json", key)
    return key


def null_distribution(n: int, balanced: bool) -> np.ndarray:
    """P(right = r) for r = 0..n when a judge guesses (float64, sums to 1).

    A judge told that half are synthetic and answering half and half (``balanced``) picks
    ``n / 2`` crops as synthetic, of which a hypergeometric number X truly are, and is right on
    2X. Otherwise every answer is a fair coin: Binomial(n, 1/2)."""
    dist = np.zeros(n + 1)
    if balanced and n % 2 == 0:
        half = n // 2
        for x in range(half + 1):
            dist[2 * x] = math.comb(half, x) * math.comb(half, half - x) / math.comb(n, half)
    else:
        dist[:] = [math.comb(n, k) / 2.0**n for k in range(n + 1)]
    return dist


def chance_at_least(right: int, n: int, balanced: bool) -> float:
    """The chance that a guessing judge gets ``right`` or more of ``n`` crops right (for 12
    crops answered half and half: 12 right 1/924, 10 or more 37/924 = 0.040)."""
    return float(null_distribution(n, balanced)[right:].sum())


def pooled_chance(results: list[tuple[int, int, bool]]) -> float:
    """The chance that guessing judges get, in total, at least the summed right answers of
    ``results`` ((right, asked, balanced) per judge): the tail of the convolved nulls."""
    dist = np.ones(1)
    for _, n, balanced in results:
        dist = np.convolve(dist, null_distribution(n, balanced))
    return float(dist[sum(r for r, _, _ in results) :].sum())


def _normalise(answer: object) -> str:
    a = str(answer).strip().lower()
    return {"r": "real", "s": "synthetic"}.get(a, a)


def score(key: dict, answers: dict) -> dict[str, tuple[int, int, bool]]:
    """{collection: (right, asked, answered half and half)} for every collection answered.
    An answer is "real"/"r" or "synthetic"/"s" (any case); a missing or other answer counts
    as wrong."""
    result = {}
    for c, given in answers.items():
        if c not in key or not isinstance(key[c], dict):
            raise DataError(f"answers name collection {c!r}, which the key does not have")
        if not isinstance(given, dict):
            raise DataError(f"answers for {c!r} must map crop numbers to real/synthetic")
        truth = {k: v["truth"] for k, v in key[c].items()}
        said = {k: _normalise(given.get(k, "")) for k in truth}
        right = sum(said[k] == t for k, t in truth.items())
        n_synth = sum(a == "synthetic" for a in said.values())
        balanced = n_synth * 2 == len(truth) and all(
            a in ("real", "synthetic") for a in said.values()
        )
        result[c] = (right, len(truth), balanced)
    return result


def _load_json(path: Path, what: str) -> dict:
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{what} {path} is not readable JSON: {err}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{what} {path} must hold a JSON object")
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog="python -m bench.bench_blind", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make", help="write the shuffled sheets and key.json")
    mk.add_argument("real_root", type=Path)
    mk.add_argument("synth_root", type=Path)
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--per-side", type=bounded(int, 1, 50), default=6, help="crops per side")
    mk.add_argument("--size", type=bounded(int, 32, 1024), default=224, help="crop side, px")
    mk.add_argument("--out", type=Path, default=None, help="default bench/out/blind-<seed>/")
    sc = sub.add_parser("score", help="count right answers; several judges are also pooled")
    sc.add_argument("files", type=Path, nargs="+", metavar="KEY ANSWERS", help="pairs of files")
    args = parser.parse_args(argv)
    try:
        if args.command == "make":
            out = args.out or OUT_ROOT / f"blind-{args.seed}"
            key = make(args.real_root, args.synth_root, out, args.seed, args.per_side, args.size)
            names = [c for c in key if isinstance(key[c], dict)]
            sheets = ", ".join(str(out / f"{c}.png") for c in names)
            print(f"written: {sheets}; key (not for the judge): {out / 'key.json'}")
        else:
            if len(args.files) % 2:
                raise FNCError("score takes pairs of files: KEY ANSWERS [KEY ANSWERS ...]")
            pooled: dict[str, list[tuple[int, int, bool]]] = {}
            for key_file, answers_file in zip(args.files[::2], args.files[1::2], strict=True):
                res = score(_load_json(key_file, "key"), _load_json(answers_file, "answers"))
                for c, (right, n, balanced) in res.items():
                    p = chance_at_least(right, n, balanced)
                    tail = f"P(>= {right} by guessing) = {p:.3f}"
                    print(f"{answers_file}: {c}: {right} of {n} right ({tail})")
                    pooled.setdefault(c, []).append((right, n, balanced))
            for c, rows in pooled.items():
                if len(rows) > 1:
                    right, n = sum(r[0] for r in rows), sum(r[1] for r in rows)
                    p = pooled_chance(rows)
                    tail = f"P(>= {right} by guessing) = {p:.2g}"
                    print(f"{c}, {len(rows)} judges: {right} of {n} right ({tail})")
    except FNCError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
