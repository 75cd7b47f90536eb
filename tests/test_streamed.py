"""Large tables checked a block at a time (`pipeline.streamed`) give the whole-table answers.

The committed package is small, so blocks are made small here (`BLOCK_BYTES`): each of
its leaf tables then spans several blocks, and every report is compared with the one
validation gives reading every table whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import paths, streamed
from pipeline.checks import read_elsewhere
from pipeline.csvread import read_csv_strict
from pipeline.streamed import Streamed, certify, streamable
from pipeline.validate import ReadAhead, validate_package

from test_validate_speed_paths import read_rows, set_cells, write_rows

SMALL = 2_000  # bytes: mentions (16 KB) in 9 blocks, evidence in 5, participants in 2
LEAVES = ("mentions", "event_participants", "event_evidence")


def _report(pkg: Path, block: int, monkeypatch: pytest.MonkeyPatch, corpus=paths.CORPUS) -> dict:
    monkeypatch.setattr(streamed, "BLOCK_BYTES", block)
    return json.loads(validate_package(pkg, corpus).json())


def _certifications(pkg: Path, monkeypatch: pytest.MonkeyPatch, corpus=paths.CORPUS) -> dict[str, Streamed | None]:
    """What `certify` gave for each table a validation of `pkg` streamed."""
    found: dict[str, Streamed | None] = {}
    real = certify

    def spy(name, *args):
        found[name] = real(name, *args)
        return found[name]

    monkeypatch.setattr("pipeline.validate.certify", spy)
    monkeypatch.setattr(streamed, "BLOCK_BYTES", SMALL)
    validate_package(pkg, corpus)
    return found


def _certified(pkg: Path, monkeypatch: pytest.MonkeyPatch, corpus=paths.CORPUS) -> dict[str, bool]:
    """Which tables a validation of `pkg` streamed and found clean."""
    return {name: result is not None for name, result in _certifications(pkg, monkeypatch, corpus).items()}


def _schemas() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in paths.SCHEMAS.glob("*.json")}


def test_only_tables_nothing_else_needs_whole_are_streamed():
    schemas = _schemas()
    assert {name for name in schemas if streamable(name, schemas)} == set(LEAVES)


def test_clean_package_is_streamed_and_reported_as_when_read_whole(package_copy: Path, monkeypatch):
    whole = _report(package_copy, 1 << 40, monkeypatch)
    assert _certified(package_copy, monkeypatch) == dict.fromkeys(LEAVES, True)
    assert _report(package_copy, SMALL, monkeypatch) == whole  # skipped checks included
    assert whole["valid"] and not whole["skipped"]


def test_formula_cells_of_a_streamed_table_are_warned_of_as_when_read_whole(package_copy: Path, bodies, monkeypatch):
    """A mention in the middle of the table whose text starts with `=` (the article's
    text made so, as in a real one): a warning, from the block that holds it."""
    rows = read_rows(package_copy, "mentions")
    header = rows[0]
    row = len(rows) // 2
    source, start, surface = (rows[row][header.index(f)] for f in ("source_id", "start", "surface"))
    body = bodies[source]
    texts = {**bodies, source: body[: int(start)] + "=" + body[int(start) + 1 :]}
    set_cells(package_copy, "mentions", {(row + 1, "surface"): "=" + surface[1:]})
    whole = _report(package_copy, 1 << 40, monkeypatch, texts)
    assert [(w["table"], w["row"], w["field"]) for w in whole["warnings"]] == [("mentions", row + 1, "surface")]
    assert _certified(package_copy, monkeypatch, texts)["mentions"]
    assert _report(package_copy, SMALL, monkeypatch, texts) == whole


def test_blocks_are_blocks(package_copy: Path, monkeypatch):
    """No check sees more than a block of rows (and the line above it)."""
    seen: list[int] = []
    real = streamed.typed_frame
    monkeypatch.setattr(streamed, "typed_frame", lambda frame, schema: seen.append(len(frame)) or real(frame, schema))
    assert _certified(package_copy, monkeypatch) == dict.fromkeys(LEAVES, True)
    lines = [line for t in LEAVES for line in (package_copy / "data" / f"{t}.csv").read_bytes().splitlines()[1:]]
    assert len(seen) > 10 and max(seen) <= SMALL // min(len(line) + 1 for line in lines) + 1
    assert sum(seen) - (len(seen) - len(LEAVES)) == sum(len(read_rows(package_copy, t)) - 1 for t in LEAVES)


def test_kept_columns_are_the_tables_own(package_copy: Path, monkeypatch):
    """What other tables' checks read of a streamed table: its cells, row for row."""
    kept = {name: result.kept for name, result in _certifications(package_copy, monkeypatch).items()}
    for table in LEAVES:
        frame, _ = read_csv_strict(table, (package_copy / "data" / f"{table}.csv").read_bytes())
        assert list(kept[table].columns) == read_elsewhere(table) != []
        for column in kept[table]:
            assert kept[table][column].astype(str).tolist() == frame[column].astype(str).tolist()
            assert kept[table][column].index.equals(frame.index)


def _line_at_block_end(pkg: Path, table: str) -> int:
    """The CSV row of the last line of the first block."""
    raw = (pkg / "data" / f"{table}.csv").read_bytes()
    header = raw.index(b"\n") + 1
    block = raw[header : header + SMALL]
    return block[: block.rfind(b"\n") + 1].count(b"\n") + 1  # + the header row


@pytest.mark.parametrize(
    "fault",
    ["key repeated across blocks", "rows swapped across blocks", "bad cell in the last block", "span off the text"],
)
def test_faults_anywhere_are_reported_as_when_read_whole(package_copy: Path, monkeypatch, fault: str):
    rows = read_rows(package_copy, "mentions")
    at = _line_at_block_end(package_copy, "mentions")  # rows[at - 1] ends block 1
    if fault == "key repeated across blocks":
        rows.insert(at, list(rows[at - 1]))
    elif fault == "rows swapped across blocks":
        rows[at - 1], rows[at] = rows[at], rows[at - 1]
    if fault in ("key repeated across blocks", "rows swapped across blocks"):
        write_rows(package_copy, "mentions", rows)
    elif fault == "bad cell in the last block":
        set_cells(package_copy, "mentions", {(len(rows), "method"): "guessed"})
    else:
        set_cells(package_copy, "mentions", {(len(rows) - 1, "surface"): "not in the article"})
    whole = _report(package_copy, 1 << 40, monkeypatch)
    assert not whole["valid"] and {p["table"] for p in whole["problems"]} >= {"mentions"}
    assert _certified(package_copy, monkeypatch)["mentions"] is False
    assert _report(package_copy, SMALL, monkeypatch) == whole


def test_without_the_corpus_nothing_is_streamed(package_copy: Path, monkeypatch):
    monkeypatch.setattr(streamed, "BLOCK_BYTES", SMALL)
    called: list[str] = []
    monkeypatch.setattr("pipeline.validate.certify", lambda name, *a: called.append(name))
    report = validate_package(package_copy, None)
    assert report.ok and called == [] and report.skipped


def test_read_ahead_leaves_a_large_new_table_to_validation(package_copy: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(streamed, "BLOCK_BYTES", SMALL)
    ahead = ReadAhead(tmp_path / "no-baseline")
    for table in ("mentions", "sources"):
        ahead.read(table, package_copy / "data" / f"{table}.csv")
    assert ahead.tables == {"sources"}  # sources is one block: read ahead as before
