"""One image's annotation in memory, whichever format it came from.

Mask-based formats (PNG masks, RLE, standard COCO) give an exact boolean mask; polygon
formats (FNC COCO variant, Pascal VOC, VIA) give one outer polygon per cell. Either way
``binary_mask()`` and ``objects()`` give the same view to writers, validators and statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fncssl.data.objects import (
    CellObject,
    bbox_of_polygon,
    objects_from_mask,
    polygons_to_mask,
    rasterise_polygon,
)


@dataclass(frozen=True)
class CollectionInfo:
    """Fixed facts of an FNC collection (category ids as in the archive's COCO files)."""

    name: str
    category_id: int
    marker: str
    structure: str


COLLECTION_INFO = {
    "green": CollectionInfo("green", 1, "c-FOS", "nucleus"),
    "yellow": CollectionInfo("yellow", 2, "CTb", "cytoplasm"),
    "red": CollectionInfo("red", 3, "Orx", "cytoplasm"),
}


@dataclass
class ImageAnnotation:
    """Annotation of one image: a mask, or polygons (one per cell); height/width in pixels."""

    stem: str
    file_name: str
    height: int
    width: int
    mask: np.ndarray | None = None
    polygons: list[np.ndarray] | None = None
    _objects: list[CellObject] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.mask is None) == (self.polygons is None):
            raise ValueError("ImageAnnotation needs exactly one of mask or polygons")
        if self.mask is not None and self.mask.shape != (self.height, self.width):
            raise ValueError(f"mask shape {self.mask.shape} != {(self.height, self.width)}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def binary_mask(self) -> np.ndarray:
        """Boolean (H, W) mask (union of polygons for polygon formats)."""
        if self.mask is not None:
            return self.mask
        return polygons_to_mask(self.polygons or [], self.shape)

    def objects(self) -> list[CellObject]:
        """The cells: connected components of a mask, or one object per polygon (cached)."""
        if self._objects is None:
            self._objects = self._compute_objects()
        return self._objects

    def _compute_objects(self) -> list[CellObject]:
        if self.mask is not None:
            return objects_from_mask(self.mask)
        out = []
        for poly in self.polygons or []:
            filled = rasterise_polygon(poly, self.shape)
            ys, xs = np.nonzero(filled)
            dot = (
                (round(float(xs.mean()), 1), round(float(ys.mean()), 1)) if len(xs) else (0.0, 0.0)
            )
            out.append(CellObject(poly, bbox_of_polygon(poly), dot, int(filled.sum())))
        return out
