"""The loader: typed frames from every kind of source, and refusal of anything tampered.

Expected types and values are derived from the schema JSON and the raw CSV text, not
from the loader.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import LoadError, load, paths
from pipeline.package import read_descriptor, write_descriptor
from tests.conftest import zip_package

# The documented mapping: Table Schema type → pandas dtype name (enums are categoricals).
DTYPES = {
    "string": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "date32[day][pyarrow]",
}
TRUE = {"true", "True", "TRUE", "1"}


def _descriptor(folder: Path) -> dict:
    return json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))


def _write(folder: Path, descriptor: dict) -> None:
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _resources(folder: Path):
    for resource in _descriptor(folder)["resources"]:
        schema = json.loads((folder / resource["schema"]).read_text(encoding="utf-8"))
        yield resource["name"], schema, _csv(folder / resource["path"])


@pytest.fixture(scope="module")
def committed() -> dict[str, pd.DataFrame]:
    return load(paths.ROOT)


def test_every_table_of_the_descriptor_is_loaded_in_order(committed):
    assert list(committed) == [r["name"] for r in _descriptor(paths.ROOT)["resources"]]


def test_column_types_follow_the_table_schemas(committed):
    for name, schema, rows in _resources(paths.ROOT):
        frame = committed[name]
        assert list(frame.columns) == [f["name"] for f in schema["fields"]], name
        assert len(frame) == len(rows) - 1, name
        for field in schema["fields"]:
            column = frame[field["name"]]
            enum = field.get("constraints", {}).get("enum")
            if enum is not None:
                assert isinstance(column.dtype, pd.CategoricalDtype), (name, field["name"])
                assert list(column.cat.categories) == enum, (name, field["name"])
            else:
                assert str(column.dtype) == DTYPES[field["type"]], (name, field["name"], column.dtype)


def test_values_equal_the_csv_cells(committed):
    for name, schema, rows in _resources(paths.ROOT):
        frame = committed[name]
        for index, field in enumerate(schema["fields"]):
            for row, value in zip(rows[1:], frame[field["name"]].astype(object)):
                cell = row[index]
                if cell == "":
                    assert pd.isna(value), (name, field["name"], cell)
                elif field["type"] == "date":
                    assert value == dt.date.fromisoformat(cell), (name, field["name"])
                elif field["type"] == "boolean":
                    assert value is (cell in TRUE), (name, field["name"])
                elif field["type"] in ("integer", "number"):
                    assert value == float(cell), (name, field["name"])
                else:
                    assert value == cell, (name, field["name"])


def test_the_fixture_has_every_kind_of_column(committed):
    """Guards the tests above: the committed package exercises each mapped type."""
    kinds = {f["type"] for _, schema, _ in _resources(paths.ROOT) for f in schema["fields"]}
    assert kinds == set(DTYPES)


def _same(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> bool:
    return list(left) == list(right) and all(left[n].equals(right[n]) for n in left)


def test_folder_descriptor_zip_and_file_url_give_the_same_tables(committed, package_copy, tmp_path_factory):
    release = zip_package(package_copy, tmp_path_factory.mktemp("dist") / "ai-openness-events-9.9.9.zip")
    assert _same(load(package_copy), committed)
    assert _same(load(package_copy / "datapackage.json"), committed)
    assert _same(load(str(release)), committed)
    assert _same(load(release.as_uri()), committed)
    assert _same(load((package_copy / "datapackage.json").as_uri()), committed)


def test_same_size_edit_fails_the_hash(package_copy):
    path = package_copy / "data" / "events.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("OpenAI", "OpenAJ", 1), encoding="utf-8", newline="")
    sizes = {r["name"]: r["bytes"] for r in _descriptor(package_copy)["resources"]}
    assert path.stat().st_size == sizes["events"]
    with pytest.raises(LoadError, match=r"resource events: .*sha256"):
        load(package_copy)


def test_appended_row_fails_the_size(package_copy):
    with (package_copy / "data" / "mentions.csv").open("a", encoding="utf-8") as handle:
        handle.write("x,y,z,1,2,s,registry\n")
    with pytest.raises(LoadError, match=r"resource mentions: .*bytes"):
        load(package_copy)


def test_tampered_zip_member_is_refused(package_copy, tmp_path_factory):
    (package_copy / "data" / "sources.csv").write_bytes(b"tampered\n")
    with pytest.raises(LoadError, match="resource sources"):
        load(zip_package(package_copy, tmp_path_factory.mktemp("zip") / "bad.zip"))


@pytest.mark.parametrize("entry", ["../evil.txt", "/etc/evil.txt", "data/../../evil.txt", "..\\evil.txt"])
def test_zip_slip_entries_refuse_the_archive(package_copy, tmp_path_factory, entry):
    release = zip_package(package_copy, tmp_path_factory.mktemp("zip") / "slip.zip", {entry: "x"})
    with pytest.raises(LoadError, match="zip slip"):
        load(release)


@pytest.mark.parametrize(
    "key, value, why",
    [
        ("path", "/etc/passwd", "absolute"),
        ("path", "../outside.csv", r"\.\."),
        ("path", "data/../../outside.csv", r"\.\."),
        ("path", "https://example.org/events.csv", "URL"),
        ("path", "file:///etc/passwd", "URL"),
        ("schema", "../schemas/events.json", r"\.\."),
        ("schema", "http://example.org/events.json", "URL"),
    ],
)
def test_unsafe_resource_paths_name_the_resource(package_copy, key, value, why):
    descriptor = _descriptor(package_copy)
    next(r for r in descriptor["resources"] if r["name"] == "events")[key] = value
    _write(package_copy, descriptor)
    with pytest.raises(LoadError, match=rf"resource events {key}: .*{why}"):
        load(package_copy)


def test_link_out_of_the_package_is_refused(package_copy, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "models.csv"
    shutil.copy(package_copy / "data" / "models.csv", outside)  # same bytes: the hash would pass
    (package_copy / "data" / "models.csv").unlink()
    (package_copy / "data" / "models.csv").symlink_to(outside)
    with pytest.raises(LoadError, match="outside the package"):
        load(package_copy)


def test_remote_sources_are_refused_without_fetching():
    with pytest.raises(LoadError, match="only local paths and file:// URLs"):
        load("https://example.org/datapackage.json")


def test_resource_without_hash_cannot_be_verified(package_copy):
    descriptor = _descriptor(package_copy)
    del descriptor["resources"][0]["hash"]
    _write(package_copy, descriptor)
    with pytest.raises(LoadError, match="resource sources: .*cannot be verified"):
        load(package_copy)


def _edit_first_row(folder: Path, table: str, field: str, value: str) -> None:
    """Set `field` in the first data row (CSV row 2) and re-package, as a contributor would."""
    path = folder / "data" / f"{table}.csv"
    rows = _csv(path)
    rows[1][rows[0].index(field)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    write_descriptor(folder, read_descriptor(folder / "datapackage.json"))


@pytest.mark.parametrize(
    "table, field, value, why",
    [
        ("mentions", "start", "12.5", "not a valid integer"),
        ("events", "date_start", "2025-02-30", "not a valid date"),
        ("events", "date_conflict", "yes", "not a valid boolean"),
        ("event_evidence", "confidence", "high", "not a valid number"),
        ("entities", "type", "robot", "not in the schema's enum"),
    ],
)
def test_mistyped_cell_with_a_matching_hash_names_row_and_field(package_copy, table, field, value, why):
    _edit_first_row(package_copy, table, field, value)
    with pytest.raises(LoadError, match=rf"resource {table}: row 2 field {field}: '{value}' is {why}"):
        load(package_copy)


def test_header_that_differs_from_the_schema_is_refused(package_copy):
    path = package_copy / "data" / "models.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("openness", "openess", 1), encoding="utf-8", newline="")
    write_descriptor(package_copy, read_descriptor(package_copy / "datapackage.json"))
    with pytest.raises(LoadError, match="resource models: header"):
        load(package_copy)


def test_importing_the_loader_does_not_load_nlp_or_validation_libraries():
    code = (
        "import sys; from pipeline import load; load(sys.argv[1]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ginza', 'spacy', 'sudachipy', 'pandera', 'frictionless'}))"
    )
    env = {**os.environ, "PYTHONPATH": str(paths.ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(paths.ROOT)], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_table_file_names_the_resource(package_copy):
    (package_copy / "data" / "models.csv").unlink()
    with pytest.raises(LoadError, match="resource models: 'data/models.csv' does not exist"):
        load(package_copy)
