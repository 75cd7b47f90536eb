"""Reading a package's CSV files strictly, and the problems found in them.

Each CSV is read as UTF-8 without BOM, with `\\n` line ends and as many fields per row
as the header, so a hand-edited file is reported row by row instead of failing as a
whole. Regular files (one record per line, RFC 4180 quoting) are parsed by pyarrow,
anything else by Python's `csv`, which reads both alike.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv

UTF8_BOM = b"\xef\xbb\xbf"


# A record on one line whose every field is bare (no `"`) or fully quoted (`""` inside):
# Python's csv and pyarrow read such lines alike.
# Matched on UTF-8 bytes: no character but these ASCII ones encodes to their bytes.
_FIELD = rb'(?:[^",\n]*|"(?:[^"\n]|"")*")'
REGULAR_LINE = re.compile(rb"%b(?:,%b)*" % (_FIELD, _FIELD))


@dataclass(frozen=True)
class Problem:
    layer: str  # package, csv, frictionless, pandera, corpus, spreadsheet
    table: str  # resource name, or "" for the package itself
    row: int | None  # CSV row, header = 1
    field: str | None
    value: str | None
    check: str
    message: str

    def line(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"row {self.row}" if self.row is not None else "",
                f"field {self.field}" if self.field else "",
                f"value {self.value!r}" if self.value is not None else "",
            )
            if part
        )
        return f"  {where or 'table'}: {self.message} [{self.layer}: {self.check}]"


def _row_of(text: str) -> tuple[int, int]:
    """(CSV row, field index) of the position just after `text`, a prefix of a file."""
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records or text.endswith(("\n", "\r")):
        return len(records) + 1, 0
    return len(records), max(len(records[-1]) - 1, 0)


def _header_of(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return []


def read_csv_strict(table: str, raw: bytes) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A CSV's cells as strings (empty = missing), indexed by CSV row - 2, and its faults.

    The frame is None when the file has no usable header; otherwise rows with too many or
    too few fields are cut or padded so every other check still runs.
    """
    frame = read_clean(raw)
    if frame is not None:  # the common case: no text made of the whole file
        return frame, []
    problems: list[Problem] = []

    def bad(row: int | None, field_name: str | None, value: str | None, check: str, message: str) -> None:
        problems.append(Problem("csv", table, row, field_name, value, check, message))

    if raw.startswith(UTF8_BOM):
        bad(1, None, None, "bom", "file starts with a UTF-8 byte order mark: save as UTF-8 without BOM")
        raw = raw[len(UTF8_BOM) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        row, column = _row_of(raw[: err.start].decode("utf-8"))
        header = _header_of(raw.decode("utf-8", errors="replace"))
        name = header[column] if row > 1 and column < len(header) else None
        bad(row, name, repr(raw[err.start : err.start + 4]), "encoding", f"not UTF-8: byte {err.start} cannot be decoded")
        text = raw.decode("utf-8", errors="replace")
    if "\r" in text:
        bad(_row_of(text[: text.index("\r")])[0], None, None, "line_end", "line ends must be \\n, not \\r\\n or \\r")
    try:
        with _collector_paused():
            records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        bad(None, None, None, "csv_syntax", f"not a readable CSV: {err}")
        return None, problems
    if not records or not any(records[0]):
        bad(1, None, None, "header", "no header row")
        return None, problems
    header = records[0]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        for name in duplicated:
            bad(1, name, None, "header", "column appears more than once in the header")
        return None, problems
    rows, numbers = [], []
    for number, record in enumerate(records[1:], start=2):
        if not record:
            bad(number, None, None, "blank_row", "blank row")
            continue
        if len(record) > len(header):
            bad(number, None, ",".join(record[len(header) :]), "extra_fields", f"{len(record)} fields, the header has {len(header)}")
        elif len(record) < len(header):
            bad(number, header[len(record)], None, "missing_fields", f"{len(record)} fields, the header has {len(header)}")
        rows.append((record + [""] * len(header))[: len(header)])
        numbers.append(number - 2)
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(numbers, dtype="int64"), dtype="str")
    return frame.mask(frame == ""), problems


def read_clean(raw: bytes) -> pd.DataFrame | None:
    """The frame of `raw` when reading it finds nothing to report (no BOM, `\\n` line
    ends, UTF-8, regular, parsed by pyarrow); None otherwise (`read_csv_strict` says why)."""
    if raw.startswith(UTF8_BOM) or b"\r" in raw or not _is_utf8(raw):
        return None
    return _read_regular(raw)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while millions of (acyclic) row lists are made:
    each collection would walk all of them, which triples the time to read a big CSV."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_utf8(raw: bytes, block: int = 1 << 20) -> bool:
    """Whether `raw` is UTF-8, decoded a block at a time: never the whole file as one
    text (mentions at 8,000 articles: 39 MB of bytes, a 70 MB str)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for start in range(0, len(view), block):
            decoder.decode(view[start : start + block])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _regular(raw: bytes) -> bool:
    """One record per line, no blank line, quoting as RFC 4180: both parsers agree."""
    if not raw or raw.startswith(b"\n") or b"\n\n" in raw:
        return False
    quote = raw.find(b'"')
    while quote >= 0:  # only the lines with a quote: found without splitting the file into lines
        start, end = raw.rfind(b"\n", 0, quote) + 1, raw.find(b"\n", quote)
        end = len(raw) if end < 0 else end
        if not REGULAR_LINE.fullmatch(raw, start, end):
            return False
        quote = raw.find(b'"', end)
    return True


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # what `astype("str")` gives
# Reading a package's tables, single-threaded, from the system allocator: arrow's
# default pool (mimalloc) keeps what its reader threads freed, ~twice the frames' size.
_POOL = pyarrow.system_memory_pool()


def _read_regular(raw: bytes) -> pd.DataFrame | None:
    """The frame `csv.reader` would give of UTF-8 `raw`, parsed by pyarrow; None when
    the file is not regular or not rectangular (the row-by-row reader then says where
    and why)."""
    if not _regular(raw):
        return None
    end = raw.find(b"\n")
    header = _header_of((raw if end < 0 else raw[:end]).decode("utf-8"))
    if not all(header) or len(set(header)) != len(header):
        return None
    try:
        table = pyarrow.csv.read_csv(
            io.BytesIO(raw),
            read_options=pyarrow.csv.ReadOptions(column_names=header, skip_rows=1, use_threads=False),
            parse_options=pyarrow.csv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pyarrow.csv.ConvertOptions(
                column_types={name: pyarrow.string() for name in header}, null_values=[""], strings_can_be_null=True
            ),
            memory_pool=_POOL,
        )
    except pyarrow.ArrowInvalid:
        return None
    # straight into pandas' "str" dtype (arrow storage): no Python string per cell on the way
    frame = table.to_pandas(types_mapper={pyarrow.string(): _STR}.get, memory_pool=_POOL)
    frame.index = pd.Index(np.arange(len(frame)), dtype="int64")
    return frame
