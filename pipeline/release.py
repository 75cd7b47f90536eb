"""Cut a release: check the bump, set version and created, write CHANGELOG and the zip.

The previous release is the highest git tag `vX.Y.Z`; its package is read with
`git show`, so the working tree is never touched by the comparison. Without any such
tag this is the first release, and it is 1.0.0 whatever `--bump` says (the versions
before it, 0.x, were never released).

Everything is prepared in memory and checked first (the working package with both
validation layers, the zip with frictionless); then the files are replaced one by one
with atomic renames, CHANGELOG.md last. A section for the new version in CHANGELOG.md
therefore means the release was completely prepared, and running it again is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shlex
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pipeline.atomic import write_bytes
from pipeline.diff import EMPTY, LEVELS, DiffError, Package, PackageDiff, Reader, ResourceDiff, diff_packages, load_package, read_package, show_key
from pipeline.package import build_descriptor, render_descriptor

FIRST_RELEASE = "1.0.0"
BUMPS = ("major", "minor", "patch")
DOCUMENTS = ("README.md", "LICENSE", "DATA-LICENSE.md", "CHANGELOG.md")
CHANGELOG_HEADER = """# Changelog

Every release of the ai-openness-events data package. Version numbers follow the Data
Package Version recipe (README, "Versions and releases"). Write notes for the next
release under "Unreleased"; `python -m pipeline release` moves them into the new
version's section and adds what changed, generated from `python -m pipeline diff`.
"""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: entries never carry the build time
_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


class ReleaseError(Exception):
    """A release that must not happen; the message says why and what to do."""


@dataclass
class Release:
    version: str
    previous: str | None
    diff: PackageDiff
    section: str
    archive: Path
    checksums: Path
    commands: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- versions


def parse_version(text: str) -> tuple[int, int, int]:
    match = _SEMVER.fullmatch(text)
    if not match:
        raise ReleaseError(f"{text!r} is not a MAJOR.MINOR.PATCH version")
    return int(match[1]), int(match[2]), int(match[3])


def next_version(previous: str | None, bump: str) -> str:
    """The version after `previous`; 1.0.0 when nothing was released yet."""
    if previous is None:
        return FIRST_RELEASE
    major, minor, patch = parse_version(previous)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def check_bump(diff: PackageDiff, bump: str, previous: str) -> None:
    """Refuse a release with no change, or a bump smaller than the changes need."""
    required = diff.bump
    if required == "none":
        raise ReleaseError(f"release refused: nothing changed since v{previous}")
    if LEVELS.index(bump) < LEVELS.index(required):
        reasons = [why for level, why in diff.reasons() if LEVELS.index(level) > LEVELS.index(bump)]
        listed = "\n".join(f"  - {why}" for why in reasons)
        raise ReleaseError(
            f"release refused: the changes since v{previous} require a {required} bump, "
            f"--bump {bump} was given. Changes above {bump}:\n{listed}"
        )


# ---------------------------------------------------------------- git


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except OSError as err:
        raise ReleaseError(f"cannot run git: {err}") from None
    if done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed in {root}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def previous_release(root: Path) -> str | None:
    """The highest version among the `vX.Y.Z` tags, None when there is none."""
    tags = _git(root, "tag", "--list", "v*").decode().split()
    versions = [t[1:] for t in tags if _SEMVER.fullmatch(t[1:])]
    return max(versions, key=parse_version, default=None)


def git_reader(root: Path, ref: str) -> Reader:
    def read(member: str) -> bytes:
        try:
            return _git(root, "show", f"{ref}:./{member}")
        except ReleaseError as err:
            raise DiffError(f"{ref}: cannot read {member}: {err}") from None

    return read


def package_at(root: Path, version: str) -> Package:
    return read_package(git_reader(root, f"v{version}"), f"v{version}")


# ---------------------------------------------------------------- changelog


def _ids(keys: list[tuple[str, ...]]) -> str:
    return ", ".join(f"`{show_key(k)}`" for k in keys)


def _counts(r: ResourceDiff) -> str:
    if r.status == "added":
        return f"| {r.name} (new) | {r.rows_new} | {r.rows_new} | 0 | 0 |"
    if r.status == "removed":
        return f"| {r.name} (removed) | 0 | 0 | {r.rows_old} | 0 |"
    return f"| {r.name} | {r.rows_new} | {len(r.added)} | {len(r.removed)} | {len(r.changed)} |"


def changelog_section(version: str, date: str, diff: PackageDiff, bump: str, notes: str) -> str:
    """The CHANGELOG section of a release: notes, row counts per table, ids that changed."""
    first = diff.old is EMPTY
    lines = [f"## {version} - {date}", ""]
    if first:
        lines += ["First release.", ""]
    else:
        lines += [f"Compared with {diff.old.version}: the changes require a {diff.bump} bump; released as {bump}.", ""]
    if notes:
        lines += [notes, ""]
    if first:
        lines += ["| table | rows |", "|---|---:|"]
        lines += [f"| {r.name} | {r.rows_new} |" for r in diff.resources]
    else:
        lines += ["| table | rows | added | removed | changed |", "|---|---:|---:|---:|---:|"]
        lines += [_counts(r) for r in diff.resources]
    lines.append("")
    changes = diff.changes + [c for r in diff.resources for c in r.changes]
    if changes:
        lines += ["### Schema and metadata", ""]
        lines += [f"- {c.text()} ({c.level})" for c in changes]
        lines.append("")
    for r in diff.resources:
        if r.status != "changed" or not (r.added or r.removed or r.changed):
            continue
        lines += [f"### {r.name}", ""]
        if r.added:
            lines.append(f"- added: {_ids(r.added)}")
        if r.removed:
            lines.append(f"- removed: {_ids(r.removed)}")
        if r.referenced_removed:
            lines.append(f"- removed although other tables referred to them: {_ids(r.referenced_removed)}")
        if r.changed:
            shown = ", ".join(f"`{show_key(c.key)}` ({', '.join(c.fields)})" for c in r.changed)
            lines.append(f"- changed: {shown}")
        lines.append("")
    return "\n".join(lines)


def split_changelog(text: str) -> tuple[str, str, str]:
    """(header, Unreleased notes, released sections) of a CHANGELOG.md."""
    headings = list(_SECTION.finditer(text))
    if not headings:
        return (text.rstrip("\n") + "\n" if text.strip() else CHANGELOG_HEADER), "", ""
    header = text[: headings[0].start()]
    if headings[0][1].strip().lower() != "unreleased":
        return header, "", text[headings[0].start():]
    end = headings[1].start() if len(headings) > 1 else len(text)
    return header, text[headings[0].end(): end].strip("\n"), text[end:]


def has_section(text: str, version: str) -> bool:
    return any(m[1].split(" ")[0] == version for m in _SECTION.finditer(text))


def updated_changelog(text: str, version: str, date: str, diff: PackageDiff, bump: str) -> tuple[str, str]:
    """(CHANGELOG.md with an empty Unreleased section then the new one, the new section)."""
    header, notes, released = split_changelog(text)
    section = changelog_section(version, date, diff, bump, notes)
    return f"{header.rstrip()}\n\n## Unreleased\n\n{section}\n{released}".rstrip("\n") + "\n", section


# ---------------------------------------------------------------- archive


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A zip of `files` that depends on nothing else: sorted entries, fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr means a file mode everywhere
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def package_files(root: Path, descriptor: Mapping[str, Any], changelog: str) -> dict[str, bytes]:
    """What the release zip holds: the descriptor, every file it names, the documents."""
    files = {"datapackage.json": render_descriptor(dict(descriptor)).encode("utf-8"), "CHANGELOG.md": changelog.encode("utf-8")}
    names = [r["path"] for r in descriptor["resources"]]
    names += [r["schema"] for r in descriptor["resources"] if isinstance(r.get("schema"), str)]
    names += [d for d in DOCUMENTS if d != "CHANGELOG.md"]
    for name in names:
        try:
            files[name] = (root / name).read_bytes()
        except OSError as err:
            raise ReleaseError(f"cannot put {name} in the release zip: {err.strerror}") from None
    return files


def frictionless_problems(archive: bytes, name: str) -> list[str]:
    """What `frictionless validate` says about the zip (it reads zipped packages itself)."""
    import frictionless

    with tempfile.TemporaryDirectory(prefix="aoe-release-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(archive)
        report = frictionless.validate(str(path))
    return [e.message for e in report.errors] + [f"{t.name}: {e.message}" for t in report.tasks for e in t.errors]


def checksums(files: Mapping[str, bytes]) -> str:
    """SHA256SUMS text, as `sha256sum` writes it (so `sha256sum -c SHA256SUMS` checks it)."""
    return "".join(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files))


# ---------------------------------------------------------------- the release


def now_utc() -> dt.datetime:
    """The release time: now, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
        except ValueError:
            raise ReleaseError(f"SOURCE_DATE_EPOCH must be whole seconds, got {epoch!r}") from None
    return dt.datetime.now(dt.timezone.utc)


def _check_working(root: Path) -> Package:
    from pipeline.validate import validate_package

    corpus = root / "corpus"
    report = validate_package(root, corpus if corpus.is_dir() else None)
    if not report.ok:
        raise ReleaseError(report.text() + "\nrelease refused: the working package does not validate")
    return load_package(root)


def _check_committed(root: Path) -> None:
    """--tag commits datapackage.json and CHANGELOG.md only: the rest must be committed."""
    paths = [p for p in ("data", "schemas", *DOCUMENTS) if p != "CHANGELOG.md" and (root / p).exists()]
    dirty = _git(root, "status", "--porcelain", "--", *paths).decode().strip()
    if dirty:
        raise ReleaseError(f"--tag refused: commit these first, the tag must hold what the zip holds:\n{dirty}")


def tag_commands(root: Path, version: str) -> list[list[str]]:
    """Commit what a release rewrites (the descriptor, the changelog, the citation) and tag it."""
    files = [f for f in ("datapackage.json", "CHANGELOG.md", "CITATION.cff") if (root / f).exists()]
    return [
        ["git", "add", *files],
        ["git", "commit", "-m", f"Release {version}", "--", *files],
        ["git", "tag", "-a", f"v{version}", "-m", f"ai-openness-events {version}"],
    ]


def release(root: Path, bump: str, dist: Path | None = None, tag: bool = False) -> Release:
    """Check, then write datapackage.json, the zip, SHA256SUMS and CHANGELOG.md (last)."""
    root = Path(root)
    dist = Path(dist) if dist else root / "dist"
    previous = previous_release(root)
    if tag:
        _check_committed(root)
    working = _check_working(root)
    if previous is None and parse_version(str(working.version))[0] >= 1:
        raise ReleaseError(
            f"datapackage.json is at version {working.version} but the repository has no vX.Y.Z tag: "
            "fetch the release tags (git fetch --tags) before releasing"
        )
    old = EMPTY if previous is None else package_at(root, previous)
    diff = diff_packages(old, working)
    if previous is not None:
        check_bump(diff, bump, previous)
    version = next_version(previous, bump)
    changelog_path = root / "CHANGELOG.md"
    changelog = changelog_path.read_text(encoding="utf-8") if changelog_path.exists() else CHANGELOG_HEADER
    if has_section(changelog, version):
        raise ReleaseError(
            f"CHANGELOG.md already has a section for {version}: this release was prepared already. "
            f"Commit and tag it (git tag -a v{version}), or remove that section to prepare it again."
        )
    created = now_utc().replace(microsecond=0)
    descriptor = build_descriptor(
        root, {**working.descriptor, "version": version, "created": created.isoformat().replace("+00:00", "Z")}
    )
    new_changelog, section = updated_changelog(changelog, version, created.date().isoformat(), diff, bump)
    archive_name = f"{descriptor['name']}-{version}.zip"
    archive = zip_bytes(package_files(root, descriptor, new_changelog))
    problems = frictionless_problems(archive, archive_name)
    if problems:
        raise ReleaseError(f"{archive_name} does not validate:\n" + "\n".join(f"  {p}" for p in problems))
    write_bytes(dist / archive_name, archive)
    write_bytes(dist / "SHA256SUMS", checksums({archive_name: archive}).encode("utf-8"))
    write_bytes(root / "datapackage.json", render_descriptor(descriptor).encode("utf-8"))
    write_bytes(changelog_path, new_changelog.encode("utf-8"))
    if (root / "CITATION.cff").exists():
        from pipeline.citation import set_citation_version

        set_citation_version(root, version)
    commands = tag_commands(root, version)
    if tag:
        for command in commands:
            _git(root, *command[1:])
    return Release(version, previous, diff, section, dist / archive_name, dist / "SHA256SUMS", [shlex.join(c) for c in commands])
