"""The fast paths of validation give the answers of the slow ones they replace.

frictionless reads rows only where pandera cannot check them, CSVs are parsed by pyarrow
when they are regular, the sort order is compared a key column at a time and only suspicious quotes
go through the sentence splitter: each is checked here against the original (full
frictionless, `csv.reader`, `tables._sort_key`, `split_sentences`) on real inputs.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from unittest.mock import patch

import frictionless
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import paths
from pipeline.checks import FORMULA_STARTS, _one_sentence, formula_cells, unsorted_rows
from pipeline.package import file_hash
from pipeline.schemas import _unrepeated, distinct, isin
from pipeline.tables import _sort_key, load_schema
from pipeline.text import split_sentences
from pipeline.csvread import REGULAR_LINE, _is_utf8, _read_regular, _regular, read_csv_strict
from pipeline.validate import rows_for_frictionless, validate_package

Rows = list[list[str]]


def read_rows(pkg: Path, table: str) -> Rows:
    return list(csv.reader(io.StringIO((pkg / "data" / f"{table}.csv").read_text(encoding="utf-8"), newline="")))


def write_rows(pkg: Path, table: str, rows: Rows) -> None:
    """Write a table and refresh its hash and bytes, so only the injected faults remain."""
    path = pkg / "data" / f"{table}.csv"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        if resource["name"] == table:
            resource.update(hash=file_hash(path), bytes=path.stat().st_size)
    (pkg / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")


def set_cells(pkg: Path, table: str, edits: dict[tuple[int, str], str]) -> None:
    """Set cells by (CSV row, field)."""
    rows = read_rows(pkg, table)
    for (row, field), value in edits.items():
        rows[row - 1][rows[0].index(field)] = value
    write_rows(pkg, table, rows)


def cells(frame: pd.DataFrame) -> Rows:
    return [["" if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]


# --- frictionless reads rows only where pandera cannot check them -------------------


def test_only_the_table_with_an_untranslated_format_is_read_by_frictionless():
    meta = json.loads(paths.DATAPACKAGE.read_text(encoding="utf-8"))
    schemas = {r["name"]: load_schema(r["name"]) for r in meta["resources"]}
    assert "uri" in {f.get("format") for f in schemas["sources"]["fields"]}
    assert rows_for_frictionless(meta, schemas) == ["sources"]
    schemas["mentions"]["fields"][0]["type"] = "year"
    meta["resources"][1]["dialect"] = {"delimiter": ";"}
    assert rows_for_frictionless(meta, schemas) == ["sources", meta["resources"][1]["name"], "mentions"]


def test_every_row_error_of_full_frictionless_is_reported(package_copy):
    set_cells(package_copy, "mentions", {(2, "start"): "abc", (3, "end"): "-5", (4, "entity_id"): "organization:nobody", (5, "mention_id"): "BAD"})
    set_cells(package_copy, "entities", {(2, "type"): "company", (3, "name"): ""})
    set_cells(package_copy, "event_evidence", {(2, "confidence"): "high", (3, "event_id"): "statement-000000000000"})
    rows = read_rows(package_copy, "event_participants")
    write_rows(package_copy, "event_participants", [*rows[:2], rows[1], *rows[2:]])
    full = frictionless.validate(str(package_copy / "datapackage.json"))
    expected = {(task.name, err.row_number) for task in full.tasks for err in task.errors if getattr(err, "row_number", None)}
    assert len(expected) >= 8, full.flatten(["rowNumber", "type"])
    report = validate_package(package_copy, paths.CORPUS)
    assert expected <= {(p.table, p.row) for p in report.problems}, report.text()


def test_an_invalid_uri_is_still_reported_by_frictionless(package_copy):
    set_cells(package_copy, "sources", {(2, "url"): "not a uri"})
    report = validate_package(package_copy, paths.CORPUS)
    assert [(p.layer, p.table, p.row, p.field, p.check) for p in report.problems] == [
        ("frictionless", "sources", 2, "url", "type-error")
    ]


def test_integer_key_written_another_way_is_a_duplicate_as_frictionless_says(package_copy):
    rows = read_rows(package_copy, "event_evidence")
    start = rows[0].index("start")
    copy = list(rows[1])
    copy[start] = "0" + copy[start]
    write_rows(package_copy, "event_evidence", [rows[0], rows[1], copy, *rows[2:]])
    full = frictionless.validate(str(package_copy / "datapackage.json"))
    assert ("event_evidence", 3, "primary-key") in {(t.name, e.row_number, e.type) for t in full.tasks for e in t.errors}
    report = validate_package(package_copy, paths.CORPUS)
    assert any(p.table == "event_evidence" and p.row == 3 and p.check == "multiple_fields_uniqueness" for p in report.problems), report.text()


def test_an_integer_too_big_for_64_bits_is_a_type_error_not_a_crash(package_copy):
    set_cells(package_copy, "mentions", {(2, "start"): "99999999999999999999999"})
    report = validate_package(package_copy, paths.CORPUS)
    assert any((p.table, p.row, p.field, p.check) == ("mentions", 2, "start", "type:integer") for p in report.problems), report.text()


# --- CSV parsing: pyarrow for regular files, the same cells as csv.reader ------------

REGULAR = 'a,b,c\n1,"x, y",""\n2,"say ""hi""",z\n3,,\n'
IRREGULAR = [
    'a,b\n1,"two\nlines"\n',  # a quoted line break
    'a,b\n1,x"y\n',  # a quote inside a bare field
    'a,b\n1,"x"y\n',  # text after a closing quote
    "a,b\n\n1,2\n",  # a blank row
    "a,b\n1,2,3\n",  # too many fields
    "a,a\n1,2\n",  # a repeated header
]


def test_regular_files_are_parsed_by_pyarrow_into_the_cells_csv_reader_gives():
    texts = [REGULAR] + [p.read_text(encoding="utf-8") for p in sorted(paths.DATA.glob("*.csv"))]
    for text in texts:
        frame = _read_regular(text.encode("utf-8"))
        assert frame is not None
        records = list(csv.reader(io.StringIO(text, newline="")))
        assert list(frame.columns) == records[0]
        assert cells(frame) == records[1:]
        assert list(frame.index) == list(range(len(records) - 1))
        # the same frame as the row-by-row reader's (dtype "str", missing = NaN), cell for cell
        expected = pd.DataFrame(records[1:], columns=records[0], dtype="str")
        pd.testing.assert_frame_equal(frame, expected.mask(expected == ""))


def test_irregular_files_go_row_by_row_and_keep_csv_reader_cells():
    for text in IRREGULAR:
        assert _read_regular(text.encode("utf-8")) is None
        frame, problems = read_csv_strict("t", text.encode("utf-8"))
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
        if frame is not None and not problems:
            assert cells(frame) == records[1:]
    frame, problems = read_csv_strict("t", IRREGULAR[0].encode("utf-8"))
    assert problems == [] and cells(frame) == [["1", "two\nlines"]]



@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=list('a,"\n語'), max_size=30))
def test_regular_looks_at_every_line_with_a_quote(text):
    """`_regular` finds the quoted lines without splitting the file: the same answer
    as checking each line of the split text that holds a quote, as text (what
    `csv.reader` reads; a non-ASCII character among them) and as its UTF-8 bytes."""
    line = re.compile(r'(?:[^",\n]*|"(?:[^"\n]|"")*")(?:,(?:[^",\n]*|"(?:[^"\n]|"")*"))*')
    by_lines = bool(text) and not text.startswith("\n") and "\n\n" not in text
    by_lines = by_lines and all(line.fullmatch(one) for one in text.split("\n") if '"' in one)
    assert _regular(text.encode("utf-8")) == by_lines
    for one in text.split("\n"):  # the bytes pattern takes the lines the text pattern takes
        assert bool(REGULAR_LINE.fullmatch(one.encode("utf-8"))) == bool(line.fullmatch(one))

@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=24), st.text(max_size=12).map(lambda t: t.encode("utf-8"))), st.integers(1, 5))
def test_utf8_by_blocks_is_what_decoding_the_whole_file_says(raw, block):
    """Blocks of 1-5 bytes cut the characters of 2-4 bytes anywhere."""
    try:
        raw.decode("utf-8")
        whole = True
    except UnicodeDecodeError:
        whole = False
    assert _is_utf8(raw, block) == whole
    assert _is_utf8(raw + b"\xe8", block) is False  # a character cut off at the end


# --- sort order a key column at a time: the writer's keys ----------------------------


def _unsorted_by_the_writers_key(frame: pd.DataFrame, schema: dict) -> list[int]:
    """CSV rows that sort before the row above by `tables._sort_key`, row by row; []
    when a numeric key cell is not a number (the type checks report it)."""
    key = _sort_key(schema)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    try:
        keys = [key(r) for r in records]
    except ValueError:
        return []
    return [i + 2 for i in range(1, len(keys)) if keys[i] < keys[i - 1]]


def test_unsorted_rows_agree_with_the_writers_key_on_every_committed_table_reversed():
    for path in sorted(paths.DATA.glob("*.csv")):
        schema = load_schema(path.stem)
        frame, _ = read_csv_strict(path.stem, path.read_bytes())
        assert unsorted_rows(frame, schema) == []
        backwards = frame.iloc[::-1].reset_index(drop=True)  # every row but the first out of order, unless tied
        found = [row for row, *_ in unsorted_rows(backwards, schema)]
        assert found == _unsorted_by_the_writers_key(backwards, schema), path.stem
        assert len(found) == len(frame) - 1, path.stem


KEY_SCHEMA = {
    "fields": [{"name": "a", "type": "string"}, {"name": "n", "type": "integer"}, {"name": "b", "type": "string"}],
    "primaryKey": ["a", "n", "b"],
}
KEY_TEXT = st.sampled_from(["", "a", "ab", "b", "B", "é", "あ", "ア", "漢", "𠀋", "a b"])
KEY_NUMBER = st.sampled_from(["", "0", "-0", "2", "10", "-3", "1e1", "+1", " 2", "1_0", "nan", "inf", "x"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEY_TEXT, KEY_NUMBER, KEY_TEXT), min_size=1, max_size=12))
def test_unsorted_rows_agree_with_the_writers_key(rows):
    """Missing numbers last, numbers as floats (as Python's float reads them), text by
    code point, ties broken by the next key column, a non-number: no finding."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["a", "n", "b"], *rows])
    frame, problems = read_csv_strict("t", buffer.getvalue().encode("utf-8"))
    assert problems == []
    found = [row for row, *_ in unsorted_rows(frame, KEY_SCHEMA)]
    assert found == _unsorted_by_the_writers_key(frame, KEY_SCHEMA)



@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=list("=+-@\t\rab あ𠀋"), max_size=4)), min_size=1, max_size=10))
def test_formula_cells_are_the_cells_starting_with_a_formula_character(values):
    frame = pd.DataFrame({"a": pd.array(values, dtype="str"), "n": pd.array(["1"] * len(values), dtype="str")})
    schema = {"fields": [{"name": "a", "type": "string"}, {"name": "n", "type": "integer"}]}
    found = [(row, field, value) for row, field, value, _ in formula_cells(frame, schema)]
    assert found == [(i + 2, "a", v[:40]) for i, v in enumerate(values) if v and v.startswith(FORMULA_STARTS)]


CELL = st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "あ", "𠀋", ""]))


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, max_size=8), st.lists(CELL, max_size=8), st.booleans())
def test_isin_is_membership_of_the_present_values(cells, others, as_column):
    """Text columns go through pyarrow, given a list or the distinct values of another
    column (no pass in Python); a missing cell is never a member."""
    series = pd.Series(pd.array(cells, dtype="str"))
    values = distinct(pd.Series(pd.array(others, dtype="str"))) if as_column else [v for v in others if v is not None]
    present = {v for v in others if v is not None}
    assert isin(series, values).tolist() == [v is not None and v in present for v in cells]

# --- one sentence: the splitter runs only where a second sentence can start ----------

QUOTE = st.text(alphabet=list("ab 。！？「」（）()\n”“"), max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(QUOTE, min_size=1, max_size=8))
def test_one_sentence_check_agrees_with_the_splitter(quotes):
    frame = pd.DataFrame({"quote": pd.array(quotes, dtype="string")})
    result = _one_sentence({"event_evidence": frame})
    assert result.tolist() == [len(split_sentences(q)) <= 1 for q in quotes]


def test_warm_up_does_validations_one_time_setup_before_the_first_check():
    """In a fresh process: pandera's pandas backends are not loaded by importing the
    validator, `warm_up` loads them, and the committed package still validates."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pipeline.validate import validate_package, warm_up\n"
        "backend = 'pandera.backends.pandas.builtin_checks'\n"
        "before = backend in sys.modules\n"
        "warm_up()\n"
        "print(before, backend in sys.modules, validate_package(sys.argv[1]).ok)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(paths.ROOT)], capture_output=True, text=True, cwd=paths.ROOT, check=True)
    assert done.stdout.split() == ["False", "True", "True"]


# --- checks made a block of rows at a time, uniqueness by neighbours ------------------


def test_checks_made_a_block_at_a_time_find_what_they_find_over_whole_tables(package_copy):
    """The row checks that work a block at a time (span bounds, mention ids, one
    sentence, patterns, and those going cell by cell) report the same rows with blocks
    of 2 rows as in one block."""
    import pipeline.schemas as schemas

    set_cells(package_copy, "mentions", {(2, "mention_id"): "x:1-2", (4, "end"): "999999", (5, "source_id"): "BAD"})
    rows = read_rows(package_copy, "event_evidence")
    quote = rows[0].index("quote")
    set_cells(package_copy, "event_evidence", {(3, "quote"): rows[2][quote] + "\n次の文。", (4, "end"): "999999"})
    whole = validate_package(package_copy, paths.CORPUS)
    found = {(p.table, p.row, p.check) for p in whole.problems}
    assert {("mentions", 2, "mention_id_form"), ("mentions", 4, "span_in_bounds"), ("mentions", 5, "pattern"), ("event_evidence", 3, "one_sentence"), ("event_evidence", 4, "span_in_bounds")} <= found, whole.text()
    with patch.object(schemas, "BLOCK_ROWS", 2):
        blocks = validate_package(package_copy, paths.CORPUS)
    assert [(p.table, p.row, p.field, p.check, p.value) for p in blocks.problems] == [(p.table, p.row, p.field, p.check, p.value) for p in whole.problems]


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, max_size=8), st.booleans())
def test_a_unique_column_repeats_where_duplicated_says(cells, in_order):
    """Sorted columns of distinct text (as written) are told unique by their neighbours,
    the others by `duplicated`; missing cells repeat like values."""
    if in_order:
        cells = sorted({c for c in cells if c is not None})
    series = pd.Series(pd.array(cells, dtype="str"))
    assert _unrepeated(series).tolist() == (~series.duplicated(keep=False)).tolist() == [cells.count(c) == 1 for c in cells]


# --- duplicate events, by participant signatures --------------------------------------

MAYBE = st.one_of(st.none(), st.sampled_from(["a", "b", "a=b", "b=c"]))


def _duplicate_events_by_tuples(events: pd.DataFrame, participants: pd.DataFrame) -> list[bool]:
    """The definition: same type, date, amount, currency and multiset of (role, entity)."""
    parts: dict = {}
    for event_id, role, entity_id in participants[["event_id", "role", "entity_id"]].astype(object).itertuples(index=False):
        parts.setdefault(None if pd.isna(event_id) else event_id, []).append((repr(role if not pd.isna(role) else None), repr(entity_id if not pd.isna(entity_id) else None)))
    keys = [
        (kind, date, amount, currency, tuple(sorted(parts.get(None if pd.isna(event_id) else event_id, []))))
        for event_id, kind, date, amount, currency in events.astype(object).where(events.notna(), None).itertuples(index=False)
    ]
    return [keys.count(key) == 1 for key in keys]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(MAYBE, MAYBE, st.sampled_from(["2025", None]), MAYBE, MAYBE), max_size=6),
    st.lists(st.tuples(MAYBE, MAYBE, MAYBE), max_size=10),
    st.booleans(),
)
def test_duplicate_events_are_those_with_the_same_participants(events, participants, kept):
    """Participants compared as signatures (`checks._participant_signatures`) find the
    duplicates that comparing their (role, entity) pairs does, read whole or kept as
    categoricals (`pipeline.streamed`)."""
    from pipeline.checks import _duplicate_event

    e = pd.DataFrame(events, columns=["event_id", "type", "date", "amount", "currency"], dtype="string")
    p = pd.DataFrame(participants, columns=["event_id", "entity_id", "role"], dtype="string")
    if kept:
        p = p.astype("category")
    assert _duplicate_event({"events": e, "event_participants": p}).tolist() == _duplicate_events_by_tuples(e, p)
