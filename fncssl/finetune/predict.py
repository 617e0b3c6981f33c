"""``fncssl predict``: masks, instance labels, counts, overlays and COCO results for images.

For each input image: ``masks/<stem>.png`` (0/255 after post-processing), ``labels/<stem>.png``
(16-bit instance labels), ``overlays/<stem>.png`` (one contour per predicted cell, so watershed
splits show, and a legend), and over all images ``counts.csv``, ``coco_results.json`` (a
pycocotools results list: RLE and a score per cell) and ``coco_images.json`` (the images its
``image_id`` values refer to).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image

from fncssl.data.atomic import refuse_output_inside, write_bytes, write_json, write_text
from fncssl.data.imageio import image_size, read_image, write_image, write_mask
from fncssl.data.layout import IMAGE_SUFFIXES
from fncssl.data.rle import encode_mask
from fncssl.errors import FNCError
from fncssl.evaluation.coco_ap import instance_scores
from fncssl.evaluation.parallel import InstancePipeline
from fncssl.evaluation.postprocess import PostprocessConfig
from fncssl.evaluation.report import draw_instances, draw_legend
from fncssl.finetune.evaluate_checkpoint import eval_settings, run_config
from fncssl.models.inference import load_model_with_config, probability_maps

CELL_COLOUR = (0, 255, 255)  # cyan: visible on red, yellow and green images


def collect_images(inputs: list[str]) -> list[Path]:
    """Image files named directly or found (non-recursively) in named folders."""
    paths: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            paths += sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            paths.append(p)
        else:
            raise FNCError(f"input not found: {p}")
    if not paths:
        raise FNCError(f"no images found in {inputs}")
    problems = []
    for path in paths:  # headers only (cheap): nothing is written for an unreadable input
        try:
            image_size(path)
        except FNCError as exc:
            problems.append(str(exc))
    if problems:
        raise FNCError(f"{len(problems)} unreadable input(s): " + "; ".join(problems))
    return paths


def _label_png(labels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(labels.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def predict_images(
    checkpoint: str,
    inputs: list[str],
    out: Path,
    post: PostprocessConfig | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    device: str = "cpu",
    postprocess: list[str] | None = None,
    image_batch: int = 1,
    workers: int = 0,
) -> list[tuple[str, int]]:
    """Predict every image; returns (file name, cell count) pairs. Tiling and post-processing
    default to the checkpoint's own ``eval`` settings (see ``evaluate_checkpoint``).

    ``image_batch`` images share forward passes (their tiles batched; ``tile=0``: whole
    images), and ``workers`` processes post-process while the model runs (0: in this one).
    Outputs do not depend on either setting."""
    model, arch, saved = load_model_with_config(checkpoint)
    model.to(device)
    tiles, saved_post = eval_settings(
        run_config(checkpoint) or saved, arch, tile, overlap, postprocess
    )
    post = post or saved_post
    paths = collect_images(inputs)
    refuse_output_inside(out, [p for p in inputs if Path(p).is_dir()], "the input folder")
    counts: list[tuple[str, int]] = []
    images: list[dict] = []
    results: list[dict] = []
    step = max(image_batch, 1)
    with InstancePipeline(post, workers) as pipeline:
        for start in range(0, len(paths), step):
            chunk = [(start + k, read_image(p)) for k, p in enumerate(paths[start : start + step])]
            probs = probability_maps(model, [im for _, im in chunk], tiles, device)
            for (i, image), prob in zip(chunk, probs, strict=True):
                for (j, im), pr, labels in pipeline.submit((i, image), prob):
                    _write_one(out, paths[j], j + 1, im, pr, labels, counts, images, results)
        for (j, im), pr, labels in pipeline.results():
            _write_one(out, paths[j], j + 1, im, pr, labels, counts, images, results)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["image", "count"])
    writer.writerows(counts)
    write_text(out / "counts.csv", buf.getvalue())
    write_json(out / "coco_results.json", results)
    write_json(out / "coco_images.json", images)
    return counts


def _write_one(
    out: Path,
    path: Path,
    image_id: int,
    image: np.ndarray,
    prob: np.ndarray,
    labels: np.ndarray,
    counts: list,
    images: list,
    results: list,
) -> None:
    """Write one image's mask, labels and overlay; append its count, image and COCO entries."""
    n = int(labels.max(initial=0))
    write_mask(out / "masks" / f"{path.stem}.png", labels > 0)
    write_bytes(out / "labels" / f"{path.stem}.png", _label_png(labels))
    overlay = image.copy()
    draw_instances(overlay, labels, np.arange(1, n + 1), CELL_COLOUR)
    draw_legend(overlay, [(f"predicted cell ({n})", CELL_COLOUR)])
    write_image(out / "overlays" / f"{path.stem}.png", overlay)
    h, w = labels.shape
    images.append({"id": image_id, "file_name": path.name, "height": h, "width": w})
    for i, score in enumerate(instance_scores(labels, prob), start=1):
        obj = labels == i
        rle = encode_mask(obj)
        ys, xs = np.nonzero(obj)
        results.append(
            {
                "image_id": image_id,
                "category_id": 1,
                "score": float(score),
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                "bbox": [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1],
            }
        )
    counts.append((path.name, n))
    print(f"{path.name}: {n} cells")
