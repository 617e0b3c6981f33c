"""COCO annotations: the archive's own COCO variant, and standard COCO.

FNC variant (``COCO/annotations_<collection>_<split>.json``): ONE annotation per image whose
``segmentation``, ``bbox``, ``area`` and ``dots`` are lists over the image's cells, plus
``count``; image ids are file stems. pycocotools cannot load it.

Standard COCO (``COCO/coco_standard_<collection>_<split>.json``): one annotation per cell with
integer ids and an exact per-cell RLE segmentation; ``pycocotools.coco.COCO`` loads it and
``COCOeval`` scores against it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fncssl.data.annotation import COLLECTION_INFO, ImageAnnotation
from fncssl.data.atomic import write_json
from fncssl.data.objects import flat_polygon, unflatten_polygon
from fncssl.data.rle import decode_rle, encode_mask
from fncssl.errors import DataError


def _categories() -> list[dict[str, Any]]:
    return [
        {"id": c.category_id, "name": c.marker, "supercategory": c.name}
        for c in COLLECTION_INFO.values()
    ]


def _coco_bbox(b: tuple[int, int, int, int]) -> list[float]:
    return [float(b[0]), float(b[1]), float(b[2] - b[0] + 1), float(b[3] - b[1] + 1)]


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"annotation file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise DataError(f"{path}: not a COCO file (needs 'images' and 'annotations')")
    return data


def write_fnc_coco(path: Path, collection: str, annotations: list[ImageAnnotation]) -> None:
    """Write the FNC COCO variant for one collection and split."""
    cat = COLLECTION_INFO[collection].category_id
    images, anns = [], []
    for ann in annotations:
        objs = ann.objects()
        images.append(
            {"id": ann.stem, "file_name": ann.file_name, "height": ann.height, "width": ann.width}
        )
        anns.append(
            {
                "id": ann.stem,
                "image_id": ann.stem,
                "category_id": cat,
                "iscrowd": 0,
                "segmentation": [flat_polygon(o.polygon) for o in objs],
                "bbox": [_coco_bbox(o.bbox) for o in objs],
                "area": [o.area for o in objs],
                "dots": [list(o.dot) for o in objs],
                "count": len(objs),
            }
        )
    write_json(
        path,
        {
            "info": {"description": f"FNC {collection}"},
            "images": images,
            "annotations": anns,
            "categories": _categories(),
        },
    )


def read_fnc_coco(path: Path) -> dict[str, ImageAnnotation]:
    """Read the FNC COCO variant: stem -> polygon annotation."""
    data = _load_json(path)
    by_id = {str(im["id"]): im for im in data["images"]}
    out: dict[str, ImageAnnotation] = {}
    for im in data["images"]:
        stem = str(im["id"])
        out[stem] = ImageAnnotation(
            stem, im["file_name"], int(im["height"]), int(im["width"]), polygons=[]
        )
    for a in data["annotations"]:
        image_id = str(a.get("image_id"))
        if image_id not in by_id:
            raise DataError(f"{path}: annotation for unknown image id {image_id!r}")
        for cell in a.get("segmentation", []):
            # Each cell is a flat polygon, or a list of flat polygons (all parts kept).
            parts = cell if cell and isinstance(cell[0], list) else [cell]
            try:
                out[image_id].polygons.extend(unflatten_polygon(p) for p in parts)  # type: ignore[union-attr]
            except ValueError as exc:
                raise DataError(f"{path}: image {image_id}: {exc}") from None
    return out


def write_standard_coco(path: Path, collection: str, annotations: list[ImageAnnotation]) -> None:
    """Write standard COCO (one annotation per 8-connected cell, RLE segmentation)."""
    cat = COLLECTION_INFO[collection].category_id
    images, anns = [], []
    for image_id, ann in enumerate(annotations, start=1):
        images.append(
            {"id": image_id, "file_name": ann.file_name, "height": ann.height, "width": ann.width}
        )
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            ann.binary_mask().astype(np.uint8), connectivity=8, ltype=cv2.CV_32S
        )
        for i in range(1, n):
            x, y, w, h = (int(v) for v in stats[i, :4])
            obj = np.zeros(labels.shape, bool)
            obj[y : y + h, x : x + w] = labels[y : y + h, x : x + w] == i
            rle = encode_mask(obj)
            ys, xs = np.nonzero(obj[y : y + h, x : x + w])
            ys, xs = ys + y, xs + x
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "iscrowd": 0,
                    "segmentation": {
                        "size": [int(v) for v in rle["size"]],
                        "counts": rle["counts"].decode("ascii"),
                    },
                    "area": int(obj.sum()),
                    "bbox": _coco_bbox(
                        (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
                    ),
                }
            )
    write_json(
        path,
        {
            "info": {"description": f"FNC {collection} (standard COCO)"},
            "images": images,
            "annotations": anns,
            "categories": _categories(),
        },
    )


def read_standard_coco(path: Path) -> dict[str, ImageAnnotation]:
    """Read standard COCO with RLE or polygon segmentations: stem -> exact mask annotation."""
    from pycocotools import mask as mask_utils

    data = _load_json(path)
    masks: dict[int, np.ndarray] = {}
    meta: dict[int, dict[str, Any]] = {}
    for im in data["images"]:
        meta[int(im["id"])] = im
        masks[int(im["id"])] = np.zeros((int(im["height"]), int(im["width"])), bool)
    for a in data["annotations"]:
        iid = int(a["image_id"])
        if iid not in masks:
            raise DataError(f"{path}: annotation {a.get('id')} for unknown image id {iid}")
        h, w = masks[iid].shape
        seg = a["segmentation"]
        if isinstance(seg, dict):
            obj = decode_rle(seg, f"{path} annotation {a.get('id')}")
        else:
            obj = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, h, w))).astype(
                bool
            )
        if obj.shape != (h, w):
            raise DataError(
                f"{path}: annotation {a.get('id')} has size {obj.shape}, image {(h, w)}"
            )
        masks[iid] |= obj
    out = {}
    for iid, im in meta.items():
        stem = Path(im["file_name"]).stem
        out[stem] = ImageAnnotation(
            stem, im["file_name"], masks[iid].shape[0], masks[iid].shape[1], mask=masks[iid]
        )
    return out
