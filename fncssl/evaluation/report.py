"""Evaluation reports: a Markdown table in the layout of the paper's Table 2, and overlay PNGs.

Overlay colours (chosen to stay visible on red, yellow and green images): predicted objects
that match (segmentation TP) in green, false-positive predictions in magenta, missed true
objects (FN) in white. Each instance gets its own contour, so watershed splits show, and every
overlay carries a legend in its top-left corner.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries

from fncssl.data.imageio import write_image
from fncssl.evaluation.matching import match_image

PAPER_TABLE2 = {
    "green": (0.69, 0.79, 0.62, 0.77, 0.86, 0.69, 1.20, 1.00, 0.09),
    "red": (0.28, 0.33, 0.25, 0.60, 0.69, 0.53, 7.13, 7.00, 0.42),
    "yellow": (0.65, 0.67, 0.63, 0.77, 0.78, 0.75, 1.54, 1.00, 0.18),
}
HEADER = (
    "| run | seg F1 | seg P | seg R | det F1 | det P | det R | count MAE | MedAE | MPE |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def table2_row(label: str, results: dict) -> str:
    s, d, c = results["segmentation"], results["detection"], results["counting"]
    vals = [s["f1"], s["precision"], s["recall"], d["f1"], d["precision"], d["recall"]]
    return (
        f"| {label} | "
        + " | ".join(f"{v:.2f}" for v in vals)
        + f" | {c['mae']:.2f} | {c['medae']:.2f} | {100 * c['mpe']:.0f}% |"
    )


def table2_markdown(rows: dict[str, dict], with_paper: bool = False) -> str:
    """Table 2 layout, one row per labelled results dict; optionally the paper's rows."""
    lines = [HEADER] + [table2_row(label, r) for label, r in rows.items()]
    if with_paper:
        for col, v in PAPER_TABLE2.items():
            lines.append(
                f"| paper c-ResUnet ({col}) | "
                + " | ".join(f"{x:.2f}" for x in v[:6])
                + f" | {v[6]:.2f} | {v[7]:.2f} | {100 * v[8]:.0f}% |"
            )
        lines.append("")
        lines.append(
            "Paper counting figures are not count errors (see fncssl.evaluation.counting)."
        )
    return "\n".join(lines) + "\n"


TP_COLOUR = (0, 255, 0)
FP_COLOUR = (255, 0, 255)
FN_COLOUR = (255, 255, 255)


def draw_instances(
    canvas: np.ndarray, labels: np.ndarray, ids: np.ndarray, colour: tuple[int, int, int]
) -> None:
    """Draw, in place on RGB ``canvas``, a 2-px contour inside each instance in ``ids`` of the
    (H, W) instance ``labels``; touching instances each get their own edge."""
    if ids.size == 0:
        return
    chosen = np.where(np.isin(labels, ids), labels, 0)
    edge = find_boundaries(chosen, connectivity=1, mode="inner")
    edge = ndi.binary_dilation(edge, np.ones((3, 3), bool)) & (chosen > 0)
    canvas[edge] = colour


def draw_legend(canvas: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> None:
    """A dark box in the top-left corner with one colour swatch and label per entry."""
    row, pad, swatch = 16, 4, 10
    width = pad * 3 + swatch + 8 * max(len(text) for text, _ in entries)
    height = pad + row * len(entries)
    h, w = canvas.shape[:2]
    canvas[: min(height, h), : min(width, w)] = (0, 0, 0)
    for i, (text, colour) in enumerate(entries):
        y = pad + i * row
        canvas[y : y + swatch, pad : pad + swatch] = colour
        cv2.putText(
            canvas,
            text,
            (2 * pad + swatch, y + swatch),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )


def overlay(
    image: np.ndarray | None,
    true_labels: np.ndarray,
    pred_labels: np.ndarray,
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """RGB uint8 overlay of TP, FP and FN contours (colours above) with a legend."""
    m = match_image(true_labels, pred_labels, "paper", iou_threshold)
    canvas = np.zeros((*true_labels.shape, 3), np.uint8) if image is None else image.copy()
    draw_instances(canvas, true_labels, np.flatnonzero(m.true_iou <= iou_threshold) + 1, FN_COLOUR)
    draw_instances(canvas, pred_labels, np.flatnonzero(m.pred_iou > iou_threshold) + 1, TP_COLOUR)
    draw_instances(canvas, pred_labels, np.flatnonzero(m.pred_iou <= iou_threshold) + 1, FP_COLOUR)
    draw_legend(
        canvas,
        [("TP (matched)", TP_COLOUR), ("FP (predicted)", FP_COLOUR), ("FN (missed)", FN_COLOUR)],
    )
    return canvas


def worst_images(results: dict, k: int = 5) -> list[str]:
    """Names of the ``k`` images with the lowest segmentation F1 (ties: larger count error)."""
    ranked = sorted(
        results["images"],
        key=lambda im: (im["segmentation"]["f1"], -abs(im["pred_count"] - im["true_count"])),
    )
    return [im["name"] for im in ranked[:k]]


def write_overlay(
    path: Path, image: np.ndarray | None, truth: np.ndarray, pred: np.ndarray
) -> None:
    write_image(path, overlay(image, truth, pred))
