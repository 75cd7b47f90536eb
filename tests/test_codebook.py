"""The codebook, CITATION.cff and the users' CI workflow, checked against the package."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline import paths
from pipeline.citation import set_citation_version
from pipeline.cli import cli
from pipeline.codebook import (
    CodebookError,
    codebook_text,
    stale_codebook,
    write_codebook,
)


def _resources(root: Path) -> list[tuple[str, dict, Path]]:
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    return [
        (r["name"], json.loads((root / r["schema"]).read_text(encoding="utf-8")), root / r["path"])
        for r in descriptor["resources"]
    ]


def _section(text: str, name: str) -> str:
    start = text.index(f"\n## {name}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _row(section: str, field: str) -> str:
    (line,) = [line for line in section.splitlines() if line.startswith(f"| `{field}` |")]
    return line


@pytest.fixture(scope="module")
def committed() -> str:
    return codebook_text(paths.ROOT)


def test_every_table_in_package_order_and_every_field(committed: str) -> None:
    resources = _resources(paths.ROOT)
    assert len(resources) == 7
    positions = [committed.index(f"\n## {name}\n") for name, _, _ in resources]
    assert positions == sorted(positions)
    for name, schema, _ in resources:
        section = _section(committed, name)
        assert schema["description"] in section
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert [r.split("`")[1] for r in rows] == [f["name"] for f in schema["fields"]]
        for key in schema["primaryKey"]:
            assert f"`{key}`" in section.split("Primary key:")[1].splitlines()[0]
        for fk in schema.get("foreignKeys", []):
            ref = fk["reference"]
            assert f"`{fk['fields'][0]}` → `{ref['resource']}.{ref['fields'][0]}`" in section


def test_types_constraints_and_descriptions_come_from_the_schemas(committed: str) -> None:
    for name, schema, _ in _resources(paths.ROOT):
        section = _section(committed, name)
        for field in schema["fields"]:
            row = _row(section, field["name"])
            cells = [c.strip() for c in row.strip("|").split(" | ")]
            assert cells[1].startswith(field["type"])
            constraints = field.get("constraints", {})
            assert ("required" in cells[2]) == bool(constraints.get("required"))
            assert ("unique" in cells[2]) == bool(constraints.get("unique"))
            for value in constraints.get("enum", []):
                assert f"`{value}`" in cells[2]
            for bound in ("minimum", "maximum"):
                if bound in constraints:
                    assert f"{bound} {constraints[bound]}" in cells[2]
            if "pattern" in constraints:
                assert constraints["pattern"].replace("|", "\\|") in cells[2]
            assert " ".join(field["description"].split()) in row


def test_examples_are_the_first_non_empty_value_in_file_order(committed: str) -> None:
    for name, schema, path in _resources(paths.ROOT):
        section = _section(committed, name)
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for field in schema["fields"]:
            first = next((r[field["name"]] for r in rows if r[field["name"]].strip()), None)
            row = _row(section, field["name"])
            if first is None:
                assert row.endswith("(always empty) |")
            else:
                assert first[:40].replace("|", "\\|") in row.rsplit(" | ", 1)[1]


def test_committed_codebook_is_current() -> None:
    assert stale_codebook(paths.ROOT) is None, "run: python -m pipeline codebook"


def test_check_detects_a_stale_codebook(package_copy: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["codebook", "--root", str(package_copy), "--check"]).exit_code == 1
    path = write_codebook(package_copy)
    first = path.read_bytes()
    assert write_codebook(package_copy).read_bytes() == first
    assert runner.invoke(cli, ["codebook", "--root", str(package_copy), "--check"]).exit_code == 0

    schema_path = package_copy / "schemas" / "events.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["fields"][0]["description"] = "A changed description."
    schema_path.write_text(json.dumps(schema), encoding="utf-8")
    assert "stale" in stale_codebook(package_copy)
    result = runner.invoke(cli, ["codebook", "--root", str(package_copy), "--check"])
    assert result.exit_code == 1
    assert "docs/codebook.md is stale" in result.output
    assert path.read_bytes() == first  # --check never writes


def test_changed_data_makes_the_codebook_stale(package_copy: Path) -> None:
    write_codebook(package_copy)
    sources = package_copy / "data" / "sources.csv"
    lines = sources.read_text(encoding="utf-8").splitlines(keepends=True)
    sources.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    assert stale_codebook(package_copy) is not None


def test_unreadable_package_is_a_message_not_a_traceback(package_copy: Path) -> None:
    (package_copy / "data" / "models.csv").unlink()
    with pytest.raises(CodebookError, match="models.csv: file not found"):
        codebook_text(package_copy)
    (package_copy / "datapackage.json").write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(cli, ["codebook", "--root", str(package_copy)])
    assert result.exit_code == 1
    assert "datapackage.json: invalid JSON at line 1" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_citation_version_equals_the_package_version() -> None:
    citation = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    descriptor = json.loads(paths.DATAPACKAGE.read_text(encoding="utf-8"))
    assert citation["version"] == descriptor["version"]
    assert citation["cff-version"] == "1.2.0"
    assert citation["license"] == "CC-BY-4.0"
    assert citation["title"] == descriptor["title"]
    assert citation["repository-code"] == descriptor["homepage"]
    assert citation["authors"] == [{"name": "ai-openness-events contributors"}]


def test_set_citation_version_rewrites_only_the_version(package_copy: Path) -> None:
    path = set_citation_version(package_copy, "2.3.4")
    citation = yaml.safe_load(path.read_text(encoding="utf-8"))
    committed = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["version"] == "2.3.4"
    assert {k: v for k, v in citation.items() if k != "version"} == {
        k: v for k, v in committed.items() if k != "version"
    }


def test_users_workflow_installs_and_validates() -> None:
    workflow = yaml.safe_load((paths.ROOT / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert steps[1]["with"]["python-version"] == "3.11"
    assert steps[-1]["run"] == "make validate"
    makefile = (paths.ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\nvalidate:" in makefile
