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
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Mapping

from pipeline.paths import SCHEMAS

if TYPE_CHECKING:
    import pandas as pd


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
    if kind is float:
        return "" if math.isnan(value) else str(int(value)) if value.is_integer() else repr(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    pandas = sys.modules.get("pandas")  # not imported: no value can be its NA (workers need not load it)
    if pandas is not None and (value is pandas.NA or value is pandas.NaT):
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
    keys = [(name, types[name] in ("integer", "number")) for name in schema.get("primaryKey") or field_names(schema)]

    def key(row: Mapping[str, Any]) -> tuple:
        out = []
        for name, numeric in keys:
            value = row.get(name)
            if numeric:
                out.append((0, float(value)) if value not in (None, "") else (1, 0.0))
            else:
                out.append(value if type(value) is str else format_value(value))
        return tuple(out)

    return key


_PLAIN = (str, int)


def _render_rows(writer: Any, ordered: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> None:
    """Rows already in primary-key order, as CSV lines."""
    names = field_names(schema)
    known = set(names)
    for row in ordered:
        if not known.issuperset(row):
            raise ValueError(f"{schema.get('title', '?')}: columns not in the schema: {sorted(set(row) - known)}")
        # csv writes str and int cells as format_value would: only the others go through it
        writer.writerow([v if type(v) in _PLAIN else format_value(v) for v in map(row.get, names)])


def _write_csv(out: BinaryIO, rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> None:
    """Header and rows to `out` as UTF-8, a run at a time where the rows come rendered:
    the table is never held whole as text (at 8,000 articles, joining the mentions'
    runs and encoding them took 145 MB more than the build held)."""
    runs = rows.in_order(schema) if isinstance(rows, RenderedTable) else None
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(field_names(schema))
    if runs is None:
        ordered = _checked_order(rows, schema) if isinstance(rows, OrderedRows) else sorted(rows, key=_sort_key(schema))
        _render_rows(writer, ordered, schema)
    text.flush()
    text.detach()
    for run in runs or ():
        out.write(run.data())


def _checked_order(rows: OrderedRows, schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """`rows` as they come, refused (ValueError) where they break key order or their count."""
    key = _sort_key(schema)
    last, count = None, 0
    for row in rows:
        at = key(row)
        if last is not None and at <= last:
            raise ValueError(f"{schema.get('title', '?')}: a row keyed {at} comes after {last}")
        last, count = at, count + 1
        yield row
    if count != len(rows):
        raise ValueError(f"{schema.get('title', '?')}: {count} rows made, {len(rows)} announced")


def render_csv(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> str:
    """The CSV text of a table: header from the schema, rows sorted by primary key."""
    buffer = io.BytesIO()
    _write_csv(buffer, rows, schema)
    return buffer.getvalue().decode("utf-8")


@lru_cache(maxsize=None)
def _layout_of(fields: tuple[tuple[str, str], ...], key: tuple[str, ...]) -> str:
    return json.dumps({"fields": fields, "key": key}, separators=(",", ":"))


def layout(schema: Mapping[str, Any]) -> str:
    """What the rendering of a row depends on in a schema: column names and types, and
    the primary key (the row order)."""
    fields = tuple((f["name"], f["type"]) for f in schema["fields"])
    return _layout_of(fields, tuple(schema.get("primaryKey") or field_names(schema)))


@lru_cache(maxsize=None)
def _parsers(layout: str) -> list[tuple[str, Any]]:
    """Per column: its name and what turns its CSV text back into the value written."""
    by_type = {"integer": int, "number": float, "boolean": lambda text: text == "true"}
    return [(name, by_type.get(kind, str)) for name, kind in json.loads(layout)["fields"]]


class _Run:
    """What every run of rendered rows offers; each kind gives `text`, `layout` and `count`."""

    def __len__(self) -> int:
        return self.count

    def data(self) -> bytes:
        """The rows' CSV lines as written to the file."""
        return self.text.encode("utf-8")

    def rows(self) -> list[dict[str, Any]]:
        """The rows back as dicts, typed by the layout (empty cells as None)."""
        parsers = _parsers(self.layout)
        return [
            {name: parse(cell) if cell != "" else None for (name, parse), cell in zip(parsers, record)}
            for record in csv.reader(io.StringIO(self.text))
        ]


@dataclass(frozen=True)
class RenderedRun(_Run):
    """Rows of one table already rendered as CSV lines, in primary-key order, and the
    `layout` they were rendered for. An article's mentions travel like this from the
    worker that found them, through the cache, into the file: a build neither rebuilds
    them as objects (114,000 at 2,000 articles) nor renders them again. `first` and
    `last` are the sort keys of its first and last rows."""

    layout: str
    text: str
    count: int
    first: tuple | None
    last: tuple | None


class Spool:
    """An unnamed temporary file that holds rendered runs (`keep`) or other records
    (`put`: the reports' evidence, `events.Reports`) until their table is written, so
    that a build does not keep every article's mention rows in memory while it merges
    (72 MB of text at 8,000 articles). The file goes when the spool and what refers to
    it are gone; positioned reads, so a forked child can read it too."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="aoe-runs-")
        self._size = 0

    def put(self, data: bytes) -> int:
        """Append `data`; the offset it starts at."""
        self._file.write(data)
        self._size += len(data)
        return self._size - len(data)

    def keep(self, run: RenderedRun) -> SpooledRun:
        data = run.data()
        layout = sys.intern(run.layout)  # one for every run of a table, not one an article (2 MB at 8,000 articles)
        return SpooledRun(layout, run.count, run.first, run.last, self, self.put(data), len(data))

    def flush(self) -> None:
        """Hand what is buffered to the file: a child forked after this reads it all and
        has nothing of its own to write."""
        self._file.flush()

    def read(self, offset: int, size: int) -> bytes:
        self.flush()
        return os.pread(self._file.fileno(), size, offset)


@dataclass(frozen=True)
class SpooledRun(_Run):
    """A `RenderedRun` whose lines wait in a `Spool`: the same rows, read back on demand."""

    layout: str
    count: int
    first: tuple | None
    last: tuple | None
    spool: Spool
    offset: int
    size: int

    def data(self) -> bytes:
        return self.spool.read(self.offset, self.size)

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.data().decode("utf-8")

    def __deepcopy__(self, memo: dict) -> SpooledRun:
        return self  # what it reads is never written again: a copy would read the same

    def __reduce__(self) -> tuple:
        return RenderedRun, (self.layout, self.text, self.count, self.first, self.last)  # the spool stays here


def render_run(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> RenderedRun:
    """Some rows of a table as a `RenderedRun` (sorted as `render_csv` sorts them)."""
    key = _sort_key(schema)
    ordered = sorted(rows, key=key)
    buffer = io.StringIO()
    _render_rows(csv.writer(buffer, lineterminator="\n"), ordered, schema)
    ends = (key(ordered[0]), key(ordered[-1])) if ordered else (None, None)
    return RenderedRun(layout(schema), buffer.getvalue(), len(ordered), *ends)


class RenderedTable:
    """A table made of rendered runs (an article's rows each). It iterates as row dicts
    like any table; `render_csv` and `write_table` join its runs when that gives the
    sorted table (each rendered for the schema, their key ranges one after another),
    else render its rows: the same bytes either way."""

    def __init__(self, runs: Iterable[RenderedRun | SpooledRun]):
        self.runs = [run for run in runs if run.count]

    def __len__(self) -> int:
        return sum(run.count for run in self.runs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for run in self.runs:
            yield from run.rows()

    def in_order(self, schema: Mapping[str, Any]) -> list[RenderedRun | SpooledRun] | None:
        """The runs in key order, or None when joining them would not give the sorted table."""
        wanted = layout(schema)
        if any(run.layout != wanted for run in self.runs):
            return None
        ordered = sorted(self.runs, key=lambda run: run.first)
        if any(before.last >= after.first for before, after in zip(ordered, ordered[1:])):
            return None
        return ordered


class OrderedRows:
    """A table's rows made on demand, in primary-key order, by `make(*args)`, and how
    many it makes: a table written straight from what it is made of (the event tables
    from the merged events) is never held whole, and `write_tables` can render it in a
    forked child beside the others. Writing checks the order and the count. It is
    read-only: a deep copy shares it; a pickle carries its rows."""

    def __init__(self, make: Callable[..., Iterable[Mapping[str, Any]]], args: tuple, count: int):
        self.make, self.args, self.count = make, args, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.make(*self.args))

    def __deepcopy__(self, memo: dict) -> OrderedRows:
        return self

    def __reduce__(self) -> tuple:
        return list, (list(self),)


def write_table(path: Path, rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> None:
    """`render_csv`'s text, written to `path` as it is made."""
    with open(path, "wb") as out:
        _write_csv(out, rows, schema)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV as strings, empty cells as missing: typing is the validator's job."""
    import pandas as pd

    return pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
    )
