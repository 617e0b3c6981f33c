"""``first_few``: the one helper that shortens lists of names in error messages."""

import numpy as np

from fncssl.errors import first_few


def test_lists_all_when_short_and_marks_what_it_leaves_out():
    assert first_few(["a", "b", "c"], 3) == "a, b, c"
    assert first_few(["a", "b", "c", "d"], 3) == "a, b, c, ..."
    assert first_few(["a", "b", "c", "d"], 3, in_all=True) == "a, b, c ... (4 in all)"
    assert first_few(np.array([0, 17, 255], dtype=np.uint8), 2) == "0, 17, ..."
    assert first_few((), 5) == ""
