"""The validator's reading, zips, report formats and command line on real packages."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
from click.testing import CliRunner

from pipeline import paths
from pipeline.cli import cli
from pipeline.tables import read_table
from pipeline.csvread import read_csv_strict
from pipeline.validate import validate_package
from tests.conftest import zip_package


def test_strict_reader_reads_committed_tables_like_read_table():
    for path in sorted(paths.DATA.glob("*.csv")):
        frame, problems = read_csv_strict(path.stem, path.read_bytes())
        assert problems == []
        expected = read_table(path)
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected, check_dtype=False)


def test_a_zipped_package_validates(package_copy, tmp_path_factory):
    archive = zip_package(package_copy, tmp_path_factory.mktemp("zips") / "release.zip")
    report = validate_package(archive, paths.CORPUS)
    assert report.ok, report.text()
    assert report.package == str(archive) and len(report.tables) == len(paths.TABLES)


def test_a_zip_with_a_link_out_is_refused(package_copy, tmp_path_factory):
    archive = zip_package(package_copy, tmp_path_factory.mktemp("zips") / "link.zip")
    with zipfile.ZipFile(archive, "a") as z:
        info = zipfile.ZipInfo("data/evil.csv")
        info.external_attr = (0o120777 << 16)  # a symbolic link entry
        z.writestr(info, "/etc/passwd")
    report = validate_package(archive)
    assert not report.ok and any("symbolic link" in p.message for p in report.problems)
    assert not (archive.parent / "etc").exists()


def test_cli_refuses_a_zip_slip_with_exit_1_and_no_traceback(package_copy, tmp_path_factory):
    archive = zip_package(package_copy, tmp_path_factory.mktemp("zips") / "slip.zip", {"../../escaped.txt": "x"})
    result = CliRunner().invoke(cli, ["validate", str(archive), "--corpus", str(paths.CORPUS)])
    assert result.exit_code == 1
    assert "zip slip" in result.output and "Traceback" not in result.output
    assert not (archive.parent.parent / "escaped.txt").exists()


def test_json_report_carries_problems_and_warnings(package_copy):
    rows = (package_copy / "data" / "entities.csv").read_text(encoding="utf-8").split("\n")
    first = rows[2].split(",")
    first[2] = "=cmd|' /C calc'!A0"
    rows[2] = ",".join(first)
    (package_copy / "data" / "entities.csv").write_text("\n".join(rows), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(package_copy), "--format", "json", "--corpus", str(paths.CORPUS)])
    report = json.loads(result.output)
    assert result.exit_code == 1  # the edit also made the hash stale
    assert {p["check"] for p in report["problems"]} <= {"hash-count", "byte-count"}
    assert [(w["table"], w["row"], w["field"], w["check"]) for w in report["warnings"]] == [("entities", 3, "name", "formula_cell")]


def test_bodies_given_directly_check_the_text_like_the_corpus_folder(package_copy, articles):
    """The build hands validation the bodies it has read; the text checks are the same."""
    import csv
    import io

    from pipeline.package import read_descriptor, write_descriptor

    bodies = {a.source_id: a.body for a in articles}
    assert validate_package(package_copy, bodies).ok
    evidence = package_copy / "data" / "event_evidence.csv"
    rows = list(csv.reader(io.StringIO(evidence.read_text(encoding="utf-8"))))
    rows[1][rows[0].index("quote")] = "（引用を書き換えた）"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    evidence.write_text(out.getvalue(), encoding="utf-8")
    write_descriptor(package_copy, read_descriptor(package_copy / "datapackage.json"))
    by_folder, by_bodies = validate_package(package_copy, paths.CORPUS), validate_package(package_copy, bodies)
    assert not by_bodies.ok and [p.check for p in by_bodies.problems] == [p.check for p in by_folder.problems]
    assert "span_text" in {p.check for p in by_bodies.problems}
    assert validate_package(package_copy, None).skipped


def test_a_large_package_shows_a_validation_bar_only_when_asked(monkeypatch, capsys):
    from pipeline import paths

    monkeypatch.setattr("pipeline.validate.LARGE_PACKAGE_BYTES", 0)  # the committed package counts as large
    assert validate_package(paths.ROOT, paths.CORPUS, progress=True).ok
    shown = capsys.readouterr().err
    assert "validate" in shown and "14/14" in shown  # each table read, then checked
    assert validate_package(paths.ROOT, paths.CORPUS, progress=False).ok
    assert capsys.readouterr().err == ""
