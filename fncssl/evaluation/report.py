"""Evaluation reports: a Markdown table in the layout of the paper's Table 2, and overlay PNGs.

Overlay colours: predicted objects that match (segmentation TP) in green, false-positive
predictions in red, missed true objects (FN) in yellow; contours are drawn over the image
(or a black canvas).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

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


def overlay(
    image: np.ndarray | None,
    true_labels: np.ndarray,
    pred_labels: np.ndarray,
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """RGB uint8 overlay of TP (green), FP (red) and FN (yellow) contours."""
    m = match_image(true_labels, pred_labels, "paper", iou_threshold)
    canvas = np.zeros((*true_labels.shape, 3), np.uint8) if image is None else image.copy()

    def draw(labels: np.ndarray, ids: np.ndarray, colour: tuple[int, int, int]) -> None:
        if ids.size == 0:
            return
        sel = np.isin(labels, ids).astype(np.uint8)
        contours, _ = cv2.findContours(sel, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, colour, 2)

    draw(true_labels, np.flatnonzero(m.true_iou <= iou_threshold) + 1, (255, 220, 0))
    draw(pred_labels, np.flatnonzero(m.pred_iou > iou_threshold) + 1, (0, 255, 0))
    draw(pred_labels, np.flatnonzero(m.pred_iou <= iou_threshold) + 1, (255, 40, 40))
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
