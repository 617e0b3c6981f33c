"""Double-marked twins: green and yellow images of the same slice.

In FNC v2 some slices were imaged in both the green (c-FOS) and the yellow (CTb) channel; the
two images show the same tissue, so a twin pair must never straddle a split (one in training,
the other in validation or test) or the held-out score leaks. Twins are recognised by name:
two green/yellow images whose stems parse to the same original name (animal, sample, column,
row, brain area, zoom; see :func:`fncssl.data.metadata.parse_original_name`) apart from the
collection letter. The synthetic archive names green image *i* and yellow image *i* this way.
"""

from __future__ import annotations

import re

from fncssl.data.layout import ImageRecord
from fncssl.data.metadata import parse_original_name

TWIN_COLLECTIONS = ("green", "yellow")


def twin_key(record: ImageRecord) -> str | None:
    """The slice identity shared by a green/yellow twin pair, or ``None`` (red, unparsed)."""
    if record.collection not in TWIN_COLLECTIONS:
        return None
    parsed = parse_original_name(record.stem)
    if parsed is None:
        return re.sub(r"_[gy]\d*$", "", record.stem)
    p = parsed
    return "|".join(map(str, (p.animal, p.sample, p.column, p.row, p.brain_area, p.zoom)))


def twin_groups(records: list[ImageRecord]) -> dict[str, list[ImageRecord]]:
    """Records grouped so that twins share a group; the group id is its first member's key.

    Groups are listed in the order of their first member; a record without a twin in
    ``records`` is a group of one.
    """
    by_slice: dict[str, list[ImageRecord]] = {}
    groups: dict[str, list[ImageRecord]] = {}
    for r in records:
        key = twin_key(r)
        if key is not None and key in by_slice:
            by_slice[key].append(r)
            continue
        members = [r]
        groups[r.key] = members
        if key is not None:
            by_slice[key] = members
    return groups


def twins_of(records: list[ImageRecord], others: list[ImageRecord]) -> set[str]:
    """Keys of ``others`` that are twins of some record in ``records``."""
    slices = {k for k in map(twin_key, records) if k is not None}
    return {o.key for o in others if twin_key(o) in slices}
