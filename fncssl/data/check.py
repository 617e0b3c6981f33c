"""One pass over the selected labelled images before anything trains or is measured.

Every image/mask pair is checked once: the mask exists, both headers are readable and the
sizes agree (cheap: no pixels decoded). When the decoded arrays fit in a
:class:`~fncssl.data.datasets.DecodedImageCache`, every pair is also decoded into it, which
checks the pixel values (8-bit image, binary mask) and warms the cache training reads from.
All problems are reported together in one :class:`DataError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fncssl.data.datasets import DecodedImageCache
from fncssl.data.imageio import image_size, read_image, read_mask
from fncssl.data.layout import ImageRecord
from fncssl.errors import DataError

MAX_LISTED = 20


def pair_problems(
    records: Sequence[ImageRecord], binarise: bool = False, cache: DecodedImageCache | None = None
) -> list[str]:
    """Problems of the labelled ``records`` (empty list = all fine); see the module docstring."""
    problems: list[str] = []
    sizes: list[tuple[ImageRecord, tuple[int, int]]] = []
    for rec in records:
        if rec.mask is None:
            problems.append(f"{rec.image}: labelled image without a mask")
            continue
        try:
            h, w = image_size(rec.image)
            mh, mw = image_size(rec.mask)
        except DataError as exc:
            problems.append(str(exc))
            continue
        if (mh, mw) != (h, w):
            problems.append(
                f"{rec.mask}: mask size {mw}x{mh} does not match image {rec.image.name} {w}x{h}"
            )
            continue
        sizes.append((rec, (h, w)))
    decoded_bytes = sum(h * w * 4 for _, (h, w) in sizes)  # RGB uint8 + bool mask
    if cache is not None and decoded_bytes <= cache.max_bytes:
        for rec, _ in sizes:
            try:
                cache.get(str(rec.image), lambda r=rec: read_image(r.image))
                cache.get(str(rec.mask), lambda r=rec: read_mask(r.mask, binarise))
            except DataError as exc:
                problems.append(str(exc))
    return problems


def check_pairs(
    records: Sequence[ImageRecord],
    binarise: bool = False,
    cache: DecodedImageCache | None = None,
    what: str = "the selected images",
) -> None:
    """Raise one :class:`DataError` listing every problem of :func:`pair_problems`."""
    problems = pair_problems(records, binarise, cache)
    if not problems:
        return
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    raise DataError(
        f"{len(problems)} problem(s) in {what} (run `fncssl validate ROOT` for a full check):\n"
        + "\n".join(f"  - {p}" for p in shown)
        + more
    )
