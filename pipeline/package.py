"""Write `datapackage.json` (Data Package v2) for a folder of tables.

`version` and `created` are carried over from the existing descriptor: only a release
changes them, so rebuilding the data gives a byte-identical descriptor.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.atomic import write_text
from pipeline.paths import TABLES
from pipeline.tables import load_schema

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
NAME = "ai-openness-events"
FIRST_VERSION = "0.1.0"

METADATA: dict[str, Any] = {
    "name": NAME,
    "title": "AI openness events",
    "description": (
        "Who opened or closed which AI model, when, under what licence and according to "
        "which article: entities (organizations, people, models, licences) and dated events "
        "(releases, announcements, access changes, funding, statements) extracted from "
        "Japanese news articles with Japanese NLP, every row traceable to a sentence."
    ),
    "homepage": "https://github.com/ai-openness-events/ai-openness-events",
    "keywords": ["AI", "open weights", "open source", "LLM", "events", "Japanese", "NLP"],
    "licenses": [
        {
            "name": "CC-BY-4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Attribution 4.0",
        }
    ],
    "contributors": [{"title": "ai-openness-events contributors", "roles": ["creator"]}],
}


def file_sha256(path: Path) -> str:
    """Read in blocks: a table is never held whole for its hash (39 MB of mentions at
    8,000 articles)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_hash(path: Path) -> str:
    """A resource's `hash` as Data Package v2 spells it."""
    return "sha256:" + file_sha256(path)


def _resource(folder: Path, name: str) -> dict[str, Any]:
    schema = load_schema(name, folder / "schemas")
    path = folder / "data" / f"{name}.csv"
    return {
        "name": name,
        "type": "table",
        "title": schema.get("title", name),
        "description": schema.get("description", ""),
        "path": f"data/{name}.csv",
        "scheme": "file",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": f"schemas/{name}.json",
        "hash": file_hash(path),
        "bytes": path.stat().st_size,
    }


class PackageError(Exception):
    """A table the descriptor is written from cannot be read; the message names it."""


def _sources(folder: Path) -> list[dict[str, str]]:
    """The articles as the descriptor's `sources`, read a row at a time (pandas' reader
    kept 30 MB for 8,000 rows)."""
    path = folder / "data" / "sources.csv"
    out: list[dict[str, str]] = []
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, strict=True)
            if reader.fieldnames is None:
                raise PackageError(f"{path}: cannot be read as CSV: the file is empty")
            missing = {"publisher", "title", "url"} - set(reader.fieldnames)
            if missing:
                raise PackageError(f"{path}: row 1 (header): missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                if None in row or None in row.values():
                    raise PackageError(f"{path}: row {reader.line_num}: {len(reader.fieldnames)} cells expected")
                title = f"{row['publisher']}: {row['title']}"
                out.append({"title": title, "path": row["url"]} if row["url"] else {"title": title})
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        raise PackageError(f"{path}: cannot be read as CSV: {err}") from None
    return out


def read_descriptor(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_descriptor(folder: Path, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The descriptor for `folder` (holding data/ and schemas/), keeping version and created."""
    previous = previous or {}
    created = previous.get("created") or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "$schema": PROFILE,
        **METADATA,
        "version": previous.get("version", FIRST_VERSION),
        "created": created,
        "sources": _sources(folder),
        "resources": [_resource(folder, name) for name in TABLES if (folder / "data" / f"{name}.csv").exists()],
    }


def render_descriptor(descriptor: dict[str, Any]) -> str:
    return json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"


def write_descriptor(folder: Path, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    descriptor = build_descriptor(folder, previous)
    write_text(Path(folder) / "datapackage.json", render_descriptor(descriptor))
    return descriptor
