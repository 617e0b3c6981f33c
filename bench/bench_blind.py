"""Blind realism test: can a person tell real FNC crops from synthetic ones by eye?

``make`` writes, per collection, one sheet (``sheets/<collection>.png``) of numbered crops in a
shuffled order, half real and half synthetic, and, outside the sheets folder, ``key.json``
saying which is which. Give a judge only the sheets folder and the rule "half of them are
synthetic"; collect one answer per number. ``score`` counts the right answers and gives the
chance of doing at least as well by guessing (6 of 12 is chance; 10 or more of 12, answered
half and half, has P = 0.040); given several judges, each on their own sheet, it pools them.

Both sides are sampled alike: the real crops come from the real images (at most one per crop,
in a random order), the synthetic crops from as many synthetic images, round-robin, and no two
crops of one image overlap, so a judge cannot match two views of the same cells. Every crop is
centred near an annotated pixel (images without one are skipped), so each shows a cell.

    python -m bench.bench_blind make ../shared/fnc-samples /tmp/synth-yr --seed 3
    python -m bench.bench_blind score bench/out/blind-3/key.json answers.json [KEY ANSWERS ...]

``answers.json`` is ``{"yellow": {"1": "real", "2": "synthetic", ...}, ...}`` (``r`` / ``s``
also accepted; a missing or other answer counts as wrong, and ``score`` says how many there
were). ``key.json`` holds the settings and, per collection and crop number, the truth, the
image's path and the crop's top-left corner ``window`` = [y0, x0]. The real samples are only
read. Output goes to ``bench/out/blind-<seed>/`` (gitignored) unless ``--out`` says otherwise;
it is built beside the target and renamed into place, and an existing non-empty target is
refused.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fncssl.argtypes import OneLineErrorParser, bounded
from fncssl.data.atomic import atomic_folder, write_json
from fncssl.data.imageio import write_image
from fncssl.data.synth_check import (
    Labelled,
    check_out_folder,
    find_labelled,
    read_pair,
    refuse_synthetic_real_root,
)
from fncssl.errors import DataError, FNCError, first_few

OUT_ROOT = Path(__file__).resolve().parent / "out"  # gitignored
LABELS = ("real", "synthetic")
SETTINGS = ("seed", "per_side", "size", "real_root", "synth_root")  # the key's non-sheet keys


def sheet_names(key: dict) -> list[str]:
    """The collections a key.json holds sheets for, in the key's order."""
    return [c for c in key if c not in SETTINGS]


Window = tuple[int, int]  # top-left corner (y0, x0) of a square crop


@dataclass(frozen=True)
class Crop:
    """One tile of a sheet: where it comes from and its pixels (RGB uint8, size x size)."""

    truth: str
    image: Path
    window: Window
    pixels: np.ndarray


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
    """A window of an (H, W) bool mask centred within ``size / 4`` of a random annotated pixel
    (so that pixel lies inside it) that overlaps no window in ``taken``; ``None`` if the mask
    is empty or smaller than ``size``, or none was found in ``tries`` draws."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if h < size or w < size or not len(ys):
        return None
    for _ in range(tries):
        i = int(rng.integers(len(ys)))
        cy = int(ys[i]) + int(rng.integers(-size // 4, size // 4 + 1))
        cx = int(xs[i]) + int(rng.integers(-size // 4, size // 4 + 1))
        win = (
            int(np.clip(cy - size // 2, 0, h - size)),
            int(np.clip(cx - size // 2, 0, w - size)),
        )
        if not any(overlaps(win, t, size) for t in taken):
            return win
    return None


def crops_from(
    rng: np.random.Generator,
    items: list[Labelled],
    truth: str,
    n: int,
    size: int,
    n_images: int,
) -> list[Crop]:
    """``n`` crops from the first ``n_images`` of ``items`` (in the given order) that have an
    annotated pixel, taken round-robin, no two of one image overlapping. Images are read one
    by one, only as far as needed."""
    sources: list[tuple[Labelled, np.ndarray, np.ndarray, list[Window]]] = []
    for x in items:
        if len(sources) == n_images:
            break
        image, mask = read_pair(x)
        if mask.any() and min(mask.shape) >= size:
            sources.append((x, image, mask, []))
    out: list[Crop] = []
    k = 0
    while len(out) < n and sources:
        x, image, mask, taken = sources[k % len(sources)]
        win = pick_window(rng, mask, size, taken)
        if win is None:  # this image is full
            sources.pop(k % len(sources))
            continue
        taken.append(win)
        y0, x0 = win
        out.append(Crop(truth, x.image, win, image[y0 : y0 + size, x0 : x0 + size]))
        k += 1
    if len(out) < n:
        c = items[0].collection if items else "?"
        raise DataError(
            f"{c}: only {len(out)} non-overlapping {size} px {truth} crops centred on a cell fit "
            f"in {len(items)} {truth} image(s), {n} asked; lower --per-side or --size"
        )
    return out


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


def sheet_for(
    rng: np.random.Generator, real: list[Labelled], synth: list[Labelled], per_side: int, size: int
) -> list[Crop]:
    """The shuffled crops of one collection: ``per_side`` real ones from the real images in a
    random order, and as many synthetic ones from as many synthetic images."""
    real = [real[int(i)] for i in rng.permutation(len(real))]
    synth = [synth[int(i)] for i in rng.permutation(len(synth))]
    shown = crops_from(rng, real, "real", per_side, size, min(len(real), per_side))
    used = len({c.image for c in shown})
    shown += crops_from(rng, synth, "synthetic", per_side, size, used)
    return [shown[int(i)] for i in rng.permutation(len(shown))]


def make(real_root: Path, synth_root: Path, out: Path, seed: int, per_side: int, size: int) -> dict:
    """Write ``out/sheets/<collection>.png`` for each collection with labelled images on both
    sides, and ``out/key.json``; returns the key. ``out`` appears only once complete."""
    for name, root in (("REAL_ROOT", real_root), ("SYNTH_ROOT", synth_root)):
        if not root.is_dir():
            raise DataError(f"{name} {root} is not a folder")
    refuse_synthetic_real_root(real_root, "python -m bench.bench_blind make REAL_ROOT SYNTH_ROOT")
    check_out_folder(out, (real_root, synth_root))  # refused before any work
    if out.is_dir() and any(out.iterdir()):
        raise DataError(f"--out {out} is not empty (an earlier sheet?); choose another folder")
    real, synth = find_labelled(real_root), find_labelled(synth_root)
    key: dict = {
        "seed": seed,
        "per_side": per_side,
        "size": size,
        "real_root": str(real_root.resolve()),
        "synth_root": str(synth_root.resolve()),
    }
    sheets: dict[str, np.ndarray] = {}
    for c in sorted({x.collection for x in real} & {x.collection for x in synth}):
        rng = np.random.default_rng([seed, sum(map(ord, c))])
        shown = sheet_for(
            rng,
            [x for x in real if x.collection == c],
            [x for x in synth if x.collection == c],
            per_side,
            size,
        )
        key[c] = {
            str(k): {"truth": s.truth, "image": str(s.image.resolve()), "window": list(s.window)}
            for k, s in enumerate(shown, 1)
        }
        sheets[c] = grid([s.pixels for s in shown])
    if not sheets:
        raise DataError("no collection has labelled images on both sides")
    with atomic_folder(out, "sheets") as tmp:  # an empty target folder is replaced too
        for c, sheet in sheets.items():
            write_image(tmp / "sheets" / f"{c}.png", sheet)
        write_json(tmp / "key.json", key)
    return key


def null_distribution(n: int, synthetic: int, real: int) -> np.ndarray:
    """P(right = r), r = 0..n, for a judge who guesses, when the truth is a random half split
    of ``n`` crops and the judge said "synthetic" ``synthetic`` times, "real" ``real`` times and
    nothing usable for the rest (never right). With X synthetic crops among the "synthetic"
    answers and Z among the unusable ones, right = 2X + Z + real - n/2. For a half-and-half
    sheet this is 2X with X hypergeometric (12 crops: 12 right 1/924, 10 or more 37/924)."""
    half, unread = n // 2, n - synthetic - real
    dist = np.zeros(n + 1)
    total = math.comb(n, half)
    for x in range(min(synthetic, half) + 1):
        for z in range(min(unread, half - x) + 1):
            y = half - x - z  # synthetic crops among the "real" answers
            if y > real:
                continue
            ways = math.comb(synthetic, x) * math.comb(unread, z) * math.comb(real, y)
            dist[2 * x + z + real - half] += ways / total
    return dist


@dataclass(frozen=True)
class Tally:
    """One judge on one sheet: right answers and how the answers split."""

    right: int
    asked: int
    synthetic: int  # answers "synthetic"
    real: int  # answers "real" (the rest were missing or unreadable)
    odd: tuple[str, ...] = ()  # "number: answer" for each unreadable answer given
    blank: tuple[str, ...] = ()  # the crop numbers left unanswered

    @property
    def unread(self) -> int:
        return self.asked - self.synthetic - self.real

    def null(self) -> np.ndarray:
        return null_distribution(self.asked, self.synthetic, self.real)

    def chance(self) -> float:
        """P(a guessing judge answering with the same split gets ``right`` or more)."""
        return float(self.null()[self.right :].sum())


def pooled_chance(tallies: list[Tally]) -> float:
    """The chance that guessing judges, each on their own sheet, get in total at least the
    summed right answers: the tail of their convolved null distributions."""
    dist = np.ones(1)
    for t in tallies:
        dist = np.convolve(dist, t.null())
    return float(dist[sum(t.right for t in tallies) :].sum())


def check_key(key: dict, name: str) -> None:
    """Raise ``DataError`` unless ``key`` (read from ``name``) maps each collection to
    {crop number: {"truth": "real" | "synthetic", ...}} with as many of each, as ``make``
    writes it."""
    sheets = {c: key[c] for c in sheet_names(key)}
    if not sheets:
        raise DataError(f"key {name} names no collection; is it a bench_blind key.json?")
    for c, entries in sheets.items():
        ok = (
            isinstance(entries, dict)
            and bool(entries)
            and all(isinstance(e, dict) and e.get("truth") in LABELS for e in entries.values())
        )
        if not ok:
            raise DataError(
                f"key {name}: {c!r} is not a sheet of {{number: {{'truth': 'real' or "
                "'synthetic'}}; is it a bench_blind key.json?"
            )
        if 2 * sum(e["truth"] == "real" for e in entries.values()) != len(entries):
            raise DataError(f"key {name}: {c!r} is not half real and half synthetic")


def _normalise(answer: object) -> str:
    a = str(answer).strip().lower()
    return {"r": "real", "s": "synthetic"}.get(a, a)


def score(key: dict, answers: dict) -> dict[str, Tally]:
    """{collection: Tally} for every collection answered (``key`` as :func:`check_key`
    accepts). An answer is "real"/"r" or "synthetic"/"s" (any case); a missing or other
    answer counts as wrong. Answers to numbers that are not on the sheet are refused."""
    if not answers:
        raise DataError("the answers name no collection")
    result = {}
    for c, given in answers.items():
        if c not in sheet_names(key):
            raise DataError(f"answers name collection {c!r}, which the key does not have")
        if not isinstance(given, dict):
            raise DataError(f"answers for {c!r} must map crop numbers to real/synthetic")
        stray = sorted(set(given) - set(key[c]), key=str)
        if stray:
            raise DataError(f"answers for {c!r} name crops {stray} that are not on the sheet")
        said = {k: _normalise(given.get(k, "")) for k in key[c]}
        right = sum(said[k] == e["truth"] for k, e in key[c].items())
        count = {label: sum(a == label for a in said.values()) for label in LABELS}
        odd = tuple(f"{k}: {given[k]!r}" for k in key[c] if k in given and said[k] not in LABELS)
        blank = tuple(k for k in key[c] if k not in given)
        result[c] = Tally(right, len(said), count["synthetic"], count["real"], odd, blank)
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


def _wrong_note(t: Tally) -> str:
    """Empty when every crop got a readable answer, else which crops were counted wrong."""
    if not t.unread:
        return ""
    parts = []
    if t.blank:
        parts.append(f"unanswered: {first_few(t.blank, 6)}")
    if t.odd:
        parts.append(f"not real/synthetic: {first_few(t.odd, 6)}")
    return f"; {t.unread} counted wrong ({'; '.join(parts)})"


def score_files(files: list[Path]) -> list[str]:
    """The lines to print: each judge's score (pairs of key and answers files) and, per
    collection answered by several judges, the pooled figure. Every file is checked before
    any line is made; a sheet given twice is refused, since pooling assumes each judge saw
    their own sheet."""
    if len(files) % 2:
        raise FNCError("score takes pairs of files: KEY ANSWERS [KEY ANSWERS ...]")
    lines: list[str] = []
    pooled: dict[str, list[Tally]] = {}
    seen: set[tuple] = set()
    for key_file, answers_file in zip(files[::2], files[1::2], strict=True):
        key = _load_json(key_file, "key")
        check_key(key, str(key_file))
        answers = _load_json(answers_file, "answers")
        try:
            tallies = score(key, answers)
        except DataError as err:
            raise DataError(f"answers {answers_file}: {err}") from None
        for c, t in tallies.items():
            sheet = (c, json.dumps(key[c], sort_keys=True))
            if sheet in seen:
                raise DataError(f"{key_file}: the {c} sheet is scored twice; pool distinct sheets")
            seen.add(sheet)
            tail = f"P(>= {t.right} by guessing) = {t.chance():.2g}{_wrong_note(t)}"
            lines.append(f"{answers_file}: {c}: {t.right} of {t.asked} right ({tail})")
            pooled.setdefault(c, []).append(t)
        for c in sorted(set(sheet_names(key)) - set(tallies)):
            lines.append(f"{answers_file}: {c}: not answered (the key has this sheet)")
    for c, rows in pooled.items():
        if len(rows) > 1:
            right, n = sum(t.right for t in rows), sum(t.asked for t in rows)
            tail = f"P(>= {right} by guessing) = {pooled_chance(rows):.2g}"
            lines.append(f"{c}, {len(rows)} judges: {right} of {n} right ({tail})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog="python -m bench.bench_blind", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make", help="write the shuffled sheets and key.json")
    mk.add_argument("real_root", type=Path)
    mk.add_argument("synth_root", type=Path)
    mk.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0)
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
            sheets = ", ".join(f"{c}.png" for c in sheet_names(key))
            print(f"written: {out / 'sheets'} ({sheets}), for the judge")
            print(f"answer key: {out / 'key.json'} (keep it from the judge)")
        else:
            print("\n".join(score_files(args.files)))
    except FNCError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
