"""Overlays: one contour per instance (watershed splits visible), a legend, visible colours."""

import numpy as np

from fncssl.evaluation.report import FN_COLOUR, FP_COLOUR, TP_COLOUR, draw_instances, overlay

RED = np.array([255, 0, 0])


def touching_pair() -> np.ndarray:
    labels = np.zeros((120, 160), np.int32)
    labels[40:80, 40:80] = 1
    labels[40:80, 80:120] = 2  # touches object 1 along column 79/80
    return labels


def test_each_instance_gets_its_own_contour():
    labels = touching_pair()
    canvas = np.zeros((*labels.shape, 3), np.uint8)
    draw_instances(canvas, labels, np.array([1, 2]), (0, 255, 0))
    drawn = canvas[..., 1] == 255
    assert drawn[60, 79] and drawn[60, 80]  # the split line between the two cells
    assert not drawn[60, 60] and not drawn[60, 100]  # interiors stay clear
    assert drawn[40, 60] and drawn[60, 40]  # outer edges


def test_overlay_has_a_legend_and_colours_visible_on_red():
    labels = touching_pair()
    out = overlay(None, labels, labels)
    corner = out[:40, :40].reshape(-1, 3)
    colours = {tuple(c) for c in corner}
    assert {TP_COLOUR, FP_COLOUR, FN_COLOUR} <= colours  # legend swatches
    for colour in (TP_COLOUR, FP_COLOUR, FN_COLOUR):
        assert np.abs(np.array(colour) - RED).sum() >= 255, colour
    assert tuple(out[60, 79]) == TP_COLOUR and tuple(out[60, 80]) == TP_COLOUR
