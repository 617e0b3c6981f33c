"""The blind realism test: crops that do not overlap, a key that matches the sheet, scoring."""

import json
from pathlib import Path

import numpy as np
import pytest

from bench.bench_blind import chance_at_least, main, overlaps, pick_window, pooled_chance, score
from fncssl.data.imageio import read_image, write_image, write_mask

SIZE, PAD = 96, 3


def _fake_real(root: Path, n_images: int = 2) -> Path:
    """A flat samples folder (yellow/images, yellow/masks) of random images with square cells."""
    rng = np.random.default_rng(5)
    for k in range(n_images):
        image = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
        mask = np.zeros((300, 400), bool)
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


def test_make_writes_a_shuffled_sheet_whose_tiles_are_the_keyed_crops(
    tmp_path: Path, synth_root: Path
):
    real = _fake_real(tmp_path / "real")
    out = tmp_path / "blind"
    args = ["make", str(real), str(synth_root), "--per-side", "3", "--size", str(SIZE)]
    assert main([*args, "--out", str(out), "--seed", "4"]) == 0
    key = json.loads((out / "key.json").read_text())
    assert set(key) == {"seed", "real_root", "synth_root", "yellow"}  # only yellow on both sides
    entries = key["yellow"]
    truths = [entries[str(k)]["truth"] for k in range(1, 7)]
    assert sorted(truths) == ["real"] * 3 + ["synthetic"] * 3
    sheet = read_image(out / "yellow.png")
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
        windows.setdefault(e["image"], []).append((y0, x0))
    real_images = [p for p in windows if "/real/" in p]
    synth_images = [p for p in windows if "/real/" not in p]
    assert len(real_images) == 2 and len(synth_images) == 3  # synthetic: distinct images
    for wins in windows.values():
        assert not any(overlaps(a, b, SIZE) for i, a in enumerate(wins) for b in wins[i + 1 :])
    # same seed, same sheet; another seed, another order
    again = tmp_path / "again"
    assert main([*args, "--out", str(again), "--seed", "4"]) == 0
    assert (again / "yellow.png").read_bytes() == (out / "yellow.png").read_bytes()
    assert main([*args, "--out", str(tmp_path / "other"), "--seed", "5"]) == 0
    other = json.loads((tmp_path / "other" / "key.json").read_text())["yellow"]
    assert other != entries


def test_score_counts_right_answers_and_whether_they_were_half_and_half():
    key = {"yellow": {str(k): {"truth": "real" if k % 2 else "synthetic"} for k in range(1, 13)}}
    truth = {k: v["truth"] for k, v in key["yellow"].items()}
    perfect = {"yellow": {k: t[0].upper() for k, t in truth.items()}}
    assert score(key, perfect) == {"yellow": (12, 12, True)}
    flipped = {"yellow": {k: "real" if t == "synthetic" else "s" for k, t in truth.items()}}
    assert score(key, flipped) == {"yellow": (0, 12, True)}
    assert score(key, {"yellow": {"1": "real"}}) == {"yellow": (1, 12, False)}  # rest wrong
    swapped = dict(perfect["yellow"], **{"1": "s", "2": "r", "3": "s", "4": "r"})
    assert score(key, {"yellow": swapped}) == {"yellow": (8, 12, True)}
    assert chance_at_least(12, 12, True) == pytest.approx(1 / 924)
    assert chance_at_least(1, 12, False) == pytest.approx(4095 / 4096)


def test_pooled_chance_is_the_tail_of_the_summed_guesses():
    """Two balanced judges of 4 crops each: right counts 0, 2, 4 with chances 1/6, 4/6, 1/6
    each, so the total is 8 with 1/36 and at least 6 with 1/36 + 2 * 4/36 = 9/36."""
    assert pooled_chance([(4, 4, True), (4, 4, True)]) == pytest.approx(1 / 36)
    assert pooled_chance([(4, 4, True), (2, 4, True)]) == pytest.approx(9 / 36)
    assert pooled_chance([(0, 4, True), (0, 4, True)]) == pytest.approx(1.0)
    assert pooled_chance([(3, 3, False)]) == pytest.approx(1 / 8)


def test_chance_at_least_agrees_with_enumerating_every_guess():
    """Definitional check: enumerate every half-and-half answer sheet (and every coin-flip
    sheet) for 8 crops and count those with at least ``right`` right."""
    import itertools

    n, truth = 8, (1, 1, 1, 1, 0, 0, 0, 0)
    balanced = [a for a in itertools.product((0, 1), repeat=n) if sum(a) == n // 2]
    every = list(itertools.product((0, 1), repeat=n))
    for right in range(n + 1):
        hits = [sum(x == t for x, t in zip(a, truth, strict=True)) for a in balanced]
        assert chance_at_least(right, n, True) == pytest.approx(np.mean(np.array(hits) >= right))
        hits = [sum(x == t for x, t in zip(a, truth, strict=True)) for a in every]
        assert chance_at_least(right, n, False) == pytest.approx(np.mean(np.array(hits) >= right))
    assert chance_at_least(10, 12, True) == pytest.approx(37 / 924)
    assert chance_at_least(10, 12, False) == pytest.approx(79 / 4096)


def test_bad_inputs_give_one_line_and_exit_2(tmp_path: Path, synth_root: Path, capsys):
    real = _fake_real(tmp_path / "real", n_images=1)
    bad_json = tmp_path / "answers.json"
    bad_json.write_text("{not json")
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"yellow": {"1": {"truth": "real"}}}))
    cases = [
        (
            [
                "make",
                str(real),
                str(synth_root),
                "--per-side",
                "40",
                "--size",
                "200",
                "--out",
                str(tmp_path / "o"),
            ],
            "only",
        ),
        (["make", str(real), str(synth_root), "--out", str(real / "inside")], "inside"),
        (["make", str(tmp_path / "missing"), str(synth_root)], "missing"),
        (["score", str(key), str(bad_json)], "answers.json"),
        (["score", str(tmp_path / "nokey.json"), str(bad_json)], "nokey.json"),
    ]
    for argv, word in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and word in err, err
    assert not (tmp_path / "o").exists() and not (real / "inside").exists()
    odd = main(["score", str(key)])
    assert odd == 2 and "pairs" in capsys.readouterr().err
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"green": {"1": "real"}}))
    assert main(["score", str(key), str(wrong)]) == 2
    assert "green" in capsys.readouterr().err


def test_score_cli_prints_each_judge_and_the_pooled_figure(tmp_path: Path, capsys):
    key = {"red": {str(k): {"truth": "real" if k <= 2 else "synthetic"} for k in range(1, 5)}}
    (tmp_path / "key.json").write_text(json.dumps(key))
    (tmp_path / "a.json").write_text(json.dumps({"red": {"1": "r", "2": "r", "3": "s", "4": "s"}}))
    (tmp_path / "b.json").write_text(json.dumps({"red": {"1": "s", "2": "r", "3": "r", "4": "s"}}))
    k, a, b = (str(tmp_path / f) for f in ("key.json", "a.json", "b.json"))
    assert main(["score", k, a, k, b]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("red: 4 of 4 right (P(>= 4 by guessing) = 0.167)")
    assert out[1].endswith("red: 2 of 4 right (P(>= 2 by guessing) = 0.833)")
    assert out[2] == "red, 2 judges: 6 of 8 right (P(>= 6 by guessing) = 0.25)"
