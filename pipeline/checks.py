"""Checks that frictionless cannot express, as named pandera checks by table and field.

Each check closes over the typed tables (and the article bodies when the corpus is
available) and returns one boolean per row of its table, so a failure names the CSV row
and the field to fix. Checks that need the bodies are listed as skipped without them.

Every check runs once over whole columns, never row by row through `DataFrame.apply`:
pandas/numpy operations where the test is arithmetic or string equality, and a list
comprehension over the column's cells where Python must look at each value (slicing an
article body, parsing an EDTF date: once per distinct value, splitting a quote into
sentences: only quotes with a sentence end before their closing characters). That keeps
a package with a million mention rows to seconds.

Two whole-table checks on the raw cells follow: rows in primary-key order (an error:
rebuilds must be byte-identical) and cells a spreadsheet would run as formulas (a
warning: the cell is true to the article, so it is never rewritten).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from pipeline.corpus import body_sha256
from pipeline.dates import parse_edtf
from pipeline.schemas import distinct, isin, row_blocks, text_array
from pipeline.text import CLOSERS, ENDERS, split_sentences

Frames = Mapping[str, pd.DataFrame]
RowTest = Callable[[Frames], pd.Series]

# (table, field, check name, message, needs bodies, compares rows, test)
_CHECKS: list[tuple[str, str, str, str, bool, bool, Callable[..., pd.Series]]] = []
# table -> its columns that checks of other tables read
_READ: defaultdict[str, set[str]] = defaultdict(set)


def check(
    table: str,
    field: str,
    name: str,
    message: str,
    needs_bodies: bool = False,
    compares_rows: bool = False,
    reads: Sequence[str] = (),
):
    """Register a row-level check of `table` reported on `field`.

    By default a check's verdict on a row depends only on that row, its article's text
    and its article's `sources` row, so incremental validation (`pipeline.validated`)
    may skip rows it vouches for; `compares_rows`: it looks at other rows or tables
    too (an id that must be used elsewhere), so it always runs on every row. `reads`:
    the `table.column`s of other tables it reads (a table checked a block at a time
    keeps only those whole, `pipeline.streamed`).
    """

    def register(fn: Callable[..., pd.Series]) -> Callable[..., pd.Series]:
        _CHECKS.append((table, field, name, message, needs_bodies, compares_rows, fn))
        for other_column in reads:
            other, column = other_column.split(".")
            _READ[other].add(column)
        return fn

    return register


def _cells(column: pd.Series) -> np.ndarray:
    """A column's cells as Python objects, missing ones as None (for comprehensions)."""
    return column.to_numpy(dtype=object, na_value=None)


def _zipped(frame: pd.DataFrame, names: Sequence[str]) -> Iterator[tuple]:
    """The cells of columns `names`, row by row (as `zip` of their `_cells`), made a
    block of rows at a time."""
    for _, part in row_blocks(frame):
        yield from zip(*(_cells(part[name]) for name in names))


def _by_blocks(frame: pd.DataFrame, test: Callable[[pd.DataFrame], pd.Series]) -> pd.Series:
    """`test` over `frame` a block of rows at a time: the columns it makes on the way
    (text joined, copies) are a block's, not the table's (at 452,188 mentions, 25 MB
    less for the mention id check)."""
    parts = [test(part) for _, part in row_blocks(frame)]
    if not parts:  # no rows: the test's own empty result
        return test(frame)
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def _per_row(frame: pd.DataFrame, results: Iterable[bool]) -> pd.Series:
    """One boolean per row of `frame`, from a comprehension over its cells."""
    return pd.Series(np.fromiter(results, dtype=bool, count=len(frame)), index=frame.index)


def _numbers(column: pd.Series) -> np.ndarray:
    """Cells as floats, missing (or not numeric) as NaN: offsets stay exact below 2**53."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _edtf_bounds(value: Any) -> tuple | None:
    try:
        parsed = parse_edtf(str(value))
    except ValueError:
        return None
    return parsed.start, parsed.end, parsed.precision


def _edtf_table(values: Iterable[Any]) -> dict[Any, tuple | None]:
    """(start, end, precision) of each distinct date in `values`, None when invalid."""
    return {value: _edtf_bounds(value) for value in set(values) if value is not None}


def _edtf_valid(frame: pd.DataFrame, column: str) -> pd.Series:
    bounds = _edtf_table(distinct(frame[column]))
    return _per_row(frame, (v is None or bounds[v] is not None for (v,) in _zipped(frame, (column,))))


# --- sources ---------------------------------------------------------------


@check("sources", "published", "edtf", "not a valid EDTF date")
def _published_edtf(t: Frames) -> pd.Series:
    return _edtf_valid(t["sources"], "published")


@check("sources", "source_id", "article_in_corpus", "no article with this id in the corpus", True)
def _source_in_corpus(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
    return isin(t["sources"]["source_id"], bodies) | t["sources"]["source_id"].isna()


@check("sources", "text_sha256", "text_hash", "does not match the sha256 of the corpus article", True)
def _text_hash(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
    s = t["sources"]
    return _per_row(
        s,
        (sid not in bodies or body_sha256(bodies[sid]) == sha for sid, sha in _zipped(s, ("source_id", "text_sha256"))),
    )


@check("sources", "char_count", "char_count", "differs from the length of the corpus article", True)
def _char_count(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
    s = t["sources"]
    return _per_row(
        s,
        (sid not in bodies or n is None or len(bodies[sid]) == n for sid, n in _zipped(s, ("source_id", "char_count"))),
    )


# --- entities --------------------------------------------------------------


@check("entities", "entity_id", "type_prefix", "the `<type>:` prefix differs from the type column")
def _type_prefix(t: Frames) -> pd.Series:
    e = t["entities"]
    return _per_row(
        e,
        (eid is None or kind is None or eid.split(":", 1)[0] == kind for eid, kind in _zipped(e, ("entity_id", "type"))),
    )


@check("entities", "entity_id", "has_mention", "entity has no mention in any article", compares_rows=True, reads=["mentions.entity_id"])
def _has_mention(t: Frames) -> pd.Series:
    return isin(t["entities"]["entity_id"], distinct(t["mentions"]["entity_id"]))


# --- spans (mentions and evidence) ------------------------------------------


def _span_in_bounds(table: str) -> RowTest:
    def test(t: Frames) -> pd.Series:
        sources = t["sources"]
        # each row's source by its position in sources, in C (`map` made every id an object);
        # looked up from the end, so that a repeated source id gives its last row's count
        ids = text_array(sources["source_id"])[::-1]
        counts = np.append(_numbers(sources["char_count"])[::-1], np.nan)  # the last: no such source

        def in_bounds(frame: pd.DataFrame) -> pd.Series:
            start, end = _numbers(frame["start"]), _numbers(frame["end"])
            at = pc.index_in(text_array(frame["source_id"]), value_set=ids, skip_nulls=True)
            limit = counts[at.fill_null(len(sources)).to_numpy(zero_copy_only=False)]  # NaN: unknown source or no count
            ok = np.isnan(start) | np.isnan(end) | ((start < end) & (np.isnan(limit) | (end <= limit)))
            return pd.Series(ok, index=frame.index)

        return _by_blocks(t[table], in_bounds)

    return test


def _span_text(table: str, column: str) -> Callable[[Frames, Mapping[str, str]], pd.Series]:
    def test(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
        frame = t[table]

        def same(source_id: Any, start: Any, end: Any, text: Any) -> bool:
            body = bodies.get(source_id)
            return body is None or start is None or end is None or body[start:end] == text

        # article by article (evidence is in event order): a body read from disk once
        # per article, not per row (`pipeline.texts.SpooledTexts`)
        order = np.argsort(pd.factorize(frame["source_id"])[0], kind="stable")
        rows = frame[["source_id", "start", "end", column]].iloc[order]
        ok = np.empty(len(frame), dtype=bool)
        ok[order] = np.fromiter((same(*row) for row in _zipped(rows, rows.columns)), dtype=bool, count=len(rows))
        return pd.Series(ok, index=frame.index)

    return test


_IN_SOURCES = ["sources.source_id", "sources.char_count"]
check("mentions", "end", "span_in_bounds", "start must be < end <= the article's char_count", reads=_IN_SOURCES)(
    _span_in_bounds("mentions")
)
check("event_evidence", "end", "span_in_bounds", "start must be < end <= the article's char_count", reads=_IN_SOURCES)(
    _span_in_bounds("event_evidence")
)
check("mentions", "surface", "span_text", "differs from body[start:end] of the article", True)(
    _span_text("mentions", "surface")
)
check("event_evidence", "quote", "span_text", "differs from body[start:end] of the article", True)(
    _span_text("event_evidence", "quote")
)


@check("mentions", "mention_id", "mention_id_form", "must be `<source_id>:<start>-<end>` of its row")
def _mention_id(t: Frames) -> pd.Series:
    return _by_blocks(t["mentions"], _mention_id_in)


def _mention_id_in(m: pd.DataFrame) -> pd.Series:
    parts = [m[name].astype("string") for name in ("source_id", "start", "end")]
    expected = parts[0] + ":" + parts[1] + "-" + parts[2]
    incomplete = parts[0].isna() | parts[1].isna() | parts[2].isna()
    return (incomplete | (expected == m["mention_id"].astype("string")).fillna(False)).astype(bool)


# A quote may span two sentences only if 。！？ or a line break occurs before its closing
# run of enders and brackets; only those quotes go through the sentence splitter.
_TRAILING = "".join(sorted(ENDERS | CLOSERS))
_INNER_BREAK = "[" + re.escape("".join(sorted(ENDERS))) + "\n]"


@check("event_evidence", "quote", "one_sentence", "an evidence quote is at most one sentence (no line break, one 。！？ end)")
def _one_sentence(t: Frames) -> pd.Series:
    return _by_blocks(t["event_evidence"], _one_sentence_in)


def _one_sentence_in(evidence: pd.DataFrame) -> pd.Series:
    quote = evidence["quote"].astype("string")
    suspect = quote.str.rstrip(_TRAILING).str.contains(_INNER_BREAK, regex=True).fillna(False).astype(bool)
    ok = pd.Series(True, index=quote.index)
    if suspect.any():
        ok[suspect] = [len(split_sentences(text)) <= 1 for text in _cells(quote[suspect])]
    return ok


@check("event_evidence", "date_text", "date_text_in_quote", "the date expression does not occur in the quote")
def _date_text_in_quote(t: Frames) -> pd.Series:
    e = t["event_evidence"]
    return _per_row(
        e, (d is None or (q is not None and d in q) for d, q in _zipped(e, ("date_text", "quote")))
    )


# --- events ----------------------------------------------------------------


@check("events", "date", "edtf", "not a valid EDTF date")
def _date_edtf(t: Frames) -> pd.Series:
    return _edtf_valid(t["events"], "date")


def _bound_matches(position: int, column: str) -> RowTest:
    def test(t: Frames) -> pd.Series:
        e = t["events"]
        bounds = _edtf_table(distinct(e["date"]))

        def ok(date: Any, value: Any) -> bool:
            if date is None:
                return value is None
            return bounds[date] is None or value == bounds[date][position]

        return _per_row(e, (ok(d, v) for d, v in _zipped(e, ("date", column))))

    return test


check("events", "date_start", "date_bounds", "must be the first day `date` denotes (empty when undated)")(
    _bound_matches(0, "date_start")
)
check("events", "date_end", "date_bounds", "must be the last day `date` denotes (empty when undated)")(
    _bound_matches(1, "date_end")
)


@check("events", "date_precision", "date_precision", "does not match the precision of `date` (unknown when undated)")
def _precision(t: Frames) -> pd.Series:
    e = t["events"]
    bounds = _edtf_table(distinct(e["date"]))

    def ok(date: Any, precision: Any) -> bool:
        if date is None:
            return precision == "unknown"
        return bounds[date] is None or precision == bounds[date][2]

    return _per_row(e, (ok(d, p) for d, p in _zipped(e, ("date", "date_precision"))))


@check("events", "date_end", "date_order", "date_start is after date_end")
def _date_order(t: Frames) -> pd.Series:
    e = t["events"]
    return _per_row(
        e, (s is None or end is None or s <= end for s, end in _zipped(e, ("date_start", "date_end")))
    )


@check("events", "currency", "amount_currency", "amount and currency go together")
def _amount_currency(t: Frames) -> pd.Series:
    e = t["events"]
    return e["amount"].isna() == e["currency"].isna()


@check("events", "event_id", "type_prefix", "the `<type>-` prefix differs from the type column")
def _event_type_prefix(t: Frames) -> pd.Series:
    e = t["events"]
    return _per_row(
        e,
        (eid is None or kind is None or eid.rsplit("-", 1)[0] == kind for eid, kind in _zipped(e, ("event_id", "type"))),
    )


@check("events", "event_id", "has_evidence", "event has no evidence row", compares_rows=True, reads=["event_evidence.event_id"])
def _has_evidence(t: Frames) -> pd.Series:
    return isin(t["events"]["event_id"], distinct(t["event_evidence"]["event_id"]))


@check("events", "event_id", "has_participant", "event has no participant", compares_rows=True, reads=["event_participants.event_id"])
def _has_participant(t: Frames) -> pd.Series:
    return isin(t["events"]["event_id"], distinct(t["event_participants"]["event_id"]))


@check(
    "events",
    "event_id",
    "duplicate_event",
    "another event has the same type, date, amount and participants",
    compares_rows=True,
    reads=["event_participants.event_id", "event_participants.role", "event_participants.entity_id"],
)
def _duplicate_event(t: Frames) -> pd.Series:
    e = t["events"]
    signatures = _participant_signatures(t["event_participants"])
    keys = [
        (kind, "" if date is None else date, amount, currency, signatures.get(event_id, b""))
        for event_id, kind, date, amount, currency in _zipped(e, ("event_id", "type", "date", "amount", "currency"))
    ]
    return ~pd.Series(keys, index=e.index, dtype=object).duplicated(keep=False)


def _participant_signatures(p: pd.DataFrame) -> dict[Any, bytes]:
    """Each event id's participants as one short value, equal for two events exactly
    when they have the same (role, entity) pairs as often: the pairs' numbers, sorted,
    as bytes (a string per participant and a tuple of them per event were 8 MB at
    2,000 articles)."""
    if p.empty:
        return {}
    roles = pd.factorize(p["role"], use_na_sentinel=False)[0]
    entities, entity_ids = pd.factorize(p["entity_id"], use_na_sentinel=False)
    pairs = roles.astype(np.int64) * max(len(entity_ids), 1) + entities
    events, event_ids = pd.factorize(p["event_id"], use_na_sentinel=False)
    order = np.lexsort((pairs, events))
    pairs, events = pairs[order], events[order]
    starts = np.flatnonzero(np.diff(events)) + 1
    ids = [None if pd.isna(event_id) else event_id for event_id in event_ids]
    return {ids[events[start]]: group.tobytes() for start, group in zip([0, *starts.tolist()], np.split(pairs, starts))}


@check("models", "first_release_date", "edtf", "not a valid EDTF date")
def _release_edtf(t: Frames) -> pd.Series:
    return _edtf_valid(t["models"], "first_release_date")


SOURCE_SEPARATOR = " "  # model_facts joins the source ids of a fact with spaces


def _cited_sources(column: str) -> RowTest:
    def test(t: Frames) -> pd.Series:
        known = set(t["sources"]["source_id"].dropna())
        m = t["models"]
        return _per_row(m, (v is None or set(str(v).split(SOURCE_SEPARATOR)) <= known for v in _cells(m[column])))

    return test


for _column in ("developer_sources", "openness_sources", "license_sources", "release_sources"):
    check(
        "models",
        _column,
        "cited_source",
        f"names a source_id that is not in sources ({SOURCE_SEPARATOR!r}-separated)",
        compares_rows=True,
        reads=["sources.source_id"],
    )(
        _cited_sources(_column)
    )


# --- whole tables, on the raw cells ------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARACTERS = pyarrow.array(FORMULA_STARTS, type=pyarrow.string())
Finding = tuple[int, str, str, str]  # CSV row, field, value, message


def _key_steps(column: pd.Series, numeric: bool) -> tuple[np.ndarray, np.ndarray]:
    """For each row after the first: whether its cell sorts before the one above, and
    whether the two are equal, as the writer's key (`tables._sort_key`) orders them.

    Numbers sort as numbers, missing ones last; other cells as their text, missing as
    "" (compared by arrow in UTF-8 byte order, which is Python's code-point order).
    Raises ValueError on a numeric key cell that is not a number.
    """
    if numeric:
        missing = (column.isna() | (column == "")).to_numpy(dtype=bool, na_value=True)
        try:
            values = pc.cast(text_array(column), pyarrow.float64())
            numbers = values.fill_null(0.0).to_numpy(zero_copy_only=False)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):  # what arrow will not parse, float() may
            numbers = np.array([0.0 if v is None or v == "" else float(v) for v in _cells(column)], dtype="float64")
        same_missing = missing[1:] == missing[:-1]
        before = (missing[1:] < missing[:-1]) | (same_missing & (numbers[1:] < numbers[:-1]))
        return before, same_missing & (numbers[1:] == numbers[:-1])
    text = pyarrow.array(column, from_pandas=True)  # as stored (large_string): no cast, no copy
    if text.null_count:
        text = text.fill_null("")
    below, above = text.slice(1), text.slice(0, len(text) - 1)
    return pc.less(below, above).to_numpy(zero_copy_only=False), pc.equal(below, above).to_numpy(zero_copy_only=False)


def unsorted_rows(frame: pd.DataFrame, schema: Mapping) -> list[Finding]:
    """Rows that sort before the row above them by primary key (the first per run),
    compared a key column at a time over whole columns."""
    if frame.empty or not all(f["name"] in frame for f in schema["fields"]):
        return []
    types = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    names = schema.get("primaryKey") or [f["name"] for f in schema["fields"]]
    before = np.zeros(len(frame) - 1, dtype=bool)
    tied = np.ones(len(frame) - 1, dtype=bool)  # equal on every key column so far
    for name in names:
        try:
            lower, equal = _key_steps(frame[name], types[name] in ("integer", "number"))
        except ValueError:  # a key cell of the wrong type, reported by the type checks
            return []
        before |= tied & lower
        tied &= equal
    first = names[0]
    found = (np.flatnonzero(before) + 1).tolist()
    values = _cells(frame[first].iloc[found])  # only the rows reported: a whole key column as objects was 35 MB
    return [
        (int(frame.index[i]) + 2, first, str(value), f"rows must be sorted by the primary key: sorts before row {int(frame.index[i - 1]) + 2}")
        for i, value in zip(found, values)
    ]


def formula_cells(frame: pd.DataFrame, schema: Mapping) -> list[Finding]:
    """Text cells a spreadsheet would run as a formula (leading = + - @, tab, CR)."""
    found = []
    for field in schema["fields"]:
        name = field["name"]
        if field.get("type", "string") != "string" or name not in frame:
            continue
        column = frame[name]
        cells = text_array(column)
        # each start is one character: the first one's membership, in C (pandas 3's
        # startswith with a tuple goes cell by cell in Python)
        flagged = pc.is_in(pc.utf8_slice_codeunits(cells, 0, 1), value_set=_FORMULA_CHARACTERS).fill_null(False)
        for index, value in column[flagged.to_numpy(zero_copy_only=False)].items():
            found.append(
                (int(index) + 2, name, value[:40], f"starts with {value[0]!r}: a spreadsheet may run it as a formula (import as text)")
            )
    return found


# --- assembly --------------------------------------------------------------


Checks = dict[str, dict[str, list[pa.Check]]]


def compares_rows_in(table: str) -> bool:
    """Whether any check of `table` looks at other rows than the one it judges."""
    return any(entry[0] == table and entry[5] for entry in _CHECKS)


def read_elsewhere(table: str) -> list[str]:
    """The columns of `table` that checks of other tables read."""
    return sorted(_READ[table])


def semantic_checks(
    typed: Frames,
    bodies: Mapping[str, str] | None,
    rows: Mapping[str, np.ndarray] | None = None,
    elsewhere: Collection[str] = (),
) -> tuple[Checks, Checks, list[str]]:
    """pandera checks by table and field: those on each row alone, those comparing rows,
    and the names of the checks skipped.

    `rows`: for the tables it names, the rows the row checks must look at (a boolean
    mask; incremental validation); the others pass. `elsewhere`: tables in `typed`
    only to be read, whose own checks run elsewhere (`pipeline.streamed`).
    """
    on_rows: Checks = defaultdict(lambda: defaultdict(list))
    comparing: Checks = defaultdict(lambda: defaultdict(list))
    skipped: list[str] = []
    for table, field, name, message, needs_bodies, compares_rows, fn in _CHECKS:
        if table not in typed or table in elsewhere:
            continue
        if needs_bodies and bodies is None:
            skipped.append(f"{table}.{field}: {name}")
            continue
        frames = typed
        if not compares_rows and rows is not None and table in rows:
            frames = {**typed, table: typed[table][rows[table]]}
        try:
            result = fn(frames, bodies) if needs_bodies else fn(frames)
        except (KeyError, AttributeError) as missing:  # a table or column the check needs is absent
            skipped.append(f"{table}.{field}: {name} (needs {missing})")
            continue
        except TypeError as err:  # a package schema that types the columns otherwise
            skipped.append(f"{table}.{field}: {name} (cells of another type: {err})")
            continue

        def passes(series: pd.Series, result: pd.Series = result) -> pd.Series:
            return result.reindex(series.index, fill_value=True)

        # ignore_na=False: an emptied cell (a bound, a currency) must still be checked
        (comparing if compares_rows else on_rows)[table][field].append(pa.Check(passes, name=name, error=message, ignore_na=False))
    return on_rows, comparing, skipped
