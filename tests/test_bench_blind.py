"""The blind realism test: crops that show cells and do not overlap, a key that matches the
sheet, and the exact chance of guessing."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from bench.bench_blind import (
    Tally,
    main,
    null_distribution,
    overlaps,
    pick_window,
    pooled_chance,
    score,
)
from fncssl.data.imageio import read_image, read_mask, write_image, write_mask

SIZE, PAD = 96, 3


def _fake_real(root: Path, n_images: int = 2, empty: int = 0) -> Path:
    """A flat samples folder (yellow/images, yellow/masks) of random images with square cells,
    plus ``empty`` images without any."""
    rng = np.random.default_rng(5)
    for k in range(n_images + empty):
        image = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
        mask = np.zeros((300, 400), bool)
        if k < n_images:
            for y, x in rng.integers(20, 280, (8, 2)):
                mask[y - 8 : y + 8, x - 8 : x + 8] = True
        write_image(root / "yellow" / "images" / f"real{k}.png", image)
        write_mask(root / "yellow" / "masks" / f"real{k}.png", mask)
    return root


def test_windows_never_overlap_and_each_shows_an_annotated_pixel():
    rng = np.random.default_rng(0)
    mask = np.zeros((400, 500), bool)
    mask[50:70, 60:80] = mask[300:330, 400:420] = mask[200:210, 10:30] = True
    taken: list[tuple[int, int]] = []
    while (win := pick_window(rng, mask, SIZE, taken)) is not None:
        y0, x0 = win
        assert 0 <= y0 <= 400 - SIZE and 0 <= x0 <= 500 - SIZE
        assert mask[y0 : y0 + SIZE, x0 : x0 + SIZE].any()
        assert not any(overlaps(win, t, SIZE) for t in taken)
        taken.append(win)
    assert 3 <= len(taken) <= 12
    assert overlaps((0, 0), (95, 95), SIZE) and not overlaps((0, 0), (96, 0), SIZE)
    assert pick_window(rng, mask[:50], SIZE, []) is None  # smaller than a crop
    assert pick_window(rng, np.zeros((400, 500), bool), SIZE, []) is None  # nothing to show


def test_make_writes_a_shuffled_sheet_whose_tiles_are_the_keyed_crops(
    tmp_path: Path, synth_root: Path
):
    real = _fake_real(tmp_path / "real", empty=2)  # images without cells are skipped
    out = tmp_path / "blind"
    args = ["make", str(real), str(synth_root), "--per-side", "3", "--size", str(SIZE)]
    assert main([*args, "--out", str(out), "--seed", "4"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["key.json", "sheets"]
    assert [p.name for p in (out / "sheets").iterdir()] == ["yellow.png"]  # only yellow on both
    key = json.loads((out / "key.json").read_text())
    assert {k: key[k] for k in ("seed", "per_side", "size")} == {
        "seed": 4,
        "per_side": 3,
        "size": SIZE,
    }
    entries = key["yellow"]
    truths = [entries[str(k)]["truth"] for k in range(1, 7)]
    assert sorted(truths) == ["real"] * 3 + ["synthetic"] * 3
    sheet = read_image(out / "sheets" / "yellow.png")
    assert sheet.shape == (2 * (SIZE + 2 * PAD), 4 * (SIZE + 2 * PAD), 3)
    assert (sheet[:PAD] == 128).all() and (sheet[:, :PAD] == 128).all()  # a neutral grey frame
    windows: dict[str, list] = {}
    for k in range(1, 7):
        e = entries[str(k)]
        r, c = divmod(k - 1, 4)
        top, left = r * (SIZE + 2 * PAD) + PAD, c * (SIZE + 2 * PAD) + PAD
        tile = sheet[top : top + SIZE, left : left + SIZE]
        y0, x0 = e["window"]
        crop = read_image(e["image"])[y0 : y0 + SIZE, x0 : x0 + SIZE]
        # the number is drawn in the top-left corner; everything below it is the crop itself
        np.testing.assert_array_equal(tile[30:], crop[30:])
        mask_path = Path(e["image"].replace("/images/", "/masks/"))
        if not mask_path.is_file():  # the synthetic archive's layout
            mask_path = Path(e["image"].replace("/images/", "/ground_truths/masks/"))
        assert read_mask(mask_path)[y0 : y0 + SIZE, x0 : x0 + SIZE].any()  # a cell on every tile
        windows.setdefault(e["image"], []).append((y0, x0))
    real_images = [p for p in windows if "/real/" in p]
    synth_images = [p for p in windows if "/real/" not in p]
    assert len(real_images) == len(synth_images) == 2  # both sides sampled alike
    for wins in windows.values():
        assert not any(overlaps(a, b, SIZE) for i, a in enumerate(wins) for b in wins[i + 1 :])
    # same seed, same sheet; another seed, another one
    again = tmp_path / "again"
    assert main([*args, "--out", str(again), "--seed", "4"]) == 0
    assert (again / "sheets" / "yellow.png").read_bytes() == (
        out / "sheets" / "yellow.png"
    ).read_bytes()
    assert main([*args, "--out", str(tmp_path / "other"), "--seed", "5"]) == 0
    assert json.loads((tmp_path / "other" / "key.json").read_text())["yellow"] != entries
    # an existing sheet is never overwritten, and nothing is left beside it
    assert main([*args, "--out", str(out), "--seed", "6"]) == 2
    assert json.loads((out / "key.json").read_text())["seed"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _every_answer_sheet(n: int):
    """All answer sheets for n crops: each crop "synthetic" (1), "real" (0) or unusable (None)."""
    return itertools.product((1, 0, None), repeat=n)


def test_null_distribution_agrees_with_enumerating_every_truth_split():
    """Definitional check: for every answer sheet of 6 crops (any mix of "synthetic", "real"
    and unusable answers), count the right answers over every half split of the truth."""
    n = 6
    splits = [t for t in itertools.product((1, 0), repeat=n) if sum(t) == n // 2]
    for answers in _every_answer_sheet(n):
        s, r = answers.count(1), answers.count(0)
        want = np.zeros(n + 1)
        for truth in splits:
            want[sum(a == t for a, t in zip(answers, truth, strict=True))] += 1 / len(splits)
        np.testing.assert_allclose(null_distribution(n, s, r), want, atol=1e-12)
    half_and_half = null_distribution(12, 6, 6)
    assert half_and_half[12] == pytest.approx(1 / 924)
    assert half_and_half[10:].sum() == pytest.approx(37 / 924)


def test_score_counts_right_answers_and_how_the_answers_split():
    key = {"yellow": {str(k): {"truth": "real" if k % 2 else "synthetic"} for k in range(1, 13)}}
    truth = {k: v["truth"] for k, v in key["yellow"].items()}
    perfect = {k: t[0].upper() for k, t in truth.items()}
    assert score(key, {"yellow": perfect}) == {"yellow": Tally(12, 12, 6, 6)}
    flipped = {k: "real" if t == "synthetic" else "s" for k, t in truth.items()}
    assert score(key, {"yellow": flipped}) == {"yellow": Tally(0, 12, 6, 6)}
    one = score(key, {"yellow": {"1": "real"}})["yellow"]  # the rest unanswered: wrong
    assert one == Tally(1, 12, 0, 1, (), tuple(str(k) for k in range(2, 13))) and one.unread == 11
    assert one.chance() == pytest.approx(0.5)  # "1 is real" is right half the time
    word = score(key, {"yellow": dict(perfect, **{"2": "synth"})})["yellow"]
    assert word == Tally(11, 12, 5, 6, ("2: 'synth'",)) and word.unread == 1
    with pytest.raises(Exception, match="not on the sheet"):
        score(key, {"yellow": {"13": "real"}})
    with pytest.raises(Exception, match="name no collection"):
        score(key, {})


def test_pooled_chance_is_the_tail_of_the_summed_guesses():
    """Two half-and-half judges of 4 crops each: right counts 0, 2, 4 with chances 1/6, 4/6,
    1/6 each, so the total is 8 with 1/36 and at least 6 with 1/36 + 2 * 4/36 = 9/36."""
    assert pooled_chance([Tally(4, 4, 2, 2), Tally(4, 4, 2, 2)]) == pytest.approx(1 / 36)
    assert pooled_chance([Tally(4, 4, 2, 2), Tally(2, 4, 2, 2)]) == pytest.approx(9 / 36)
    assert pooled_chance([Tally(0, 4, 2, 2), Tally(0, 4, 2, 2)]) == pytest.approx(1.0)


def test_score_cli_prints_each_judge_and_the_pooled_figure(tmp_path: Path, capsys):
    def sheet(first: int) -> dict:
        return {
            str(k): {"truth": "real" if k <= 2 else "synthetic", "n": first} for k in range(1, 5)
        }

    (tmp_path / "k1.json").write_text(json.dumps({"red": sheet(1)}))
    (tmp_path / "k2.json").write_text(json.dumps({"red": sheet(2)}))
    (tmp_path / "a.json").write_text(json.dumps({"red": {"1": "r", "2": "r", "3": "s", "4": "s"}}))
    (tmp_path / "b.json").write_text(json.dumps({"red": {"1": "s", "2": "r", "4": "x"}}))
    k1, k2, a, b = (str(tmp_path / f) for f in ("k1.json", "k2.json", "a.json", "b.json"))
    assert main(["score", k1, a, k2, b]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("red: 4 of 4 right (P(>= 4 by guessing) = 0.17)")
    assert out[1].endswith("2 counted wrong (unanswered: 3; not real/synthetic: 4: 'x'))")
    assert out[1].split(": ", 1)[1].startswith("red: 1 of 4 right")
    assert out[2].startswith("red, 2 judges: 5 of 8 right (P(>= 5 by guessing) = ")
    (tmp_path / "k3.json").write_text(json.dumps({"red": sheet(3), "yellow": sheet(3)}))
    assert main(["score", str(tmp_path / "k3.json"), a]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("yellow: not answered (the key has this sheet)")
    assert main(["score", k1, a, k1, b]) == 2  # one sheet twice: not independent judges
    refused = capsys.readouterr()
    assert "twice" in refused.err and refused.out == ""  # nothing printed before the refusal
    (tmp_path / "bad.json").write_text("{")
    assert main(["score", k1, a, k2, str(tmp_path / "bad.json")]) == 2
    refused = capsys.readouterr()
    assert refused.out == "" and refused.err.count("bad.json") == 1


def test_bad_inputs_give_one_line_and_exit_2(tmp_path: Path, synth_root: Path, capsys):
    real = _fake_real(tmp_path / "real", n_images=1)
    bad_json = tmp_path / "answers.json"
    bad_json.write_text("{not json")
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"yellow": {"1": {"truth": "real"}, "2": {"truth": "synthetic"}}}))
    (tmp_path / "answers-as-key.json").write_text(json.dumps({"yellow": {"1": "real"}}))
    (tmp_path / "lopsided.json").write_text(json.dumps({"yellow": {"1": {"truth": "real"}}}))
    (tmp_path / "nothing.json").write_text(json.dumps({"seed": 1}))
    (tmp_path / "green.json").write_text(json.dumps({"green": {"1": "real"}}))
    (tmp_path / "file").write_text("x")
    synthetic_copy = tmp_path / "synthetic-copy"
    synthetic_copy.mkdir()
    (synthetic_copy / "synthetic.json").write_text("{}")
    make = ["make", str(real), str(synth_root)]
    cases = [
        ([*make, "--per-side", "40", "--size", "200", "--out", str(tmp_path / "o")], "only"),
        ([*make, "--out", str(real / "inside")], "inside"),
        ([*make, "--out", str(tmp_path / "file")], "not a folder"),
        ([*make, "--seed", "-1"], "out of range"),
        (["make", str(tmp_path / "missing"), str(synth_root)], "REAL_ROOT"),
        (["make", str(synthetic_copy), str(real), "--out", str(tmp_path / "sw")], "synthetic.json"),
        (["score", str(key), str(bad_json)], "answers.json"),
        (["score", str(tmp_path / "nokey.json"), str(bad_json)], "nokey.json"),
        (["score", str(tmp_path / "answers-as-key.json"), str(key)], "answers-as-key.json"),
        (["score", str(tmp_path / "lopsided.json"), str(key)], "half real"),
        (["score", str(key), str(tmp_path / "nothing.json")], "'seed'"),
        (["score", str(key), str(tmp_path / "green.json")], "green"),
        (["score", str(key)], "pairs"),
    ]
    for argv, word in cases:
        assert _exit_code(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and word in err and "}}}" not in err, err
    for left in ("o", "sw"):
        assert not (tmp_path / left).exists()
    assert not (real / "inside").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _exit_code(argv: list[str]) -> int:
    """main's return value, or the status of a usage error (argparse exits)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code)
