"""SQLite and Parquet exports: row counts, keys and types against the CSVs and schemas."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline import load, paths
from pipeline.cli import cli
from pipeline.export import ExportError, export
from pipeline.package import read_descriptor, write_descriptor

# The documented mappings of Table Schema types.
SQLITE = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT"}
ARROW = {
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "integer": lambda t: t == pa.int64(),
    "number": lambda t: t == pa.float64(),
    "boolean": lambda t: t == pa.bool_(),
    "date": lambda t: t == pa.date32(),
}


def _package(folder: Path) -> list[tuple[str, dict, list[list[str]]]]:
    """(name, Table Schema, CSV rows with header) for each resource, read directly."""
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    out = []
    for resource in descriptor["resources"]:
        schema = json.loads((folder / resource["schema"]).read_text(encoding="utf-8"))
        with (folder / resource["path"]).open(encoding="utf-8", newline="") as handle:
            out.append((resource["name"], schema, list(csv.reader(handle))))
    return out


def _keys(fields) -> list[str]:
    return [fields] if isinstance(fields, str) else list(fields)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export(paths.ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture()
def db(exported):
    connection = sqlite3.connect(exported.sqlite)
    yield connection
    connection.close()


def test_sqlite_is_named_after_the_package_version(exported):
    descriptor = json.loads(paths.DATAPACKAGE.read_text(encoding="utf-8"))
    assert exported.sqlite.name == f"{descriptor['name']}-{descriptor['version']}.sqlite"


def test_sqlite_rows_equal_the_csv_rows_in_file_order(db):
    for name, schema, rows in _package(paths.ROOT):
        first = schema["fields"][0]["name"]
        stored = [r[0] for r in db.execute(f'SELECT "{first}" FROM "{name}" ORDER BY rowid')]
        assert stored == [row[0] for row in rows[1:]], name


def test_sqlite_columns_types_and_primary_keys_follow_the_schemas(db):
    for name, schema, _ in _package(paths.ROOT):
        info = db.execute(f'PRAGMA table_info("{name}")').fetchall()  # cid, name, type, notnull, default, pk
        fields = schema["fields"]
        assert [c[1] for c in info] == [f["name"] for f in fields], name
        assert [c[2] for c in info] == [SQLITE[f["type"]] for f in fields], name
        required = [bool(f.get("constraints", {}).get("required")) for f in fields]
        assert [bool(c[3]) for c in info] == required, name
        primary = sorted((c[5], c[1]) for c in info if c[5])
        assert [column for _, column in primary] == _keys(schema["primaryKey"]), name


def test_sqlite_foreign_keys_follow_the_schemas(db):
    for name, schema, _ in _package(paths.ROOT):
        declared = {
            (fk["reference"]["resource"], child, parent)
            for fk in schema.get("foreignKeys", [])
            for child, parent in zip(_keys(fk["fields"]), _keys(fk["reference"]["fields"]))
        }
        found = {(r[2], r[3], r[4]) for r in db.execute(f'PRAGMA foreign_key_list("{name}")')}
        assert found == declared, name


def test_foreign_key_check_passes_and_keys_are_enforced(db):
    db.execute("PRAGMA foreign_keys=ON")
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        db.execute("INSERT INTO event_participants VALUES ('model_release-000000000000', 'organization:openai', 'agent')")


def test_parquet_row_counts_and_types_follow_the_schemas(exported):
    for name, schema, rows in _package(paths.ROOT):
        path = exported.parquet[name]
        assert path == path.parent.parent / "parquet" / f"{name}.parquet"
        assert pq.read_metadata(path).num_rows == len(rows) - 1, name
        arrow = pq.read_schema(path)
        assert arrow.names == [f["name"] for f in schema["fields"]], name
        for field in schema["fields"]:
            kind = arrow.field(field["name"]).type
            if "enum" in field.get("constraints", {}):
                assert pa.types.is_dictionary(kind), (name, field["name"], kind)
            else:
                assert ARROW[field["type"]](kind), (name, field["name"], kind)


def test_parquet_reads_back_as_the_loader_frames(exported):
    tables = load(paths.ROOT)
    for name, frame in tables.items():
        back = pd.read_parquet(exported.parquet[name])
        assert back.dtypes.astype(str).tolist() == frame.dtypes.astype(str).tolist(), name
        assert back.equals(frame), name


def test_export_is_byte_identical_on_rerun(exported, tmp_path):
    again = export(paths.ROOT, tmp_path)
    assert again.sqlite.read_bytes() == exported.sqlite.read_bytes()
    for name, path in exported.parquet.items():
        assert again.parquet[name].read_bytes() == path.read_bytes(), name


def _orphan(folder: Path) -> None:
    """Point the first participant at an event that does not exist, and re-package."""
    path = folder / "data" / "event_participants.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[1] = "model_release-000000000000" + lines[1][lines[1].index(","):]
    path.write_text("\n".join(lines), encoding="utf-8", newline="")
    write_descriptor(folder, read_descriptor(folder / "datapackage.json"))


def test_orphan_row_fails_the_export_and_leaves_the_previous_files(package_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    first = export(package_copy, out)
    before = first.sqlite.read_bytes()
    _orphan(package_copy)
    with pytest.raises(ExportError, match=r"event_participants: row 2 refers to a missing events row"):
        export(package_copy, out)
    assert first.sqlite.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [first.sqlite.name, "parquet"]


def test_cli_reports_a_tampered_package_without_traceback(package_copy, tmp_path_factory):
    (package_copy / "data" / "events.csv").write_text("tampered\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(package_copy), "--out", str(tmp_path_factory.mktemp("dist"))])
    assert result.exit_code == 1
    assert "resource events" in result.output and "Traceback" not in result.output


def test_cli_exports_a_package(package_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = CliRunner().invoke(cli, ["export", (package_copy / "datapackage.json").as_uri(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "parquet" / "events.parquet").is_file()
    assert len(list(out.glob("*.sqlite"))) == 1


def test_unversioned_package_is_refused(package_copy, tmp_path_factory):
    descriptor = json.loads((package_copy / "datapackage.json").read_text(encoding="utf-8"))
    del descriptor["version"]
    (package_copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with pytest.raises(ExportError, match="version None must be set"):
        export(package_copy, tmp_path_factory.mktemp("dist"))
