"""The sim-to-real bench's bookkeeping: count bias, the 30% rule and the two tables."""

import math

from bench.bench_sim2real import count_bias, count_ok, markdown


def _scores(counts: list[tuple[int, int]]) -> dict:
    return {
        "segmentation": {"f1": 0.7, "precision": 0.6, "recall": 0.8},
        "detection": {"f1": 0.9, "precision": 0.8, "recall": 1.0},
        "counting": {"mae": 1.0},
        "images": [{"pred_count": p, "true_count": t} for p, t in counts],
    }


def test_count_bias_is_the_mean_signed_error_in_percent_over_images_with_cells():
    assert count_bias(_scores([(17, 13), (35, 35)])) == 100 * (4 / 13) / 2
    assert count_bias(_scores([(10, 20), (3, 0)])) == -50.0  # an empty image has no percent
    assert math.isnan(count_bias(_scores([(2, 0)])))


def test_count_ok_applies_30_percent_only_to_images_with_more_than_5_cells():
    assert count_ok(_scores([(16, 13), (9, 4)]))  # 3 of 13 is within 30%; 4 cells not judged
    assert not count_ok(_scores([(17, 13)]))


def test_markdown_adds_the_held_out_table_only_when_held_out_images_were_scored():
    plain = {"collections": {"yellow": {"0": _scores([(17, 13)])}}}
    assert "Synthetic held-out" not in markdown(plain)
    held = {
        "collections": {
            "yellow": {"0": {**_scores([(17, 13)]), "synthetic_heldout": _scores([(9, 10)])}}
        }
    }
    text = markdown(held)
    real, synthetic = text.split("Synthetic held-out")
    assert "| +31 | 17/13 | no |" in real
    assert "| -10 | 9/10 | yes |" in synthetic
