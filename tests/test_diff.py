"""`pipeline diff`: rows and schema changes between two packages, and the bump they need.

Changes are injected into a copy of the committed package with plain csv/json edits,
so the expected rows come from the edit itself, never from the code under test.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import paths
from pipeline.cli import cli
from pipeline.diff import DiffError, Table, diff_packages, load_package


def _rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / "data" / f"{table}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_rows(folder: Path, table: str, rows: list[dict[str, str]], header: list[str] | None = None) -> None:
    header = header or list(rows[0])
    with (folder / "data" / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _edit_schema(folder: Path, table: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "schemas" / f"{table}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    edit(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def _diff(folder: Path):
    return diff_packages(load_package(paths.ROOT), load_package(folder))


def _by_name(diff) -> dict[str, Any]:
    return {r.name: r for r in diff.resources}


def test_identical_copy_has_no_changes(package_copy: Path) -> None:
    diff = _diff(package_copy)
    assert diff.bump == "none"
    assert {r.status for r in diff.resources} == {"unchanged"}
    assert [r.name for r in diff.resources] == list(paths.TABLES)


def test_injected_changes_are_listed_exactly(package_copy: Path) -> None:
    # a value changed
    events = _rows(package_copy, "events")
    changed_id, old_summary = events[0]["event_id"], events[0]["summary"]
    events[0]["summary"] = "Changed summary."
    # a field added to a schema (and its column to the table)
    for row in events:
        row["note"] = ""
    _write_rows(package_copy, "events", events)
    _edit_schema(package_copy, "events", lambda s: s["fields"].append({"name": "note", "type": "string"}))
    # a row added
    mentions = _rows(package_copy, "mentions")
    added = dict(mentions[0], mention_id=f"{mentions[0]['source_id']}:0-1", start="0", end="1")
    _write_rows(package_copy, "mentions", [*mentions, added])
    # a row removed that other rows refer to (a mentioned entity)
    entities = _rows(package_copy, "entities")
    gone = entities[0]["entity_id"]
    assert gone in {m["entity_id"] for m in mentions}
    _write_rows(package_copy, "entities", entities[1:])
    # a constraint tightened
    minimum = _field(json.loads((package_copy / "schemas" / "sources.json").read_text()), "char_count")["constraints"]["minimum"]
    _edit_schema(package_copy, "sources", lambda s: _field(s, "char_count")["constraints"].update(minimum=minimum + 100))

    resources = _by_name(_diff(package_copy))
    assert {n for n, r in resources.items() if r.status == "changed"} == {"events", "mentions", "entities", "sources"}
    assert [(c.key, c.fields) for c in resources["events"].changed] == [((changed_id,), {"summary": (old_summary, "Changed summary.")})]
    assert (resources["events"].added, resources["events"].removed) == ([], [])
    assert [(c.level, c.subject, c.what) for c in resources["events"].changes] == [("major", "field events.note", "added")]
    assert resources["mentions"].added == [(added["mention_id"],)]
    assert (resources["mentions"].removed, resources["mentions"].changed, resources["mentions"].changes) == ([], [], [])
    assert resources["entities"].removed == [(gone,)]
    assert resources["entities"].referenced_removed == [(gone,)]
    assert [(c.level, c.subject) for c in resources["sources"].changes] == [("major", "field sources.char_count")]
    assert f"minimum tightened: {minimum} → {minimum + 100}" in resources["sources"].changes[0].what
    assert (resources["sources"].added, resources["sources"].removed, resources["sources"].changed) == ([], [], [])
    levels = {name: r.level for name, r in resources.items()}
    assert levels == {
        "sources": "major", "entities": "major", "mentions": "minor", "events": "major",
        "event_participants": "none", "event_evidence": "none", "models": "none",
    }


def _drop_unreferenced_mention(folder: Path) -> None:
    _write_rows(folder, "mentions", _rows(folder, "mentions")[1:])


def _add_mention(folder: Path) -> None:
    mentions = _rows(folder, "mentions")
    _write_rows(folder, "mentions", [*mentions, dict(mentions[0], mention_id=f"{mentions[0]['source_id']}:0-1")])


def _change_value(folder: Path) -> None:
    models = _rows(folder, "models")
    models[0]["name"] += " (corrected)"
    _write_rows(folder, "models", models)


def _drop_event(folder: Path) -> None:  # events are referenced by participants and evidence
    _write_rows(folder, "events", _rows(folder, "events")[1:])


def _reorder_fields(folder: Path) -> None:
    _edit_schema(folder, "entities", lambda s: s["fields"].insert(0, s["fields"].pop(2)))


def _rename_field(folder: Path) -> None:
    _edit_schema(folder, "models", lambda s: _field(s, "name").update(name="label"))


def _change_type(folder: Path) -> None:
    _edit_schema(folder, "events", lambda s: _field(s, "amount").update(type="integer"))


def _remove_field(folder: Path) -> None:
    _edit_schema(folder, "sources", lambda s: s["fields"].pop())


def _loosen_pattern(folder: Path) -> None:
    _edit_schema(folder, "events", lambda s: _field(s, "currency")["constraints"].pop("pattern"))


def _extend_enum(folder: Path) -> None:
    _edit_schema(folder, "events", lambda s: _field(s, "type")["constraints"]["enum"].append("lawsuit"))


def _shrink_enum(folder: Path) -> None:
    _edit_schema(folder, "events", lambda s: _field(s, "type")["constraints"]["enum"].remove("conference"))


def _make_required(folder: Path) -> None:
    _edit_schema(folder, "sources", lambda s: _field(s, "author").setdefault("constraints", {}).update(required=True))


def _describe(folder: Path) -> None:
    _edit_schema(folder, "models", lambda s: _field(s, "name").update(description="Reworded."))


def _edit_descriptor(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    edit(descriptor)
    path.write_text(json.dumps(descriptor), encoding="utf-8")


def _drop_resource(folder: Path) -> None:
    _edit_descriptor(folder, lambda d: d["resources"].pop())


def _add_resource(folder: Path) -> None:
    def edit(descriptor: dict[str, Any]) -> None:
        descriptor["resources"].append(dict(descriptor["resources"][0], name="sources_copy"))

    _edit_descriptor(folder, edit)


def _rename_package(folder: Path) -> None:
    _edit_descriptor(folder, lambda d: d.update(name="other-name"))


def _retitle_package(folder: Path) -> None:
    _edit_descriptor(folder, lambda d: d.update(title="Another title", version="9.9.9", created="2030-01-01T00:00:00Z"))


@pytest.mark.parametrize(
    "edit, bump",
    [
        (_drop_unreferenced_mention, "patch"),
        (_add_mention, "minor"),
        (_change_value, "patch"),
        (_drop_event, "major"),
        (_reorder_fields, "major"),
        (_rename_field, "major"),
        (_change_type, "major"),
        (_remove_field, "major"),
        (_loosen_pattern, "minor"),
        (_extend_enum, "minor"),
        (_shrink_enum, "major"),
        (_make_required, "major"),
        (_describe, "patch"),
        (_drop_resource, "major"),
        (_add_resource, "minor"),
        (_rename_package, "major"),
        (_retitle_package, "patch"),
    ],
)
def test_required_bump_follows_the_version_recipe(package_copy: Path, edit, bump: str) -> None:
    edit(package_copy)
    assert _diff(package_copy).bump == bump


def test_removed_event_is_reported_as_referenced(package_copy: Path) -> None:
    events = _rows(package_copy, "events")
    _drop_event(package_copy)
    events_diff = _by_name(_diff(package_copy))["events"]
    assert events_diff.removed == events_diff.referenced_removed == [(events[0]["event_id"],)]


def test_a_release_zip_reads_like_its_folder(package_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    archive = tmp_path_factory.mktemp("zip") / "pkg.zip"  # outside the folder it zips
    files = sorted(p for p in package_copy.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w") as out:
        for path in files:
            out.write(path, path.relative_to(package_copy).as_posix())
    _change_value(package_copy)
    diff = diff_packages(load_package(archive), load_package(package_copy / "datapackage.json"))
    assert diff.bump == "patch"
    assert [r.name for r in diff.resources if r.status == "changed"] == ["models"]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_edit_of_a_table_is_found(data: st.DataObject) -> None:
    old = load_package(paths.ROOT)
    rows = old.tables["event_evidence"].rows
    keys = [(r["event_id"], r["source_id"], r["start"]) for r in rows]
    indices = st.sampled_from(range(len(rows)))
    removed = data.draw(st.sets(indices, max_size=5))
    changed = data.draw(st.sets(indices, max_size=5)) - removed
    new_rows = [
        dict(row, quote=row["quote"] + "!") if i in changed else row for i, row in enumerate(rows) if i not in removed
    ]
    new = replace(old, label="edited", tables={**old.tables, "event_evidence": Table(old.tables["event_evidence"].header, new_rows)})
    evidence = _by_name(diff_packages(old, new))["event_evidence"]
    assert set(evidence.removed) == {keys[i] for i in removed}
    assert {c.key for c in evidence.changed} == {keys[i] for i in changed}
    assert all(list(c.fields) == ["quote"] for c in evidence.changed)
    assert evidence.added == evidence.referenced_removed == []


def test_cli_json_and_text(package_copy: Path) -> None:
    _change_value(package_copy)
    model = _rows(paths.ROOT, "models")[0]
    runner = CliRunner()
    result = runner.invoke(cli, ["diff", str(paths.ROOT), str(package_copy), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["bump"] == "patch"
    models = next(r for r in report["resources"] if r["name"] == "models")
    assert models["changed"] == [
        {"key": [model["model_id"]], "fields": {"name": {"old": model["name"], "new": model["name"] + " (corrected)"}}}
    ]
    text = runner.invoke(cli, ["diff", str(paths.ROOT), str(package_copy)]).output
    assert f"~ {model['model_id']}" in text
    assert text.rstrip().endswith("required bump: patch")


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda f: (f / "data" / "models.csv").write_text("model_id,name\nmodel:x,a\nmodel:x,b\n"), "models.csv: row 3 repeats the primary key model_id='model:x'"),
        (lambda f: (f / "data" / "events.csv").write_text("event_id,type\na\n"), "events.csv: row 2 has 1 cells, the header 2"),
        (lambda f: (f / "data" / "sources.csv").unlink(), "cannot read data/sources.csv"),
        (lambda f: _edit_descriptor(f, lambda d: d["resources"][0].update(path="../outside.csv")), "'../outside.csv' contains '..' and points outside the package"),
        (lambda f: _edit_descriptor(f, lambda d: d["resources"][0].update(path="C:\\data\\sources.csv")), "is an absolute path outside the package"),
        (lambda f: _edit_descriptor(f, lambda d: d["resources"][0].update(path="s3://bucket/sources.csv")), "is a URL; the pipeline never fetches anything"),
        (lambda f: (f / "datapackage.json").write_text("{"), "datapackage.json is not valid UTF-8 JSON"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(package_copy: Path, break_it, message: str) -> None:
    break_it(package_copy)
    with pytest.raises(DiffError) as caught:
        _diff(package_copy)
    assert message in str(caught.value)
    result = CliRunner().invoke(cli, ["diff", str(paths.ROOT), str(package_copy)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
