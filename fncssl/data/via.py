"""VGG Image Annotator (VIA) project JSON, one file per collection and split.

``{"<filename><filesize>": {"filename", "size", "regions": [{"shape_attributes": {"name":
"polygon", "all_points_x": [...], "all_points_y": [...]}, "region_attributes": {}}],
"file_attributes": {}}}``. VIA stores no image size, so reading needs the sizes from the images.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fncssl.data.annotation import ImageAnnotation
from fncssl.data.atomic import write_json
from fncssl.errors import DataError


def write_via(path: Path, entries: list[tuple[ImageAnnotation, int]]) -> None:
    """Write a VIA project; ``entries`` pairs each annotation with its image's size in bytes."""
    project = {}
    for ann, file_size in entries:
        regions = [
            {
                "shape_attributes": {
                    "name": "polygon",
                    "all_points_x": [int(x) for x in o.polygon[:, 0]],
                    "all_points_y": [int(y) for y in o.polygon[:, 1]],
                },
                "region_attributes": {},
            }
            for o in ann.objects()
        ]
        project[f"{ann.file_name}{file_size}"] = {
            "filename": ann.file_name,
            "size": file_size,
            "regions": regions,
            "file_attributes": {},
        }
    write_json(path, project)


def read_via(path: Path, sizes: dict[str, tuple[int, int]]) -> dict[str, ImageAnnotation]:
    """Read a VIA project; ``sizes`` maps stem -> (height, width) of the images."""
    if not path.is_file():
        raise DataError(f"VIA file not found: {path}")
    try:
        project = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(project, dict):
        raise DataError(f"{path}: a VIA project is a JSON object keyed by filename+size")
    out = {}
    for key, entry in project.items():
        try:
            file_name = entry["filename"]
            stem = Path(file_name).stem
            if stem not in sizes:
                raise DataError(f"{path}: entry {key!r} names an image not in the archive")
            polygons = []
            for region in entry.get("regions", []):
                shape = region["shape_attributes"]
                if shape.get("name") != "polygon":
                    raise DataError(
                        f"{path}: {key!r} has a {shape.get('name')!r} region; "
                        "only polygons are supported"
                    )
                xs, ys = shape["all_points_x"], shape["all_points_y"]
                if len(xs) != len(ys) or not xs:
                    raise DataError(f"{path}: {key!r} has a polygon with mismatched points")
                polygons.append(np.stack([xs, ys], axis=1).astype(np.int32))
        except (KeyError, TypeError) as exc:
            raise DataError(f"{path}: entry {key!r} is malformed (missing {exc})") from None
        h, w = sizes[stem]
        out[stem] = ImageAnnotation(stem, file_name, h, w, polygons=polygons)
    return out
