"""Per-image metadata: the archive's EXIF text dumps and the v1 original-file-name convention."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fncssl.data.atomic import write_text
from fncssl.errors import DataError

COLLECTION_LETTERS = {"g": "green", "y": "yellow", "r": "red"}

# <animal>[_]S<sample>C<column>R<row>[_<brain area>][_<zoom>][_<collection letter>[<digits>]]
_NAME = re.compile(
    r"^(?P<animal>[A-Za-z]+\d+[A-Za-z]?)_?"
    r"S(?P<sample>\d+)C(?P<column>\d+)R(?P<row>\d+)"
    r"(?:_(?P<area>[A-Za-z]+))?"
    r"(?:_(?P<zoom>\d+x))?"
    r"(?:_(?P<letter>[gyr])\d*)?$"
)


@dataclass(frozen=True)
class OriginalName:
    """Fields of an original FNC file name such as ``Mar19bS1C4R2_LHr_200x_y``."""

    animal: str
    sample: int
    column: int
    row: int
    brain_area: str | None
    zoom: str | None
    collection: str | None


def parse_original_name(stem: str) -> OriginalName | None:
    """Parse a file stem (no extension); ``None`` when it does not follow the convention."""
    m = _NAME.match(stem)
    if not m:
        return None
    letter = m.group("letter")
    return OriginalName(
        animal=m.group("animal"),
        sample=int(m.group("sample")),
        column=int(m.group("column")),
        row=int(m.group("row")),
        brain_area=m.group("area"),
        zoom=m.group("zoom"),
        collection=COLLECTION_LETTERS.get(letter) if letter else None,
    )


def read_metadata_txt(path: str | Path) -> dict[str, str]:
    """Read a ``key<TAB>value`` metadata dump; lines starting with '#' are comments."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise DataError(f"metadata file not found: {p}") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("\t")
        if not sep:
            raise DataError(f"{p}: line {line[:60]!r} is not 'key<TAB>value'")
        out[key.strip()] = value.strip()
    return out


def write_metadata_txt(path: str | Path, fields: dict[str, str], header: str) -> None:
    """Atomically write a metadata dump with a '#' header line."""
    lines = [f"# {header}"] + [f"{k}\t{v}" for k, v in fields.items()]
    write_text(path, "\n".join(lines) + "\n")
