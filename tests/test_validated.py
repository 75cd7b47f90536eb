"""Incremental validation: which rows a recorded baseline vouches for, and when it
vouches for nothing. (That every fault is still reported with a baseline is tested
for the whole fault table in test_faults.py.)"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import paths, validated
from pipeline.csvread import read_csv_strict
from pipeline.validate import _pandera_problems, _rows_to_check, validate_package
from pipeline.validated import Ahead, Known, Vouching


def known_rows(baseline: Path, meta: dict, base: Path, raws: dict, row_counts: dict, ahead: Ahead | None = None) -> Known | None:
    """What `baseline`'s record vouches for in the package in `base`, every table's
    bytes given at once (validation gives `Vouching` one table at a time)."""
    vouching = Vouching(baseline, base, ahead)
    for resource in meta["resources"]:
        if resource["name"] in raws and resource["name"] in row_counts:
            vouching.table(resource, raws[resource["name"]], row_counts[resource["name"]])
    return vouching.known()


def _known(package: Path, baseline: Path):
    meta = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    raws = {r["name"]: (package / r["path"]).read_bytes() for r in meta["resources"]}
    counts = {name: raw.count(b"\n") - 1 for name, raw in raws.items()}
    return known_rows(baseline, meta, package, raws, counts)


def _copy(package: Path, to: Path) -> Path:
    shutil.copytree(package, to, ignore=shutil.ignore_patterns(".build"))
    return to


def test_an_unchanged_package_is_known_row_for_row(package_copy, bodies, tmp_path):
    validated.record(package_copy, bodies)
    staged = _copy(package_copy, tmp_path / "staged")
    known = _known(staged, package_copy)
    assert sorted(known.rows) == sorted(paths.TABLES)
    assert all(mask.all() for mask in known.rows.values())
    sources = pd.read_csv(staged / "data" / "sources.csv", dtype=str)["source_id"].tolist()
    assert known.unchanged_sources(sources, bodies) == frozenset(bodies)


def test_a_changed_row_and_a_changed_article_are_checked_again(package_copy, bodies, tmp_path):
    validated.record(package_copy, bodies)
    staged = _copy(package_copy, tmp_path / "staged")
    mentions = staged / "data" / "mentions.csv"
    lines = mentions.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3].replace(",registry", ",curated")  # row 4 of the CSV
    mentions.write_text("\n".join(lines), encoding="utf-8")
    known = _known(staged, package_copy)
    assert not known.rows["mentions"][2] and known.rows["mentions"].sum() == len(known.rows["mentions"]) - 1

    edited = dict(bodies)
    first = sorted(bodies)[0]
    edited[first] = bodies[first] + "。"
    frames = {name: read_csv_strict(name, (staged / "data" / f"{name}.csv").read_bytes())[0] for name in paths.TABLES}
    schemas = {name: json.loads((staged / "schemas" / f"{name}.json").read_text(encoding="utf-8")) for name in paths.TABLES}
    rows = _rows_to_check(frames, schemas, known, edited)
    of_first = (frames["mentions"]["source_id"] == first).to_numpy()
    assert rows["mentions"][of_first].all()  # the edited article's mentions: checked again
    others = ~of_first
    others[2] = False
    assert not rows["mentions"][others].any()  # the rest: vouched for
    problems, _ = _pandera_problems(frames, schemas, edited, known)
    assert any(p.check == "text_hash" and p.table == "sources" for p in problems)


def test_nothing_is_known_when_the_published_file_or_the_code_changed(package_copy, bodies, tmp_path, monkeypatch):
    validated.record(package_copy, bodies)
    staged = _copy(package_copy, tmp_path / "staged")
    with open(package_copy / "data" / "events.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")  # the published file is no longer what was validated
    assert "events" not in _known(staged, package_copy).rows
    monkeypatch.setattr("pipeline.cache.code_hash", lambda: "other code")
    assert _known(staged, package_copy) is None
    (package_copy / validated.RECORD).unlink()
    monkeypatch.undo()
    assert _known(staged, package_copy) is None


def test_a_fault_in_a_vouched_for_table_edited_by_hand_is_still_found(package_copy, bodies, tmp_path):
    """The published copy is edited with a bad value and the new package repeats it:
    the record no longer matches the file, so the row is checked (and reported)."""
    validated.record(package_copy, bodies)
    path = package_copy / "data" / "events.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[1][rows[0].index("date_precision")] = "decade"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    staged = _copy(package_copy, tmp_path / "staged")
    full = validate_package(staged, bodies)
    incremental = validate_package(staged, bodies, baseline=package_copy)
    assert set(full.problems) == set(incremental.problems)
    assert not incremental.ok


def test_a_build_records_what_it_validated(tmp_path):
    from pipeline.build import build

    for name in ("schemas", "corpus", "curation"):
        shutil.copytree(paths.ROOT / name, tmp_path / name)
    shutil.copy(paths.DATAPACKAGE, tmp_path / "datapackage.json")
    from pipeline.executor import Settings, using

    with using(Settings(executor="local", progress=False, cache_dir=tmp_path / ".build" / "cache")):
        build(tmp_path)
    record = json.loads((tmp_path / validated.RECORD).read_text(encoding="utf-8"))
    assert sorted(record["tables"]) == sorted(paths.TABLES)
    known = _known(tmp_path, tmp_path)
    assert all(np.asarray(mask).all() for mask in known.rows.values())


def test_a_sources_table_without_its_id_column_is_reported_not_a_crash(package_copy, bodies, tmp_path):
    validated.record(package_copy, bodies)
    staged = _copy(package_copy, tmp_path / "staged")
    path = staged / "data" / "sources.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([row[1:] for row in rows])  # source_id dropped
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    full = validate_package(staged, bodies)
    incremental = validate_package(staged, bodies, baseline=package_copy)
    assert not incremental.ok
    assert set(incremental.problems) == set(full.problems)


# --- which lines are known: the common start and end at once, the rest looked up -----

LINE = st.text(alphabet=list("ab,"), min_size=0, max_size=3).map(str.encode)


def _file(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in [b"h", *lines])


def _by_lookup(before: bytes, raw: bytes) -> list[bool]:
    seen = set(before.split(b"\n")[1:-1])
    return [line in seen for line in raw.split(b"\n")[1:-1]]


@settings(max_examples=600, deadline=None)
@given(st.lists(LINE, max_size=12), st.lists(LINE, max_size=12))
def test_known_lines_never_vouch_for_a_line_the_old_file_lacks(old, new):
    """Against looking every line up in the old file: never known when absent, and the
    same answer when the new file repeats no line (a repeated line may be checked again)."""
    before, raw = _file(old), _file(new)
    found = validated.known_lines(before, raw).tolist()
    expected = _by_lookup(before, raw)
    assert len(found) == len(new)
    assert all(e for f, e in zip(found, expected) if f)
    if len(set(new)) == len(new):
        assert found == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=12, unique=True), st.data())
def test_known_lines_after_a_run_of_lines_changed(lines, data):
    """A rebuild's shape: the same sorted lines with one run replaced."""
    start = data.draw(st.integers(0, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    inserted = data.draw(st.lists(LINE.filter(lambda line: line not in lines), max_size=4, unique=True))
    before, raw = _file(lines), _file(lines[:start] + inserted + lines[end:])
    assert validated.known_lines(before, raw).tolist() == _by_lookup(before, raw)


def _read_ahead(staged: Path, baseline: Path | None):
    from pipeline.validate import ReadAhead

    ahead = ReadAhead(baseline)
    for name in paths.TABLES:
        ahead.read(name, staged / "data" / f"{name}.csv")
    return ahead


def _same_report(one, other) -> bool:
    return (one.ok, one.problems, one.warnings, one.skipped) == (other.ok, other.problems, other.warnings, other.skipped)


def test_tables_read_ahead_validate_as_read_then(package_copy, bodies, tmp_path):
    """What a build's process reads while its child stages (`ReadAhead`): the same
    report as reading at validation, and a row changed after the reading is checked."""
    validated.record(package_copy, bodies)
    staged = _copy(package_copy, tmp_path / "staged")
    ahead = _read_ahead(staged, package_copy)
    assert ahead.tables == frozenset(paths.TABLES)
    report = validate_package(staged, bodies, baseline=package_copy, ahead=ahead)
    assert report.ok and _same_report(report, validate_package(staged, bodies, baseline=package_copy))

    ahead = _read_ahead(staged, package_copy)
    events = staged / "data" / "events.csv"
    lines = events.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    cells = next(csv.reader([lines[1]]))
    cells[header.index("date")] = "2025-13-45"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[1] = out.getvalue()
    events.write_text("\n".join(lines), encoding="utf-8")  # after it was read ahead
    stale = validate_package(staged, bodies, baseline=package_copy, ahead=ahead)
    assert not stale.ok and any(p.table == "events" and p.row == 2 and p.field == "date" for p in stale.problems)
    assert _same_report(stale, validate_package(staged, bodies, baseline=package_copy))


def test_lines_matched_ahead_are_used_only_against_the_same_baseline(package_copy, bodies, tmp_path, monkeypatch):
    import pipeline.validated

    validated.record(package_copy, bodies)
    staged = _copy(package_copy, tmp_path / "staged")
    mentions = staged / "data" / "mentions.csv"
    lines = mentions.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3].replace(",registry", ",curated")
    mentions.write_text("\n".join(lines), encoding="utf-8")
    meta = json.loads((staged / "datapackage.json").read_text(encoding="utf-8"))
    raws = {r["name"]: (staged / r["path"]).read_bytes() for r in meta["resources"]}
    counts = {name: raw.count(b"\n") - 1 for name, raw in raws.items()}
    plain = known_rows(package_copy, meta, staged, raws, counts)
    ahead = _read_ahead(staged, package_copy)
    other = _copy(package_copy, tmp_path / "other-baseline")  # recorded too, with a shorter mentions table
    other_mentions = other / "data" / "mentions.csv"
    other_mentions.write_text("\n".join(other_mentions.read_text(encoding="utf-8").split("\n")[:-5] + [""]), encoding="utf-8")
    validated.record(other, bodies)
    expected = known_rows(other, meta, staged, raws, counts)
    ahead_of_other = _read_ahead(staged, package_copy)

    matched: list[str] = []
    real = pipeline.validated.known_lines
    monkeypatch.setattr(pipeline.validated, "known_lines", lambda before, raw: matched.append("again") or real(before, raw))
    reread = pipeline.validated.vouched
    monkeypatch.setattr(pipeline.validated, "vouched", lambda *args: matched.append("baseline read") or reread(*args))
    with_ahead = known_rows(package_copy, meta, staged, raws, counts, ahead.matched)
    assert matched == []  # every table's lines came from the reading ahead, the baseline's tables not read again
    assert {n: m.tolist() for n, m in with_ahead.rows.items()} == {n: m.tolist() for n, m in plain.rows.items()}

    against_other = known_rows(other, meta, staged, raws, counts, ahead_of_other.matched)
    assert matched == ["baseline read", "again"]  # mentions: matched again, against the other baseline's
    assert {n: m.tolist() for n, m in against_other.rows.items()} == {n: m.tolist() for n, m in expected.rows.items()}
    assert not against_other.rows["mentions"][-4:].any()  # lines the other baseline lacks: not known
