"""Checks that frictionless cannot express, as named pandera checks by table and field.

Each check closes over the typed tables (and the article bodies when the corpus is
available) and returns one boolean per row of its table, so a failure names the CSV row
and the field to fix. Checks that need the bodies are listed as skipped without them.
Two whole-table checks on the raw cells follow: rows in primary-key order (an error:
rebuilds must be byte-identical) and cells a spreadsheet would run as formulas (a
warning: the cell is true to the article, so it is never rewritten).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Mapping

import pandas as pd
import pandera.pandas as pa

from pipeline.corpus import body_sha256
from pipeline.dates import parse_edtf
from pipeline.tables import _sort_key
from pipeline.text import split_sentences

Frames = Mapping[str, pd.DataFrame]
RowTest = Callable[[pd.DataFrame], pd.Series]

# (table, field, check name, message, needs bodies, test)
_CHECKS: list[tuple[str, str, str, str, bool, Callable[..., pd.Series]]] = []


def check(table: str, field: str, name: str, message: str, needs_bodies: bool = False):
    """Register a row-level check of `table` reported on `field`."""

    def register(fn: Callable[..., pd.Series]) -> Callable[..., pd.Series]:
        _CHECKS.append((table, field, name, message, needs_bodies, fn))
        return fn

    return register


def _rowwise(frame: pd.DataFrame, test: Callable[[pd.Series], bool]) -> pd.Series:
    if frame.empty:
        return pd.Series(True, index=frame.index, dtype=bool)
    return frame.apply(lambda row: _passed(test(row)), axis=1).astype(bool)


def _passed(result) -> bool:
    """A comparison with an empty cell gives NA: that row does not pass."""
    return False if result is pd.NA else bool(result)


def _present(*values) -> bool:
    return all(v is not None and not pd.isna(v) for v in values)


def _edtf_bounds(value) -> tuple | None:
    try:
        parsed = parse_edtf(str(value))
    except ValueError:
        return None
    return parsed.start, parsed.end, parsed.precision


# --- sources ---------------------------------------------------------------


@check("sources", "published", "edtf", "not a valid EDTF date")
def _published_edtf(t: Frames) -> pd.Series:
    return _rowwise(t["sources"], lambda r: not _present(r.published) or _edtf_bounds(r.published) is not None)


@check("sources", "source_id", "article_in_corpus", "no article with this id in the corpus", True)
def _source_in_corpus(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
    return t["sources"]["source_id"].isin(list(bodies)) | t["sources"]["source_id"].isna()


@check("sources", "text_sha256", "text_hash", "does not match the sha256 of the corpus article", True)
def _text_hash(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
    return _rowwise(
        t["sources"],
        lambda r: r.source_id not in bodies or body_sha256(bodies[r.source_id]) == r.text_sha256,
    )


@check("sources", "char_count", "char_count", "differs from the length of the corpus article", True)
def _char_count(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
    return _rowwise(
        t["sources"],
        lambda r: r.source_id not in bodies or not _present(r.char_count) or len(bodies[r.source_id]) == r.char_count,
    )


# --- entities --------------------------------------------------------------


@check("entities", "entity_id", "type_prefix", "the `<type>:` prefix differs from the type column")
def _type_prefix(t: Frames) -> pd.Series:
    e = t["entities"]
    return _rowwise(e, lambda r: not _present(r.entity_id, r.type) or str(r.entity_id).split(":", 1)[0] == r.type)


@check("entities", "entity_id", "has_mention", "entity has no mention in any article")
def _has_mention(t: Frames) -> pd.Series:
    return t["entities"]["entity_id"].isin(set(t["mentions"]["entity_id"].dropna()))


# --- spans (mentions and evidence) ------------------------------------------


def _span_in_bounds(table: str) -> RowTest:
    def test(t: Frames) -> pd.Series:
        counts = dict(zip(t["sources"]["source_id"], t["sources"]["char_count"]))
        return _rowwise(
            t[table],
            lambda r: not _present(r.start, r.end)
            or (r.start < r.end and (r.source_id not in counts or not _present(counts[r.source_id]) or r.end <= counts[r.source_id])),
        )

    return test


def _span_text(table: str, column: str) -> Callable[[Frames, Mapping[str, str]], pd.Series]:
    def test(t: Frames, bodies: Mapping[str, str]) -> pd.Series:
        return _rowwise(
            t[table],
            lambda r: r.source_id not in bodies
            or not _present(r.start, r.end)
            or bodies[r.source_id][r.start : r.end] == r[column],
        )

    return test


check("mentions", "end", "span_in_bounds", "start must be < end <= the article's char_count")(_span_in_bounds("mentions"))
check("event_evidence", "end", "span_in_bounds", "start must be < end <= the article's char_count")(
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
    return _rowwise(
        t["mentions"],
        lambda r: not _present(r.source_id, r.start, r.end) or r.mention_id == f"{r.source_id}:{r.start}-{r.end}",
    )


@check("event_evidence", "quote", "one_sentence", "an evidence quote is at most one sentence (no line break, one 。！？ end)")
def _one_sentence(t: Frames) -> pd.Series:
    return _rowwise(t["event_evidence"], lambda r: not _present(r.quote) or len(split_sentences(str(r.quote))) <= 1)


@check("event_evidence", "date_text", "date_text_in_quote", "the date expression does not occur in the quote")
def _date_text_in_quote(t: Frames) -> pd.Series:
    return _rowwise(t["event_evidence"], lambda r: not _present(r.date_text) or str(r.date_text) in str(r.quote))


# --- events ----------------------------------------------------------------


@check("events", "date", "edtf", "not a valid EDTF date")
def _date_edtf(t: Frames) -> pd.Series:
    return _rowwise(t["events"], lambda r: not _present(r.date) or _edtf_bounds(r.date) is not None)


def _bound_matches(position: int, column: str) -> RowTest:
    def test(t: Frames) -> pd.Series:
        def ok(r: pd.Series) -> bool:
            if not _present(r.date):
                return not _present(r[column])
            bounds = _edtf_bounds(r.date)
            return bounds is None or r[column] == bounds[position]

        return _rowwise(t["events"], ok)

    return test


check("events", "date_start", "date_bounds", "must be the first day `date` denotes (empty when undated)")(
    _bound_matches(0, "date_start")
)
check("events", "date_end", "date_bounds", "must be the last day `date` denotes (empty when undated)")(
    _bound_matches(1, "date_end")
)


@check("events", "date_precision", "date_precision", "does not match the precision of `date` (unknown when undated)")
def _precision(t: Frames) -> pd.Series:
    def ok(r: pd.Series) -> bool:
        if not _present(r.date):
            return r.date_precision == "unknown"
        bounds = _edtf_bounds(r.date)
        return bounds is None or r.date_precision == bounds[2]

    return _rowwise(t["events"], ok)


@check("events", "date_end", "date_order", "date_start is after date_end")
def _date_order(t: Frames) -> pd.Series:
    return _rowwise(t["events"], lambda r: not _present(r.date_start, r.date_end) or r.date_start <= r.date_end)


@check("events", "currency", "amount_currency", "amount and currency go together")
def _amount_currency(t: Frames) -> pd.Series:
    e = t["events"]
    return e["amount"].isna() == e["currency"].isna()


@check("events", "event_id", "type_prefix", "the `<type>-` prefix differs from the type column")
def _event_type_prefix(t: Frames) -> pd.Series:
    return _rowwise(t["events"], lambda r: not _present(r.event_id, r.type) or str(r.event_id).rsplit("-", 1)[0] == r.type)


@check("events", "event_id", "has_evidence", "event has no evidence row")
def _has_evidence(t: Frames) -> pd.Series:
    return t["events"]["event_id"].isin(set(t["event_evidence"]["event_id"].dropna()))


@check("events", "event_id", "has_participant", "event has no participant")
def _has_participant(t: Frames) -> pd.Series:
    return t["events"]["event_id"].isin(set(t["event_participants"]["event_id"].dropna()))


@check("events", "event_id", "duplicate_event", "another event has the same type, date and participants")
def _duplicate_event(t: Frames) -> pd.Series:
    parts: dict[str, list[str]] = defaultdict(list)
    for row in t["event_participants"].itertuples(index=False):
        parts[row.event_id].append(f"{row.role}={row.entity_id}")
    e = t["events"]
    keys = [
        (r.type, "" if not _present(r.date) else r.date, tuple(sorted(parts.get(r.event_id, []))))
        for r in e.itertuples(index=False)
    ]
    return ~pd.Series(keys, index=e.index, dtype=object).duplicated(keep=False)


# --- models ----------------------------------------------------------------


@check("models", "first_release_date", "edtf", "not a valid EDTF date")
def _release_edtf(t: Frames) -> pd.Series:
    return _rowwise(t["models"], lambda r: not _present(r.first_release_date) or _edtf_bounds(r.first_release_date) is not None)


SOURCE_SEPARATOR = " "  # model_facts joins the source ids of a fact with spaces


def _cited_sources(column: str) -> RowTest:
    def test(t: Frames) -> pd.Series:
        known = set(t["sources"]["source_id"].dropna())
        return _rowwise(
            t["models"], lambda r: not _present(r[column]) or set(str(r[column]).split(SOURCE_SEPARATOR)) <= known
        )

    return test


for _column in ("developer_sources", "openness_sources", "license_sources", "release_sources"):
    check("models", _column, "cited_source", f"names a source_id that is not in sources ({SOURCE_SEPARATOR!r}-separated)")(
        _cited_sources(_column)
    )


# --- whole tables, on the raw cells ------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Finding = tuple[int, str, str, str]  # CSV row, field, value, message


def unsorted_rows(frame: pd.DataFrame, schema: Mapping) -> list[Finding]:
    """Rows that sort before the row above them by primary key (the first per run)."""
    if frame.empty or not all(f["name"] in frame for f in schema["fields"]):
        return []
    key = _sort_key(schema)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    try:
        keys = [key(row) for row in rows]
    except ValueError:  # a key cell of the wrong type, reported by the type checks
        return []
    first = (schema.get("primaryKey") or [schema["fields"][0]["name"]])[0]
    return [
        (int(index) + 2, first, str(rows[i][first]), f"rows must be sorted by the primary key: sorts before row {int(frame.index[i - 1]) + 2}")
        for i, index in enumerate(frame.index)
        if i and keys[i] < keys[i - 1]
    ]


def formula_cells(frame: pd.DataFrame, schema: Mapping) -> list[Finding]:
    """Text cells a spreadsheet would run as a formula (leading = + - @, tab, CR)."""
    found = []
    for field in schema["fields"]:
        name = field["name"]
        if field.get("type", "string") != "string" or name not in frame:
            continue
        for index, value in frame[name].dropna().items():
            if str(value).startswith(FORMULA_STARTS):
                found.append(
                    (int(index) + 2, name, str(value)[:40], f"starts with {str(value)[0]!r}: a spreadsheet may run it as a formula (import as text)")
                )
    return found


# --- assembly --------------------------------------------------------------


def semantic_checks(
    typed: Frames, bodies: Mapping[str, str] | None
) -> tuple[dict[str, dict[str, list[pa.Check]]], list[str]]:
    """pandera checks by table and field, and the names of the checks skipped."""
    by_table: dict[str, dict[str, list[pa.Check]]] = defaultdict(lambda: defaultdict(list))
    skipped: list[str] = []
    for table, field, name, message, needs_bodies, fn in _CHECKS:
        if table not in typed:
            continue
        if needs_bodies and bodies is None:
            skipped.append(f"{table}.{field}: {name}")
            continue
        try:
            result = fn(typed, bodies) if needs_bodies else fn(typed)
        except (KeyError, AttributeError) as missing:  # a table or column the check needs is absent
            skipped.append(f"{table}.{field}: {name} (needs {missing})")
            continue

        def passes(series: pd.Series, result: pd.Series = result) -> pd.Series:
            return result.reindex(series.index, fill_value=True)

        # ignore_na=False: an emptied cell (a bound, a currency) must still be checked
        by_table[table][field].append(pa.Check(passes, name=name, error=message, ignore_na=False))
    return by_table, skipped
