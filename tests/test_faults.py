"""The fault table: every way a hand-edited package can break the contract, one test each.

`FAULTS` is the single list of cases: each injects exactly one fault into a private copy
of the committed package and names what the validator must say (table, CSV row, field,
check, words of the message). `docs/faults.md` is rendered from the same list and a test
checks it, so the documented table cannot drift from the tested one. After adding a
case, rewrite the doc with `PYTHONPATH=. .venv/bin/python tests/test_faults.py`.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from pipeline import paths, streamed, validated
from pipeline.corpus import load_corpus
from pipeline.package import file_hash
from pipeline.text import split_sentences
from pipeline.validate import validate_package

DOC = paths.ROOT / "docs" / "faults.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"

Rows = list[list[str]]


# --- injecting faults into a package copy ------------------------------------


def csv_path(pkg: Path, table: str) -> Path:
    return pkg / "data" / f"{table}.csv"


def read_rows(pkg: Path, table: str) -> Rows:
    return list(csv.reader(io.StringIO(csv_path(pkg, table).read_text(encoding="utf-8"), newline="")))


def rehash(pkg: Path, table: str) -> None:
    """Refresh the resource's hash and bytes, so only the injected fault is left."""
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        if resource["name"] == table:
            resource["hash"] = file_hash(csv_path(pkg, table))
            resource["bytes"] = csv_path(pkg, table).stat().st_size
    write_descriptor(pkg, descriptor)


def write_rows(pkg: Path, table: str, rows: Rows, fresh_hash: bool = True) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    csv_path(pkg, table).write_text(buffer.getvalue(), encoding="utf-8", newline="")
    if fresh_hash:
        rehash(pkg, table)


def write_bytes(pkg: Path, table: str, raw: bytes) -> None:
    csv_path(pkg, table).write_bytes(raw)
    rehash(pkg, table)


def read_descriptor(pkg: Path) -> dict:
    return json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))


def write_descriptor(pkg: Path, descriptor: dict) -> None:
    (pkg / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")


def column(rows: Rows, name: str) -> int:
    return rows[0].index(name)


def find(rows: Rows, test: Callable[[dict[str, str]], bool]) -> int:
    """Index in `rows` (= CSV row - 1) of the first data row passing `test`."""
    for i, row in enumerate(rows[1:], start=1):
        if test(dict(zip(rows[0], row))):
            return i
    raise AssertionError("the committed package has no row for this case")


def set_cell(table: str, field: str, value: str, where: Callable[[dict[str, str]], bool] = lambda r: True):
    """An injector: one cell of the first matching row set to `value`; returns its CSV row."""

    def inject(pkg: Path) -> int:
        rows = read_rows(pkg, table)
        i = find(rows, where)
        rows[i][column(rows, field)] = value
        write_rows(pkg, table, rows)
        return i + 1

    return inject


def dated(r: dict[str, str]) -> bool:
    return bool(r["date"]) and "/" not in r["date"]


def body_of(source_id: str) -> str:
    return {a.source_id: a.body for a in load_corpus(paths.CORPUS)}[source_id]


# --- injectors that need more than one cell ----------------------------------


def add_orphan_entity(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    rows.append(["organization:zz-orphan", "organization", "ZZ Orphan", "", "curated"])
    write_rows(pkg, "entities", rows)
    return len(rows)


def drop_rows_of_event(table: str) -> Callable[[Path], int]:
    def inject(pkg: Path) -> int:
        events = read_rows(pkg, "events")
        event_id = events[1][0]
        rows = read_rows(pkg, table)
        write_rows(pkg, table, [r for r in rows if r[0] != event_id])
        return 2

    return inject


def duplicate_event(pkg: Path) -> int:
    """A second event with the same type, date and participants (and its own evidence)."""
    events = read_rows(pkg, "events")
    original = events[1]
    copy_id = original[0].rsplit("-", 1)[0] + "-ffffffffffff"
    events.append([copy_id, *original[1:]])
    write_rows(pkg, "events", [events[0], *sorted(events[1:], key=lambda r: r[0])])
    for table in ("event_participants", "event_evidence"):
        rows = read_rows(pkg, table)
        rows += [[copy_id, *r[1:]] for r in rows[1:] if r[0] == original[0]]
        write_rows(pkg, table, [rows[0], *sorted(rows[1:], key=lambda r: (r[0], *r[1:]))])
    return find(read_rows(pkg, "events"), lambda r: r["event_id"] == copy_id) + 1


def duplicate_row(table: str) -> Callable[[Path], int]:
    def inject(pkg: Path) -> int:
        rows = read_rows(pkg, table)
        write_rows(pkg, table, [*rows[:2], rows[1], *rows[2:]])
        return 3

    return inject


def two_sentence_quote(pkg: Path) -> int:
    """Stretch an evidence span over the next sentence: still true to the text."""
    rows = read_rows(pkg, "event_evidence")
    c = {name: column(rows, name) for name in rows[0]}
    for i, row in enumerate(rows[1:], start=1):
        body = body_of(row[c["source_id"]])
        following = [s for s in split_sentences(body) if s.start >= int(row[c["end"]])]
        if following and "\n" not in body[int(row[c["end"]]) : following[0].end]:
            row[c["end"]] = str(following[0].end)
            row[c["quote"]] = body[int(row[c["start"]]) : following[0].end]
            write_rows(pkg, "event_evidence", rows)
            return i + 1
    raise AssertionError("no evidence sentence followed by another on the same line")


def bad_date_text(pkg: Path) -> int:
    return set_cell("event_evidence", "date_text", "1999年", lambda r: "1999" not in r["quote"])(pkg)


def swap_rows(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    rows[1], rows[2] = rows[2], rows[1]
    write_rows(pkg, "entities", rows)
    return 3


def drop_column(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    i = column(rows, "name_ja")
    write_rows(pkg, "entities", [r[:i] + r[i + 1 :] for r in rows])
    return 1


def add_column(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    write_rows(pkg, "entities", [rows[0] + ["notes"]] + [r + [""] for r in rows[1:]])
    return 1


def swap_columns(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    write_rows(pkg, "entities", [[r[1], r[0], *r[2:]] for r in rows])
    return 1


def extra_field(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    rows[2].append("surplus")
    write_rows(pkg, "entities", rows)
    return 3


def missing_field(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    rows[3] = rows[3][:-1]
    write_rows(pkg, "entities", rows)
    return 4


def blank_row(pkg: Path) -> int:
    raw = csv_path(pkg, "entities").read_bytes()
    lines = raw.split(b"\n")
    write_bytes(pkg, "entities", b"\n".join([*lines[:3], b"", *lines[3:]]))
    return 4


def latin1_byte(pkg: Path) -> int:
    raw = csv_path(pkg, "entities").read_bytes().split(b"\n")
    raw[4] = raw[4].replace(b",", b",\xe9", 2).replace(b",\xe9", b",", 1)  # in the third field
    write_bytes(pkg, "entities", b"\n".join(raw))
    return 5


def bom(pkg: Path) -> int:
    write_bytes(pkg, "entities", b"\xef\xbb\xbf" + csv_path(pkg, "entities").read_bytes())
    return 1


def crlf(pkg: Path) -> int:
    write_bytes(pkg, "entities", csv_path(pkg, "entities").read_bytes().replace(b"\n", b"\r\n"))
    return 1


def duplicate_header(pkg: Path) -> int:
    rows = read_rows(pkg, "entities")
    rows[0][column(rows, "name_ja")] = "name"
    write_rows(pkg, "entities", rows)
    return 1


def stale_hash(pkg: Path) -> None:
    rows = read_rows(pkg, "entities")
    rows[1][column(rows, "name")] += " (edited)"
    write_rows(pkg, "entities", rows, fresh_hash=False)


def descriptor_edit(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def inject(pkg: Path) -> None:
        descriptor = read_descriptor(pkg)
        edit(descriptor)
        write_descriptor(pkg, descriptor)

    return inject


def resource(descriptor: dict, name: str) -> dict:
    return next(r for r in descriptor["resources"] if r["name"] == name)


def delete_file(pkg: Path) -> None:
    csv_path(pkg, "models").unlink()


def broken_json(pkg: Path) -> None:
    (pkg / "datapackage.json").write_text('{"resources": [', encoding="utf-8")


def pending_build(pkg: Path) -> None:
    (pkg / ".build").mkdir()
    (pkg / ".build" / "COMMIT").write_text("stage-1", encoding="utf-8")


def corpus_without(pkg: Path) -> int:
    """Validate against a corpus that lacks the first source's article."""
    rows = read_rows(pkg, "sources")
    (pkg / "corpus").mkdir()
    for path in paths.CORPUS.glob("*.md"):
        if path.stem != rows[1][0]:
            shutil.copy(path, pkg / "corpus" / path.name)
    return 2


def loosen_schema(pkg: Path) -> None:
    path = pkg / "schemas" / "entities.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    for f in schema["fields"]:
        f.get("constraints", {}).pop("enum", None)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")


def zip_with(name: str) -> Callable[[Path], None]:
    def inject(pkg: Path) -> None:
        with zipfile.ZipFile(pkg / "package.zip", "w") as archive:
            archive.write(pkg / "datapackage.json", "datapackage.json")
            archive.writestr(name, "x")

    return inject


# --- the cases -----------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    fault: str  # how the contract is broken, as a contributor would do it
    inject: Callable[[Path], int | None]  # returns the CSV row it broke (None: not row-level)
    table: str  # "" for the package itself
    field: str | None
    check: str
    says: str  # words the validator's message must contain
    level: str = "error"  # or "warning": reported, but the package stays valid
    target: str = ""  # what to validate, relative to the package copy ("": the folder)

    @property
    def key(self) -> str:
        return f"{self.table or 'package'}.{self.field or '-'}.{self.check}:{self.fault[:30]}"


FAULTS: list[Fault] = [
    # types
    Fault("integer cell holds text (`start` = `abc`)", set_cell("mentions", "start", "abc"), "mentions", "start", "type:integer", "not a valid integer"),
    Fault("number cell holds text (`confidence` = `high`)", set_cell("event_evidence", "confidence", "high"), "event_evidence", "confidence", "type:number", "not a valid number"),
    Fault("boolean cell is not true/false (`date_conflict` = `yes`)", set_cell("events", "date_conflict", "yes"), "events", "date_conflict", "type:boolean", "not a valid boolean"),
    Fault("impossible ISO date (`date_start` = `2025-02-30`)", set_cell("events", "date_start", "2025-02-30", dated), "events", "date_start", "type:date", "not a valid date"),
    Fault("date written another way (`date_end` = `2025/12/31`)", set_cell("events", "date_end", "2025/12/31", dated), "events", "date_end", "type:date", "not a valid date"),
    # constraints
    Fault("value outside an enum (`type` = `company`)", set_cell("entities", "type", "company"), "entities", "type", "enum", "not one of"),
    Fault("value outside an enum (`role` = `author`)", set_cell("event_participants", "role", "author"), "event_participants", "role", "enum", "not one of"),
    Fault("pattern broken (`language` = `日本語`)", set_cell("sources", "language", "日本語"), "sources", "language", "pattern", "does not match"),
    Fault("pattern broken (`currency` = `usd`)", set_cell("events", "currency", "usd", lambda r: bool(r["currency"])), "events", "currency", "pattern", "does not match"),
    Fault("id pattern broken (`license_id` = `apache`)", set_cell("models", "license_id", "apache"), "models", "license_id", "pattern", "does not match"),
    Fault("below minimum (`start` = `-1`)", set_cell("event_evidence", "start", "-1"), "event_evidence", "start", "minimum", "less than 0"),
    Fault("above maximum (`confidence` = `1.5`)", set_cell("event_evidence", "confidence", "1.5"), "event_evidence", "confidence", "maximum", "greater than 1"),
    Fault("required cell emptied (`name`)", set_cell("entities", "name", ""), "entities", "name", "not_nullable", "required value missing"),
    # dates
    Fault("EDTF date that does not exist (`date` = `2025-02-30`)", set_cell("events", "date", "2025-02-30", dated), "events", "date", "edtf", "not a valid EDTF date"),
    Fault("`published` that does not exist (`2025-02-30`)", set_cell("sources", "published", "2025-02-30"), "sources", "published", "edtf", "not a valid EDTF date"),
    Fault("`first_release_date` that does not exist (`2024-02-31`)", set_cell("models", "first_release_date", "2024-02-31"), "models", "first_release_date", "edtf", "not a valid EDTF date"),
    Fault("`date_start` not the first day of `date`", set_cell("events", "date_start", "1990-01-02", dated), "events", "date_start", "date_bounds", "first day"),
    Fault("`date_end` not the last day of `date`", set_cell("events", "date_end", "2999-12-30", dated), "events", "date_end", "date_bounds", "last day"),
    Fault("`date_start` emptied on a dated event", set_cell("events", "date_start", "", dated), "events", "date_start", "date_bounds", "first day"),
    Fault("bounds on an undated event", set_cell("events", "date_start", "2025-01-01", lambda r: not r["date"]), "events", "date_start", "date_bounds", "empty when undated"),
    Fault("`date_precision` not that of `date`", set_cell("events", "date_precision", "decade", dated), "events", "date_precision", "date_precision", "does not match the precision"),
    Fault("`date_start` after `date_end`", set_cell("events", "date_start", "2999-01-01", dated), "events", "date_end", "date_order", "after date_end"),
    # keys
    Fault("duplicate primary key (row copied)", duplicate_row("entities"), "entities", "entity_id", "field_uniqueness", "duplicate"),
    Fault("duplicate composite primary key (row copied)", duplicate_row("event_participants"), "event_participants", "event_id", "multiple_fields_uniqueness", "duplicate primary key"),
    Fault("dangling foreign key (`entity_id` of a mention)", set_cell("mentions", "entity_id", "organization:nobody"), "mentions", "entity_id", "foreign_key:entities.entity_id", "not found in entities.entity_id"),
    Fault("dangling foreign key (`event_id` of evidence)", set_cell("event_evidence", "event_id", "statement-000000000000"), "event_evidence", "event_id", "foreign_key:events.event_id", "not found in events.event_id"),
    Fault("dangling foreign key (`developer_id` of a model)", set_cell("models", "developer_id", "organization:nobody"), "models", "developer_id", "foreign_key:entities.entity_id", "not found in entities.entity_id"),
    Fault("model fact cites an unknown source", set_cell("models", "openness_sources", "no-such-article", lambda r: bool(r["openness_sources"])), "models", "openness_sources", "cited_source", "not in sources"),
    # orphans and duplicate facts
    Fault("entity without any mention", add_orphan_entity, "entities", "entity_id", "has_mention", "no mention"),
    Fault("event without evidence", drop_rows_of_event("event_evidence"), "events", "event_id", "has_evidence", "no evidence"),
    Fault("event without participant", drop_rows_of_event("event_participants"), "events", "event_id", "has_participant", "no participant"),
    Fault("two events with the same type, date, amount and participants", duplicate_event, "events", "event_id", "duplicate_event", "same type, date, amount and participants"),
    # ids
    Fault("`entity_id` prefix differs from `type`", set_cell("entities", "type", "product", lambda r: r["type"] != "product"), "entities", "entity_id", "type_prefix", "prefix differs"),
    Fault("`event_id` prefix differs from `type`", set_cell("events", "type", "conference", lambda r: r["type"] != "conference"), "events", "event_id", "type_prefix", "prefix differs"),
    Fault("`mention_id` not `<source_id>:<start>-<end>`", set_cell("mentions", "mention_id", "techtarget-2025-08-21-gpt-oss:0-1"), "mentions", "mention_id", "mention_id_form", "<source_id>:<start>-<end>"),
    # offsets against the text
    Fault("mention `surface` differs from the text", set_cell("mentions", "surface", "OpenAl"), "mentions", "surface", "span_text", "differs from body[start:end]"),
    Fault("evidence `quote` differs from the text", set_cell("event_evidence", "quote", "（引用を書き換えた）"), "event_evidence", "quote", "span_text", "differs from body[start:end]"),
    Fault("`end` beyond the article (`end` > `char_count`)", set_cell("mentions", "end", "999999"), "mentions", "end", "span_in_bounds", "<= the article's char_count"),
    Fault("empty span (`start` = `end`)", set_cell("mentions", "end", "0"), "mentions", "end", "span_in_bounds", "start must be < end"),
    Fault("evidence quote longer than one sentence", two_sentence_quote, "event_evidence", "quote", "one_sentence", "at most one sentence"),
    Fault("`date_text` not in its quote", bad_date_text, "event_evidence", "date_text", "date_text_in_quote", "does not occur in the quote"),
    Fault("stale `text_sha256` (article edited)", set_cell("sources", "text_sha256", "0" * 64), "sources", "text_sha256", "text_hash", "sha256 of the corpus article"),
    Fault("`char_count` differs from the article", set_cell("sources", "char_count", "12"), "sources", "char_count", "char_count", "length of the corpus article"),
    Fault("source whose article is not in the corpus", corpus_without, "sources", "source_id", "article_in_corpus", "no article with this id"),
    Fault("amount without currency", set_cell("events", "currency", "", lambda r: bool(r["amount"])), "events", "currency", "amount_currency", "go together"),
    # table structure
    Fault("rows not sorted by primary key", swap_rows, "entities", "entity_id", "sort_order", "sorted by the primary key"),
    Fault("column missing (`name_ja` deleted)", drop_column, "entities", "name_ja", "column_in_dataframe", "column missing"),
    Fault("extra column (`notes` added)", add_column, "entities", "notes", "column_in_schema", "not in the schema"),
    Fault("columns reordered", swap_columns, "entities", "entity_id", "column_ordered", "not in schema order"),
    Fault("column name repeated in the header", duplicate_header, "entities", "name", "header", "more than once"),
    Fault("row with too many fields", extra_field, "entities", None, "extra_fields", "the header has"),
    Fault("row with too few fields", missing_field, "entities", "method", "missing_fields", "the header has"),
    Fault("blank row", blank_row, "entities", None, "blank_row", "blank row"),
    # encoding
    Fault("non-UTF-8 byte (saved as Latin-1)", latin1_byte, "entities", "name", "encoding", "not UTF-8"),
    Fault("UTF-8 byte order mark (saved by a spreadsheet)", bom, "entities", None, "bom", "byte order mark"),
    Fault("`\\r\\n` line ends", crlf, "entities", None, "line_end", "line ends"),
    # descriptor
    Fault("CSV edited, `hash` not updated", stale_hash, "entities", None, "hash-count", "hash"),
    Fault("`bytes` does not match the file", descriptor_edit(lambda d: resource(d, "entities").update(bytes=1)), "entities", None, "byte-count", "byte count"),
    Fault("resource file missing", delete_file, "models", None, "missing_file", "does not exist"),
    Fault("resource removed from the descriptor", descriptor_edit(lambda d: d["resources"].pop()), "", None, "missing_resource", "must have every table"),
    Fault("resource `path` outside the package (`../`)", descriptor_edit(lambda d: resource(d, "sources").update(path="../sources.csv")), "sources", None, "unsafe_path", "outside the package"),
    Fault("resource `path` absolute", descriptor_edit(lambda d: resource(d, "sources").update(path="/etc/passwd")), "sources", None, "unsafe_path", "outside the package"),
    Fault("resource `path` a URL", descriptor_edit(lambda d: resource(d, "sources").update(path="https://example.org/s.csv")), "sources", None, "unsafe_path", "never fetches"),
    Fault("resource `schema` outside the package", descriptor_edit(lambda d: resource(d, "events").update(schema="../schemas/events.json")), "events", None, "unsafe_path", "outside the package"),
    Fault("`dialect` given as a URL", descriptor_edit(lambda d: resource(d, "events").update(dialect="http://example.org/d.json")), "events", None, "unsafe_path", "never fetched"),
    Fault("unknown `$schema` profile URL", descriptor_edit(lambda d: d.update({"$schema": "http://example.org/p.json"})), "", None, "unsafe_path", "not a standard profile"),
    Fault("`datapackage.json` not valid JSON", broken_json, "", None, "descriptor", "not valid UTF-8 JSON"),
    Fault("interrupted build not finished (`.build/COMMIT`)", pending_build, "", None, "interrupted_build", "interrupted build"),
    Fault("zip entry with `..` (zip slip)", zip_with("../evil.txt"), "", None, "zip", "zip slip", target="package.zip"),
    Fault("zip entry with an absolute path", zip_with("/tmp/evil.txt"), "", None, "zip", "zip slip", target="package.zip"),
    # warnings
    Fault("cell a spreadsheet would run as a formula (`=…`)", set_cell("entities", "name", "=HYPERLINK(\"http://x\")"), "entities", "name", "formula_cell", "formula", level="warning"),
    Fault("schema file loosened (enum removed)", loosen_schema, "entities", None, "schema_drift", "differs from this pipeline's", level="warning"),
]


def test_committed_package_is_valid_with_no_warnings():
    report = validate_package(paths.ROOT, paths.CORPUS)
    assert report.ok, report.text()
    assert not report.warnings, report.text()


@pytest.mark.parametrize("case", FAULTS, ids=[c.key for c in FAULTS])
def test_fault_is_reported_with_table_row_and_field(package_copy: Path, case: Fault):
    row = case.inject(package_copy)
    corpus = package_copy / "corpus" if (package_copy / "corpus").is_dir() else paths.CORPUS
    report = validate_package(package_copy / case.target, corpus)
    found = report.problems if case.level == "error" else report.warnings
    assert report.ok == (case.level == "warning"), report.text()
    matches = [
        p
        for p in found
        if p.table == case.table and p.row == row and p.field == case.field and p.check == case.check and case.says in p.message
    ]
    assert matches, f"expected {case.table} row {row} field {case.field} [{case.check}] '{case.says}' in:\n{report.text()}"
    assert report.package in report.text() and case.says in report.text()


@pytest.fixture(scope="module")
def recorded_baseline(tmp_path_factory) -> Path:
    """The pristine package, recorded as validated (what a build validates against)."""
    baseline = tmp_path_factory.mktemp("baseline")
    for name in ("data", "schemas"):
        shutil.copytree(paths.ROOT / name, baseline / name)
    shutil.copy(paths.DATAPACKAGE, baseline / "datapackage.json")
    validated.record(baseline, {a.source_id: a.body for a in load_corpus(paths.CORPUS)})
    return baseline


@pytest.mark.parametrize("case", FAULTS, ids=[c.key for c in FAULTS])
def test_incremental_validation_reports_the_same(package_copy: Path, recorded_baseline: Path, case: Fault):
    """Validated against the recorded pristine package, as a build validates against
    the one it replaces, every fault is reported exactly as by a full validation."""
    baseline = recorded_baseline
    case.inject(package_copy)
    corpus = package_copy / "corpus" if (package_copy / "corpus").is_dir() else paths.CORPUS
    full = validate_package(package_copy / case.target, corpus)
    incremental = validate_package(package_copy / case.target, corpus, baseline=baseline)
    assert set(incremental.problems) == set(full.problems), incremental.text()
    assert set(incremental.warnings) == set(full.warnings)


@pytest.mark.parametrize("case", FAULTS, ids=[c.key for c in FAULTS])
def test_validation_a_block_at_a_time_reports_the_same(package_copy: Path, case: Fault, monkeypatch):
    """With blocks small enough that each table nothing else needs whole is checked
    a block of lines at a time (`pipeline.streamed`), every fault is reported exactly
    as when each table is read whole: the same problems, warnings and skipped checks,
    in the same order."""
    case.inject(package_copy)
    corpus = package_copy / "corpus" if (package_copy / "corpus").is_dir() else paths.CORPUS
    monkeypatch.setattr(streamed, "BLOCK_BYTES", 1 << 40)
    whole = validate_package(package_copy / case.target, corpus).json()
    monkeypatch.setattr(streamed, "BLOCK_BYTES", 2_000)
    assert validate_package(package_copy / case.target, corpus).json() == whole


def render_doc_table() -> str:
    lines = ["| # | fault | table | field | validator says | check | level |", "|---|---|---|---|---|---|---|"]
    for i, case in enumerate(FAULTS, start=1):
        cells = [str(i), case.fault, case.table or "package", case.field or "", f"…{case.says}…", f"`{case.check}`", case.level]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def test_doc_lists_exactly_the_tested_faults():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert documented == render_doc_table(), f"{DOC} is out of date: run PYTHONPATH=. .venv/bin/python tests/test_faults.py"
    assert len(FAULTS) >= 35


if __name__ == "__main__":  # rewrite the table in docs/faults.md from FAULTS
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{render_doc_table()}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    sys.exit(0)
