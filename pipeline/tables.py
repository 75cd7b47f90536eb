"""Deterministic CSV tables written from the Table Schemas.

Column order comes from the schema, rows are sorted by the primary key (integers as
numbers), line ends are `\\n`, and values are formatted one way only, so rebuilding the
same data gives byte-identical files and git diffs show real changes only.
"""

from __future__ import annotations

import csv
import io
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from pipeline.paths import SCHEMAS


@lru_cache(maxsize=None)
def _load_schema(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_schema(name: str, schemas_dir: Path = SCHEMAS) -> dict[str, Any]:
    """A Table Schema from `schemas/<name>.json` (a fresh copy each call)."""
    return json.loads(_load_schema(str(Path(schemas_dir) / f"{name}.json")))


def field_names(schema: Mapping[str, Any]) -> list[str]:
    return [f["name"] for f in schema["fields"]]


def format_value(value: Any) -> str:
    """One spelling per value: empty for missing, true/false, integers without `.0`."""
    kind = type(value)  # the common cases first: this runs for every cell
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _sort_key(schema: Mapping[str, Any]):
    types = {f["name"]: f["type"] for f in schema["fields"]}
    keys = schema.get("primaryKey") or field_names(schema)

    def key(row: Mapping[str, Any]) -> tuple:
        out = []
        for name in keys:
            value = row.get(name)
            if types[name] in ("integer", "number"):
                out.append((0, float(value)) if value not in (None, "") else (1, 0.0))
            else:
                out.append(format_value(value))
        return tuple(out)

    return key


_PLAIN = (str, int)


def render_csv(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> str:
    """The CSV text of a table: header from the schema, rows sorted by primary key."""
    names = field_names(schema)
    known = set(names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in sorted(rows, key=_sort_key(schema)):
        if not known.issuperset(row):
            raise ValueError(f"{schema.get('title', '?')}: columns not in the schema: {sorted(set(row) - known)}")
        # csv writes str and int cells as format_value would: only the others go through it
        writer.writerow([v if type(v) in _PLAIN else format_value(v) for v in map(row.get, names)])
    return buffer.getvalue()


def write_table(path: Path, rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> None:
    Path(path).write_text(render_csv(rows, schema), encoding="utf-8", newline="")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV as strings, empty cells as missing: typing is the validator's job."""
    return pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
    )
