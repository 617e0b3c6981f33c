"""Pascal VOC XML, one file per image (``Pascal_VOC/<stem>.xml``), in the FNC layout.

``<annotation>`` holds split, filename, path (the image's path relative to the archive root,
so an archive can be moved), size and count, then one ``<object>`` per cell
with marker, marked_structure, ``polygon/pt(x, y)...``, ``bndbox`` and ``dot``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from fncssl.data.annotation import COLLECTION_INFO, ImageAnnotation
from fncssl.data.atomic import write_bytes
from fncssl.errors import DataError


def _sub(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def write_voc(
    path: Path, collection: str, split: str, image_path: str, ann: ImageAnnotation
) -> None:
    """Atomically write one image's VOC XML."""
    info = COLLECTION_INFO[collection]
    objs = ann.objects()
    root = ET.Element("annotation")
    _sub(root, "split", split)
    _sub(root, "filename", ann.file_name)
    _sub(root, "path", image_path)
    size = _sub(root, "size")
    _sub(size, "width", ann.width)
    _sub(size, "height", ann.height)
    _sub(size, "depth", 3)
    _sub(root, "count", len(objs))
    for o in objs:
        obj = _sub(root, "object")
        _sub(obj, "marker", info.marker)
        _sub(obj, "marked_structure", info.structure)
        poly = _sub(obj, "polygon")
        for x, y in o.polygon:
            pt = _sub(poly, "pt")
            _sub(pt, "x", int(x))
            _sub(pt, "y", int(y))
        box = _sub(obj, "bndbox")
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), o.bbox, strict=True):
            _sub(box, tag, v)
        dot = _sub(obj, "dot")
        _sub(dot, "x", o.dot[0])
        _sub(dot, "y", o.dot[1])
    ET.indent(root)
    write_bytes(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def read_voc(path: Path) -> ImageAnnotation:
    """Read one VOC XML into a polygon annotation."""
    if not path.is_file():
        raise DataError(f"VOC file not found: {path}")
    try:
        root = ET.parse(path).getroot()
        file_name = root.findtext("filename") or (path.stem + ".png")
        width = int(root.findtext("size/width") or "")
        height = int(root.findtext("size/height") or "")
        polygons = []
        for obj in root.iter("object"):
            pts = [
                (int(float(pt.findtext("x") or "")), int(float(pt.findtext("y") or "")))
                for pt in obj.iter("pt")
            ]
            if not pts:
                raise ValueError("an <object> has no polygon points")
            polygons.append(np.array(pts, np.int32))
    except (ET.ParseError, ValueError) as exc:
        raise DataError(f"{path}: invalid Pascal VOC annotation ({exc})") from None
    return ImageAnnotation(path.stem, file_name, height, width, polygons=polygons)
