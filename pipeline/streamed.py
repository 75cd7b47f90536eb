"""Validating a large table a block of lines at a time, so that validation's memory
does not grow with the table.

Reading a whole table (its bytes, pyarrow's parse, the frame, the typed frame and the
checks' columns) costs several times its size: at 8,000 articles, mentions (38 MB of
CSV) took validation from 191 to 341 MB. A table is streamed instead when it is larger
than one block (`BLOCK_BYTES`) and nothing else needs its rows whole (`streamable`):
no table's foreign key points at it, none of its checks compares rows, frictionless
reads none of its rows, no record vouches for its lines (`pipeline.validated`, which
compares whole files) and the article bodies are at hand.

Each block is read, typed and checked exactly as the whole table would be: a row
check's verdict depends only on its row, its article and the other tables, which are
held whole. Each block starts with the last line of the block before, so the primary
key's order and uniqueness are also checked where two blocks meet; rows in key order
with no key equal to its neighbour's have no repeated key.

Streaming only vouches for a clean table. At its first finding of any kind (a reading
fault, a failed check, a check skipped for a missing column, rows out of order) it
stops and the table is validated whole, as before: a faulty table is reported exactly
as it always was. Of a streamed table, what the other tables' checks read (an entity's
mentions, an event's evidence: the columns they declare, `checks.check(reads=…)`) is
kept for every row, as categoricals (a few bytes a row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, Mapping

import numpy as np
import pandas as pd
import pandera.errors
from pandas.api.types import union_categoricals

from pipeline.allocation import release_free_memory
from pipeline.checks import Finding, compares_rows_in, formula_cells, read_elsewhere, semantic_checks, unsorted_rows
from pipeline.csvread import read_clean
from pipeline.schemas import canonical_keys, dataframe_schema, foreign_key_checks, typed_frame

# Lines read at a time (whole lines: a block ends at its last line end). mentions at
# 2,000 articles are 9.6 MB: ten blocks.
BLOCK_BYTES = 1 << 20


def streamable(name: str, schemas: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the table's checks can all be run a block at a time: no foreign key
    refers to it, and none of its checks compares rows."""
    referred = any(
        fk.get("reference", {}).get("resource") == name
        for schema in schemas.values()
        for fk in schema.get("foreignKeys", [])
    )
    return not referred and not compares_rows_in(name)


def beyond_a_block(path: Path) -> bool:
    """Larger than one block."""
    try:
        return path.stat().st_size > BLOCK_BYTES
    except OSError:
        return False


@dataclass(frozen=True)
class Streamed:
    """A streamed table found clean: what the rest of validation needs of it."""

    kept: pd.DataFrame  # the columns other tables' checks read (`checks.read_elsewhere`), every row, as categoricals
    warnings: list[Finding]  # its formula cells, as `formula_cells` finds them


def _line_blocks(handle: IO[bytes]) -> Iterator[bytes]:
    """The rest of `handle`, `BLOCK_BYTES` at a time, each cut after its last line end."""
    rest = b""
    while chunk := handle.read(BLOCK_BYTES):
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        rest = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if rest:
        yield rest


def _last_line(block: bytes) -> bytes:
    return block[block.rfind(b"\n", 0, len(block) - 1) + 1 :]


def certify(
    name: str,
    path: Path,
    schema: Mapping[str, Any],
    frames: Mapping[str, pd.DataFrame],
    typed: Mapping[str, pd.DataFrame],
    bodies: Mapping[str, str],
) -> Streamed | None:
    """The table in `path` checked a block at a time against the other tables (as
    read, `frames`, and typed, `typed`); None at the first thing found: the table is
    then to be validated whole."""
    others = [table for table in typed if table != name]
    kept: dict[str, list[pd.Categorical]] = {column: [] for column in read_elsewhere(name)}
    warnings: list[Finding] = []
    foreign_keys = foreign_key_checks(schema, frames)  # the same for every block
    with open(path, "rb") as handle:
        header = handle.readline()
        if not header.endswith(b"\n"):
            return None
        row, above = 0, b""  # the next line's row (CSV row - 2), the line above it
        for block in _line_blocks(handle):
            overlap = 1 if above else 0
            frame = read_clean(header + above + block)
            lines = block.count(b"\n") + (not block.endswith(b"\n"))
            if frame is None or len(frame) != lines + overlap:
                return None
            frame.index = pd.Index(np.arange(len(frame)) + row - overlap, dtype="int64")
            on_rows, _, skipped = semantic_checks({**typed, name: typed_frame(frame, schema)}, bodies, elsewhere=others)
            if skipped:
                return None
            checks = {f: list(on_rows.get(name, {}).get(f, [])) for f in frame.columns}  # none compares rows
            for column, fk_checks in foreign_keys.items():
                checks.setdefault(column, []).extend(fk_checks)
            try:
                dataframe_schema(name, schema, checks).validate(canonical_keys(frame, schema), lazy=True, inplace=True)
            except pandera.errors.SchemaErrors:
                return None
            if unsorted_rows(frame, schema):
                return None
            own = frame.iloc[overlap:]
            warnings.extend(formula_cells(own, schema))
            for column, parts in kept.items():
                parts.append(pd.Categorical(own[column]))
            row += lines
            above = _last_line(block)
            del frame, own
            release_free_memory()
    index = pd.Index(np.arange(row), dtype="int64")
    columns = {c: pd.Series(union_categoricals(parts) if parts else pd.Categorical([]), index=index) for c, parts in kept.items()}
    return Streamed(pd.DataFrame(columns, index=index), warnings)
