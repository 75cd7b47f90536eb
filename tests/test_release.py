"""`pipeline release`: version policy enforced against git tags, CHANGELOG, zip, SHA256SUMS.

Every test works in a temporary git repository holding a copy of the package files,
never in this repository's git. The first release is made once per module (with the
`git` commands it prints), then each test changes a copy of that repository.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Iterator

import frictionless
import pytest
from click.testing import CliRunner, Result

from pipeline import paths
from pipeline.cli import cli
from pipeline.package import read_descriptor, write_descriptor
from pipeline.release import zip_bytes
from pipeline.tables import load_schema, render_csv

EPOCH = 1767225600  # 2026-01-01T00:00:00Z
RELEASE_DATE = "2026-01-01"
PACKAGE_FILES = ("datapackage.json", "data", "schemas", "README.md", "LICENSE", "DATA-LICENSE.md", "CHANGELOG.md")
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,  # no user settings (signing, hooks) in the test repositories
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
    "SOURCE_DATE_EPOCH": str(EPOCH),
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def release_cli(repo: Path, *args: str):
    return CliRunner().invoke(cli, ["release", "--root", str(repo), *args])


@pytest.fixture(scope="module")
def git_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, git_env: None) -> tuple[Path, Result]:
    """A repository with the committed package released as 1.0.0, committed and tagged."""
    repo = tmp_path_factory.mktemp("first") / "repo"
    repo.mkdir()
    for name in PACKAGE_FILES:
        source = paths.ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "package")
    result = release_cli(repo, "--bump", "minor")
    for line in result.output.splitlines():
        if line.startswith("  git "):  # the commands `release` prints for the maintainer
            git(repo, *shlex.split(line)[1:])
    return repo, result


@pytest.fixture()
def repo(first: tuple[Path, Result], tmp_path: Path) -> Path:
    """A private copy of the released repository (with its .git) to change."""
    copy = tmp_path / "repo"
    shutil.copytree(first[0], copy)
    return copy


def add_mention(repo: Path) -> str:
    """A new valid mentions row (same entity, a new span), written sorted; its id."""
    schema = load_schema("mentions", repo / "schemas")
    rows = csv_rows(repo / "data" / "mentions.csv")
    row = dict(rows[0], start="0", end="1", surface="x")
    row["mention_id"] = f"{row['source_id']}:0-1"
    assert row["mention_id"] not in {r["mention_id"] for r in rows}
    (repo / "data" / "mentions.csv").write_text(render_csv([*rows, row], schema), encoding="utf-8", newline="")
    return row["mention_id"]


def change_summary(repo: Path) -> str:
    schema = load_schema("events", repo / "schemas")
    rows = csv_rows(repo / "data" / "events.csv")
    rows[-1]["summary"] = "A corrected summary."
    (repo / "data" / "events.csv").write_text(render_csv(rows, schema), encoding="utf-8", newline="")
    return rows[-1]["event_id"]


def repackage(repo: Path) -> None:
    """What `make data` does after the tables change: new hashes and sizes, same version."""
    write_descriptor(repo, read_descriptor(repo / "datapackage.json"))


def zip_problems(path: Path) -> list[str]:
    report = frictionless.validate(str(path))
    return [e.message for e in report.errors] + [e.message for t in report.tasks for e in t.errors]


def section(changelog: str, version: str) -> str:
    """The body of one `## version` section of a CHANGELOG."""
    start = changelog.index(f"\n## {version} - ")
    end = changelog.find("\n## ", start + 1)
    return changelog[start: end if end != -1 else None]


def test_first_release_is_1_0_0_whatever_the_bump(first: tuple[Path, Result]) -> None:
    repo, result = first
    assert result.exit_code == 0, result.output
    assert "released 1.0.0: the first release" in result.output
    descriptor = json.loads((repo / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["version"] == "1.0.0"
    assert descriptor["created"] == "2026-01-01T00:00:00Z"
    for name in ("datapackage.json", "CHANGELOG.md"):  # rewritten atomically, mode kept
        assert (repo / name).stat().st_mode & 0o777 == (paths.ROOT / name).stat().st_mode & 0o777
    assert git(repo, "tag", "--list").split() == ["v1.0.0"]
    assert json.loads(git(repo, "show", "v1.0.0:datapackage.json"))["version"] == "1.0.0"
    assert git(repo, "status", "--porcelain", "--", *PACKAGE_FILES) == ""


def test_first_release_changelog_has_the_notes_and_every_table(first: tuple[Path, Result]) -> None:
    repo = first[0]
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    committed = (paths.ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    notes = committed.split("## Unreleased\n", 1)[1].strip()
    assert changelog.index("## Unreleased") < changelog.index(f"## 1.0.0 - {RELEASE_DATE}")
    assert changelog.split("## Unreleased", 1)[1].split("## 1.0.0")[0].strip() == ""
    body = section(changelog, "1.0.0")
    assert "First release." in body
    assert notes in body  # the Unreleased notes moved into the release
    for table in paths.TABLES:
        assert f"| {table} | {len(csv_rows(paths.DATA / f'{table}.csv'))} |" in body


def test_release_zip_holds_the_package_and_validates(first: tuple[Path, Result]) -> None:
    repo = first[0]
    archive = repo / "dist" / "ai-openness-events-1.0.0.zip"
    with zipfile.ZipFile(archive) as opened:
        infos = opened.infolist()
        names = [i.filename for i in infos]
        expected = {"datapackage.json", "README.md", "LICENSE", "DATA-LICENSE.md", "CHANGELOG.md"}
        expected |= {f"data/{t}.csv" for t in paths.TABLES} | {f"schemas/{t}.json" for t in paths.TABLES}
        assert set(names) == expected
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        for name in names:  # the zip holds the released files exactly as they are in the repository
            assert opened.read(name) == (repo / name).read_bytes(), name
    assert zip_problems(archive) == []
    sums = (repo / "dist" / "SHA256SUMS").read_text(encoding="utf-8")
    assert sums == f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}\n"


def test_zip_is_deterministic() -> None:
    files = {"b/x.csv": b"a,b\n", "a.json": b"{}", "README.md": b"r"}
    first = zip_bytes(files)
    assert zip_bytes(dict(reversed(list(files.items())))) == first
    with zipfile.ZipFile(io.BytesIO(first)) as opened:
        assert opened.namelist() == sorted(files)
        assert {opened.read(n) for n in files} == set(files.values())


def test_added_rows_need_a_minor_release(repo: Path) -> None:
    mention = add_mention(repo)
    event = change_summary(repo)
    repackage(repo)
    before = {name: (repo / name).read_bytes() for name in ("datapackage.json", "CHANGELOG.md")}

    refused = release_cli(repo, "--bump", "patch")
    assert refused.exit_code == 1
    assert "require a minor bump, --bump patch was given" in refused.output
    assert "mentions: 1 row(s) added" in refused.output
    assert "Traceback" not in refused.output
    assert {name: (repo / name).read_bytes() for name in before} == before
    assert not (repo / "dist" / "ai-openness-events-1.0.1.zip").exists()

    uncommitted = release_cli(repo, "--bump", "minor", "--tag")
    assert uncommitted.exit_code == 1
    assert "commit these first" in uncommitted.output and "data/mentions.csv" in uncommitted.output

    git(repo, "commit", "-q", "-am", "more mentions, a corrected summary")
    released = release_cli(repo, "--bump", "minor", "--tag")
    assert released.exit_code == 0, released.output
    assert "released 1.1.0 (the changes since v1.0.0 require a minor bump)" in released.output
    assert json.loads(git(repo, "show", "v1.1.0:datapackage.json"))["version"] == "1.1.0"
    assert git(repo, "status", "--porcelain", "--", *PACKAGE_FILES) == ""

    body = section((repo / "CHANGELOG.md").read_text(encoding="utf-8"), "1.1.0")
    rows = len(csv_rows(repo / "data" / "mentions.csv"))
    assert "Compared with 1.0.0: the changes require a minor bump; released as minor." in body
    assert f"| mentions | {rows} | 1 | 0 | 0 |" in body
    assert f"| events | {len(csv_rows(repo / 'data' / 'events.csv'))} | 0 | 0 | 1 |" in body
    assert f"| models | {len(csv_rows(repo / 'data' / 'models.csv'))} | 0 | 0 | 0 |" in body
    assert f"- added: `{mention}`" in body
    assert f"- changed: `{event}` (summary)" in body

    new_zip = repo / "dist" / "ai-openness-events-1.1.0.zip"
    assert zip_problems(new_zip) == []
    assert (repo / "dist" / "SHA256SUMS").read_text() == f"{hashlib.sha256(new_zip.read_bytes()).hexdigest()}  {new_zip.name}\n"
    with zipfile.ZipFile(new_zip) as opened:
        assert json.loads(opened.read("datapackage.json"))["version"] == "1.1.0"
        assert "## 1.1.0 - " in opened.read("CHANGELOG.md").decode("utf-8")

    # the two release zips differ by exactly these rows
    report = CliRunner().invoke(cli, ["diff", str(repo / "dist" / "ai-openness-events-1.0.0.zip"), str(new_zip), "--format", "json"])
    assert report.exit_code == 0, report.output
    changed = {r["name"]: r for r in json.loads(report.output)["resources"] if r["status"] != "unchanged"}
    assert set(changed) == {"mentions", "events"}
    assert (changed["mentions"]["added"], changed["mentions"]["removed"], changed["mentions"]["changed"]) == ([[mention]], [], [])
    assert [c["key"] for c in changed["events"]["changed"]] == [[event]]
    assert json.loads(report.output)["bump"] == "minor"


def test_tightened_constraint_needs_a_major_release(repo: Path) -> None:
    path = repo / "schemas" / "sources.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    field = next(f for f in schema["fields"] if f["name"] == "char_count")
    lowest = min(int(r["char_count"]) for r in csv_rows(repo / "data" / "sources.csv"))
    field["constraints"]["minimum"] = lowest  # tighter, and the data still meets it
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    repackage(repo)

    refused = release_cli(repo, "--bump", "minor")
    assert refused.exit_code == 1
    assert "require a major bump, --bump minor was given" in refused.output
    assert "field sources.char_count: constraint minimum tightened" in refused.output

    released = release_cli(repo, "--bump", "major")
    assert released.exit_code == 0, released.output
    assert json.loads((repo / "datapackage.json").read_text())["version"] == "2.0.0"
    assert (repo / "dist" / "ai-openness-events-2.0.0.zip").is_file()


def test_nothing_changed_is_refused(repo: Path) -> None:
    refused = release_cli(repo, "--bump", "patch")
    assert refused.exit_code == 1
    assert "nothing changed since v1.0.0" in refused.output
    assert sorted(p.name for p in (repo / "dist").iterdir()) == ["SHA256SUMS", "ai-openness-events-1.0.0.zip"]


def test_a_prepared_release_is_not_prepared_twice(repo: Path) -> None:
    add_mention(repo)
    repackage(repo)
    assert release_cli(repo, "--bump", "minor").exit_code == 0
    again = release_cli(repo, "--bump", "minor")
    assert again.exit_code == 1
    assert "CHANGELOG.md already has a section for 1.1.0" in again.output


def test_an_invalid_package_is_not_released(repo: Path) -> None:
    add_mention(repo)  # the descriptor's hash and bytes no longer match mentions.csv
    refused = release_cli(repo, "--bump", "minor")
    assert refused.exit_code == 1
    assert "release refused: the working package does not validate" in refused.output
    assert "hash" in refused.output
    assert json.loads((repo / "datapackage.json").read_text())["version"] == "1.0.0"

