"""The pseudo-label folder's ``manifest.json``: which teacher labelled which images.

``{"format": "fncssl-pseudolabels/1", "teacher": {"checkpoint", "kind", "id", "config_hash"},
"settings": {...}, "images": [{"key", "image", "file", "height", "width", "sha256"}]}``.
``teacher.id`` is the SHA-256 of the checkpoint file, ``config_hash`` that of its saved config
(canonical JSON); ``file`` is the probability PNG relative to the folder. The manifest is
written last and atomically, so a folder without one is incomplete. A student refuses a folder
whose image list (keys, sizes, checksums) or teacher differs from what it expects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fncssl.data.atomic import write_json
from fncssl.data.imageio import image_size
from fncssl.data.layout import ImageRecord
from fncssl.errors import FNCError
from fncssl.models.checkpoint import read_weights, resolve_checkpoint

FORMAT = "fncssl-pseudolabels/1"
MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def teacher_identity(spec: str | Path) -> dict[str, str]:
    """Who the teacher is: checkpoint path, kind, file hash and config hash."""
    path = resolve_checkpoint(spec)
    weights = read_weights(path)
    return {
        "checkpoint": str(path),
        "kind": weights.kind,
        "id": file_sha256(path)[:16],
        "config_hash": config_hash(weights.config),
    }


def pseudo_file(record: ImageRecord) -> str:
    """Where a record's probabilities live inside the folder: ``<key>.png``."""
    return f"{record.key}.png"


def image_entry(record: ImageRecord) -> dict[str, Any]:
    h, w = image_size(record.image)
    return {
        "key": record.key,
        "image": str(record.image),
        "file": pseudo_file(record),
        "height": h,
        "width": w,
        "sha256": file_sha256(record.image),
    }


def write_manifest(
    folder: Path, teacher: dict[str, str], images: list[dict], settings: dict[str, Any]
) -> dict[str, Any]:
    manifest = {"format": FORMAT, "teacher": teacher, "settings": settings, "images": images}
    write_json(folder / MANIFEST, manifest)
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise FNCError(
            f"{folder}: no {MANIFEST}; not a (complete) pseudo-label folder "
            "(write one with `fncssl pseudolabel CHECKPOINT --out DIR`)"
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FNCError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FNCError(f"{path}: not a {FORMAT} manifest")
    return manifest


def check_manifest(
    folder: Path, records: list[ImageRecord], teacher: dict[str, str] | None = None
) -> dict[str, Any]:
    """The manifest, after checking it covers exactly ``records`` (and ``teacher``, if given)."""
    manifest = read_manifest(folder)
    if teacher is not None:
        had = manifest["teacher"]
        if (had.get("id"), had.get("config_hash")) != (teacher["id"], teacher["config_hash"]):
            raise FNCError(
                f"{folder} was labelled by another teacher ({had.get('checkpoint')}, id "
                f"{had.get('id')}) than semisup.teacher ({teacher['checkpoint']}, id "
                f"{teacher['id']}); use a new semisup.pseudo_dir"
            )
    listed = {e["key"]: e for e in manifest["images"]}
    wanted = {r.key: r for r in records}
    missing, extra = sorted(set(wanted) - set(listed)), sorted(set(listed) - set(wanted))
    if missing or extra:
        raise FNCError(
            f"{folder} was made for another image set: {len(missing)} image(s) missing "
            f"(e.g. {missing[:2]}), {len(extra)} unexpected (e.g. {extra[:2]}); a student "
            "expects the unlabelled images of data.collections (semisup.max_unlabelled) plus, "
            "with semisup.unlabelled_pool, its training pool outside the label subset"
        )
    for key, rec in wanted.items():
        entry, now = listed[key], image_entry(rec)
        for field in ("height", "width", "sha256"):
            if entry[field] != now[field]:
                raise FNCError(
                    f"{folder}: {key} differs from the image it was made from "
                    f"({field} {entry[field]} vs {now[field]} for {rec.image})"
                )
        if not (folder / entry["file"]).is_file():
            raise FNCError(f"{folder}: pseudo-label file {entry['file']} is missing")
    return manifest
