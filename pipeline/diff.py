"""What changed between two versions of a data package, and which semver bump that needs.

The rules follow the Data Package "Data Package Version" recipe:

- major: renaming the package, a resource or a field; adding, removing or re-ordering
  fields; changing a field's type or format; tightening a constraint; changing the
  primary key or adding a foreign key; removing a resource; changing how a resource is
  read (path, format, encoding, dialect, missing values); deleting rows that another
  resource referred to in the old package.
- minor: new rows, new resources, a loosened constraint, a removed foreign key (a
  re-targeted one is a removed plus an added key, so major).
- patch: corrected values, rows removed that nothing referred to (a wrong extraction
  taken out), descriptive metadata (titles, descriptions, licences, sources, …).

When a change cannot be classified exactly (a changed regex pattern, an unknown
property) it counts as major: a release may over-bump, never under-bump.

Rows are matched by primary key and compared as the CSV text, which the pipeline
writes one way only. `version`, `created`, `hash` and `bytes` are not compared: they
follow from a release and from the data.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping

from pipeline.paths import path_problem

LEVELS = ("none", "patch", "minor", "major")

Reader = Callable[[str], bytes]
Key = tuple[str, ...]


class DiffError(Exception):
    """A package that cannot be read or compared; the message names file, row and field."""


def level_max(levels: Iterable[str]) -> str:
    return max(levels, key=LEVELS.index, default="none")


# ---------------------------------------------------------------- reading packages


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[dict[str, str]]


@dataclass(frozen=True)
class Package:
    """A package read as text: descriptor, one Table Schema and one table per resource."""

    label: str
    descriptor: dict[str, Any]
    schemas: dict[str, dict[str, Any]]
    tables: dict[str, Table]

    @property
    def version(self) -> str | None:
        return self.descriptor.get("version")


EMPTY = Package("(nothing)", {}, {}, {})


def _safe_member(value: Any, where: str) -> str:
    """A path inside the package (`paths.path_problem`), or DiffError why not."""
    problem = path_problem(value)
    if problem:
        raise DiffError(f"{where}: {problem}")
    return str(PurePosixPath(value))


def _json(reader: Reader, member: str, label: str) -> Any:
    try:
        return json.loads(reader(member).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DiffError(f"{label}: {member} is not valid UTF-8 JSON: {err}") from None


def _table(text: str, where: str) -> Table:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise DiffError(f"{where}: empty file, no header row")
    header = rows[0]
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if len(cells) != len(header):
            raise DiffError(f"{where}: row {number} has {len(cells)} cells, the header {len(header)}")
        out.append(dict(zip(header, cells)))
    return Table(header, out)


def read_package(reader: Reader, label: str) -> Package:
    """A package from any source of files (`reader(member) -> bytes`)."""
    descriptor = _json(reader, "datapackage.json", label)
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise DiffError(f"{label}: datapackage.json must be an object with a list of resources")
    schemas: dict[str, dict[str, Any]] = {}
    tables: dict[str, Table] = {}
    for number, resource in enumerate(descriptor["resources"]):
        name = resource.get("name") if isinstance(resource, dict) else None
        if not isinstance(name, str) or not name:
            raise DiffError(f"{label}: datapackage.json resource {number} has no name")
        where = f"{label}: resource {name}"
        schema = resource.get("schema")
        if not isinstance(schema, dict):
            schema = _json(reader, _safe_member(schema, f"{where}, schema"), label)
        if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
            raise DiffError(f"{where}: its Table Schema has no list of fields")
        member = _safe_member(resource.get("path"), f"{where}, path")
        try:
            text = reader(member).decode(resource.get("encoding", "utf-8"))
        except (UnicodeDecodeError, LookupError) as err:
            raise DiffError(f"{label}: {member} cannot be read as {resource.get('encoding', 'utf-8')}: {err}") from None
        schemas[name] = schema
        tables[name] = _table(text, f"{label}: {member}")
    return Package(label, descriptor, schemas, tables)


def folder_reader(base: Path) -> Reader:
    def read(member: str) -> bytes:
        path = base / member
        if not path.resolve().is_relative_to(base.resolve()):
            raise DiffError(f"{base}: {member!r} points outside the package folder")
        try:
            return path.read_bytes()
        except OSError as err:
            raise DiffError(f"{base}: cannot read {member}: {err.strerror}") from None

    return read


def zip_reader(archive: zipfile.ZipFile, label: str) -> Reader:
    def read(member: str) -> bytes:
        try:
            return archive.read(member)
        except KeyError:
            raise DiffError(f"{label}: the zip has no {member}") from None

    return read


def load_package(path: Path) -> Package:
    """A package from a `datapackage.json`, a folder holding one, or a release zip."""
    path = Path(path)
    if path.is_dir():
        return read_package(folder_reader(path), str(path))
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                return read_package(zip_reader(archive, str(path)), str(path))
        except (zipfile.BadZipFile, OSError) as err:
            raise DiffError(f"{path}: not a readable zip: {err}") from None
    if path.suffix == ".json":
        if not path.is_file():
            raise DiffError(f"{path} does not exist")
        in_folder = folder_reader(path.parent)
        return read_package(lambda member: in_folder(path.name if member == "datapackage.json" else member), str(path))
    raise DiffError(f"{path}: expected a datapackage.json, a folder holding one, or a .zip")


# ---------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Change:
    """One schema or metadata change and the bump it needs."""

    level: str
    subject: str  # "package", "resource events", "field events.date", …
    what: str

    def text(self) -> str:
        return f"{self.subject}: {self.what}"

    def line(self) -> str:
        return f"{self.text()} [{self.level}]"


@dataclass
class RowChange:
    key: Key
    fields: dict[str, tuple[str, str]]  # field -> (old, new)


@dataclass
class ResourceDiff:
    name: str
    status: str  # added, removed, changed, unchanged
    key_fields: list[str] = field(default_factory=list)
    rows_old: int = 0
    rows_new: int = 0
    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    referenced_removed: list[Key] = field(default_factory=list)  # removed keys old rows referred to
    changes: list[Change] = field(default_factory=list)

    def reasons(self) -> list[tuple[str, str]]:
        """(level, why) for every change in this resource."""
        out = [(c.level, c.text()) for c in self.changes]
        if self.status in ("added", "removed"):
            out.append(("minor" if self.status == "added" else "major", f"resource {self.name} {self.status}"))
        if self.referenced_removed:
            out.append(("major", f"{self.name}: {len(self.referenced_removed)} row(s) removed that other tables referred to"))
        if self.added:
            out.append(("minor", f"{self.name}: {len(self.added)} row(s) added"))
        if self.changed:
            out.append(("patch", f"{self.name}: {len(self.changed)} row(s) changed"))
        unreferenced = len(set(self.removed) - set(self.referenced_removed))
        if unreferenced:
            out.append(("patch", f"{self.name}: {unreferenced} row(s) removed that nothing referred to"))
        return out

    @property
    def level(self) -> str:
        return level_max(level for level, _ in self.reasons())


@dataclass
class PackageDiff:
    old: Package
    new: Package
    changes: list[Change]
    resources: list[ResourceDiff]

    def reasons(self) -> list[tuple[str, str]]:
        """(level, why) for every change, package first, then resource by resource."""
        out = [(c.level, c.text()) for c in self.changes]
        for r in self.resources:
            out.extend(r.reasons())
        return out

    @property
    def bump(self) -> str:
        return level_max(level for level, _ in self.reasons())


PACKAGE_IGNORED = {"version", "created", "resources"}
RESOURCE_IGNORED = {"hash", "bytes", "schema", "name"}
DESCRIPTIVE = {"title", "description", "example", "$schema", "homepage", "keywords", "licenses", "sources", "contributors", "rdfType"}
BOOLEAN_CONSTRAINTS = {"required", "unique"}
LOWER_BOUNDS = {"minimum", "exclusiveMinimum", "minLength"}
UPPER_BOUNDS = {"maximum", "exclusiveMaximum", "maxLength"}


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _properties(old: Mapping[str, Any], new: Mapping[str, Any], subject: str, ignored: set[str], major_why: str) -> list[Change]:
    """Added/removed/changed properties: descriptive ones are patch, the rest major."""
    out = []
    for key in sorted((set(old) | set(new)) - ignored):
        if old.get(key) == new.get(key):
            continue
        level = "patch" if key in DESCRIPTIVE else "major"
        why = f" ({major_why})" if level == "major" and major_why else ""
        if key not in old:
            out.append(Change(level, subject, f"{key} added: {_show(new[key])}{why}"))
        elif key not in new:
            out.append(Change(level, subject, f"{key} removed (was {_show(old[key])}){why}"))
        else:
            out.append(Change(level, subject, f"{key} changed: {_show(old[key])} → {_show(new[key])}{why}"))
    return out


def _direction(name: str, old: Any, new: Any) -> str:
    """How one constraint changed: tightened, loosened or re-ordered (absent = none)."""
    if name in BOOLEAN_CONSTRAINTS:
        return "tightened" if new else "loosened"
    if old is None:
        return "tightened"
    if new is None:
        return "loosened"
    if name == "enum" and isinstance(old, list) and isinstance(new, list):
        before, after = set(map(_show, old)), set(map(_show, new))
        return "re-ordered" if before == after else "loosened" if before < after else "tightened"
    if name in LOWER_BOUNDS | UPPER_BOUNDS:
        try:
            raised = new > old
        except TypeError:
            return "tightened"
        return "tightened" if raised == (name in LOWER_BOUNDS) else "loosened"
    return "tightened"  # a changed pattern or other rule: containment is not decidable here


def _constraints(old: Mapping[str, Any], new: Mapping[str, Any], subject: str) -> list[Change]:
    out = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after or (name in BOOLEAN_CONSTRAINTS and bool(before) == bool(after)):
            continue
        direction = _direction(name, before, after)
        level = {"tightened": "major", "loosened": "minor", "re-ordered": "patch"}[direction]
        shown = [_show(v) if v is not None else "(none)" for v in (before, after)]
        out.append(Change(level, subject, f"constraint {name} {direction}: {shown[0]} → {shown[1]}"))
    return out


def _field_changes(resource: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    subject = f"field {resource}.{new['name']}"
    out = []
    for key in ("type", "format"):
        if old.get(key) != new.get(key):
            out.append(Change("major", subject, f"{key} changed: {old.get(key)} → {new.get(key)}"))
    out.extend(_constraints(old.get("constraints") or {}, new.get("constraints") or {}, subject))
    out.extend(_properties(old, new, subject, {"name", "type", "format", "constraints"}, "changes how values are read"))
    return out


def _foreign_keys(resource: str, old: list[Any], new: list[Any]) -> list[Change]:
    before, after = {_show(fk): fk for fk in old}, {_show(fk): fk for fk in new}
    subject = f"resource {resource}"
    out = [Change("major", subject, f"foreign key added: {k}") for k in sorted(set(after) - set(before))]
    out += [Change("minor", subject, f"foreign key removed: {k}") for k in sorted(set(before) - set(after))]
    return out


def schema_changes(resource: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Field, key and constraint changes between two Table Schemas of one resource."""
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    out = [Change("major", f"field {resource}.{n}", "added") for n in new_fields if n not in old_fields]
    out += [Change("major", f"field {resource}.{n}", "removed") for n in old_fields if n not in new_fields]
    common_old = [n for n in old_fields if n in new_fields]
    common_new = [n for n in new_fields if n in old_fields]
    if common_old != common_new:
        out.append(Change("major", f"resource {resource}", f"fields re-ordered: {', '.join(common_old)} → {', '.join(common_new)}"))
    for name in common_new:
        out.extend(_field_changes(resource, old_fields[name], new_fields[name]))
    if old.get("primaryKey") != new.get("primaryKey"):
        out.append(Change("major", f"resource {resource}", f"primaryKey changed: {_show(old.get('primaryKey'))} → {_show(new.get('primaryKey'))}"))
    out.extend(_foreign_keys(resource, old.get("foreignKeys") or [], new.get("foreignKeys") or []))
    out.extend(
        _properties(old, new, f"resource {resource}", {"fields", "primaryKey", "foreignKeys"}, "changes how the table is read")
    )
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _key_fields(old: Mapping[str, Any], new: Mapping[str, Any], old_header: list[str], new_header: list[str]) -> list[str]:
    """The primary key both versions can be matched by (the new one preferred), or []."""
    for schema in (new, old):
        key = _as_list(schema.get("primaryKey"))
        if key and all(k in old_header and k in new_header for k in key):
            return key
    return []


def _sort_key(schema: Mapping[str, Any], fields: list[str]) -> Callable[[Key], tuple]:
    types = {f["name"]: f.get("type") for f in schema["fields"]}

    def sort_key(key: Key) -> tuple:
        out = []
        for name, value in zip(fields, key):
            if types.get(name) in ("integer", "number"):
                try:
                    out.append((0, float(value), ""))
                    continue
                except ValueError:
                    pass
            out.append((1, 0.0, value))
        return tuple(out)

    return sort_key


def _index(table: Table, key_fields: list[str], where: str) -> dict[Key, dict[str, str]]:
    out: dict[Key, dict[str, str]] = {}
    for number, row in enumerate(table.rows, start=2):
        key = tuple(row[k] for k in key_fields)
        if key in out:
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(key_fields, key))
            raise DiffError(f"{where}: row {number} repeats the primary key {shown}")
        out[key] = row
    return out


def referenced_keys(package: Package, resource: str, fields: list[str]) -> set[Key]:
    """Values of `resource`.`fields` that some row of the package refers to by foreign key."""
    out: set[Key] = set()
    for child, schema in package.schemas.items():
        for fk in schema.get("foreignKeys") or []:
            reference = fk.get("reference", {})
            target = reference.get("resource") or child
            if target != resource or _as_list(reference.get("fields")) != fields:
                continue
            columns = _as_list(fk.get("fields"))
            table = package.tables[child]
            if not all(c in table.header for c in columns):
                continue
            for row in table.rows:
                values = tuple(row[c] for c in columns)
                if all(values):
                    out.add(values)
    return out


def _lost_references(old: Package, new: Package, name: str, key_fields: list[str]) -> set[Key]:
    """Keys of `old` rows that other rows referred to and whose referenced values `new` lacks."""
    targets = {
        tuple(_as_list(fk.get("reference", {}).get("fields")))
        for child, schema in old.schemas.items()
        for fk in schema.get("foreignKeys") or []
        if (fk.get("reference", {}).get("resource") or child) == name
    }
    lost: set[Key] = set()
    for fields in sorted(targets):
        present = {tuple(row.get(f, "") for f in fields) for row in new.tables[name].rows}
        gone = referenced_keys(old, name, list(fields)) - present
        lost |= {tuple(r[k] for k in key_fields) for r in old.tables[name].rows if tuple(r.get(f, "") for f in fields) in gone}
    return lost


def resource_diff(old: Package, new: Package, name: str) -> ResourceDiff:
    """Schema and row changes of one resource present in both packages."""
    old_schema, new_schema = old.schemas[name], new.schemas[name]
    old_table, new_table = old.tables[name], new.tables[name]
    descriptor_old = next(r for r in old.descriptor["resources"] if r["name"] == name)
    descriptor_new = next(r for r in new.descriptor["resources"] if r["name"] == name)
    changes = _properties(descriptor_old, descriptor_new, f"resource {name}", RESOURCE_IGNORED, "changes how the resource is read")
    changes += schema_changes(name, old_schema, new_schema)
    result = ResourceDiff(name, "changed", rows_old=len(old_table.rows), rows_new=len(new_table.rows), changes=changes)
    key_fields = _key_fields(old_schema, new_schema, old_table.header, new_table.header)
    if not key_fields:
        if old_table.rows != new_table.rows:
            result.changes.append(Change("major", f"resource {name}", "rows differ and cannot be matched: no primary key common to both versions"))
    else:
        result.key_fields = key_fields
        before = _index(old_table, key_fields, f"{old.label}: {descriptor_old.get('path')}")
        after = _index(new_table, key_fields, f"{new.label}: {descriptor_new.get('path')}")
        order = _sort_key(new_schema, key_fields)
        common = [f for f in old_table.header if f in new_table.header]
        result.added = sorted(set(after) - set(before), key=order)
        result.removed = sorted(set(before) - set(after), key=order)
        for key in sorted(set(before) & set(after), key=order):
            fields = {f: (before[key][f], after[key][f]) for f in common if before[key][f] != after[key][f]}
            if fields:
                result.changed.append(RowChange(key, fields))
        result.referenced_removed = sorted(_lost_references(old, new, name, key_fields), key=order)
    if not (result.changes or result.added or result.removed or result.changed):
        result.status = "unchanged"
    return result


def diff_packages(old: Package, new: Package) -> PackageDiff:
    """Every difference between two packages, each with the bump it requires."""
    changes = []
    if old.descriptor and old.descriptor.get("name") != new.descriptor.get("name"):
        changes.append(Change("major", "package", f"renamed: {old.descriptor.get('name')} → {new.descriptor.get('name')}"))
    if old.descriptor:
        changes += _properties(old.descriptor, new.descriptor, "package", PACKAGE_IGNORED | {"name"}, "")
    old_names, new_names = list(old.schemas), list(new.schemas)
    resources = []
    for name in new_names:
        if name in old.schemas:
            resources.append(resource_diff(old, new, name))
        else:
            table = new.tables[name]
            resources.append(ResourceDiff(name, "added", rows_new=len(table.rows)))
    for name in old_names:
        if name not in new.schemas:
            resources.append(ResourceDiff(name, "removed", rows_old=len(old.tables[name].rows)))
    common_old = [n for n in old_names if n in new.schemas]
    common_new = [n for n in new_names if n in old.schemas]
    if common_old != common_new:
        changes.append(Change("patch", "package", f"resources re-ordered: {', '.join(common_new)}"))
    return PackageDiff(old, new, changes, resources)


# ---------------------------------------------------------------- reporting


def show_key(key: Key) -> str:
    return " / ".join(key)


def as_dict(diff: PackageDiff) -> dict[str, Any]:
    """The diff as plain JSON-ready data (what `--format json` prints)."""
    return {
        "old": {"package": diff.old.label, "version": diff.old.version},
        "new": {"package": diff.new.label, "version": diff.new.version},
        "bump": diff.bump,
        "changes": [vars(c) for c in diff.changes],
        "resources": [
            {
                "name": r.name,
                "status": r.status,
                "bump": r.level,
                "rows": {"old": r.rows_old, "new": r.rows_new},
                "key": r.key_fields,
                "added": [list(k) for k in r.added],
                "removed": [list(k) for k in r.removed],
                "referenced_removed": [list(k) for k in r.referenced_removed],
                "changed": [
                    {"key": list(c.key), "fields": {f: {"old": o, "new": n} for f, (o, n) in c.fields.items()}}
                    for c in r.changed
                ],
                "schema_changes": [vars(c) for c in r.changes],
            }
            for r in diff.resources
        ],
    }


def render_json(diff: PackageDiff) -> str:
    return json.dumps(as_dict(diff), ensure_ascii=False, indent=2) + "\n"


def render_text(diff: PackageDiff) -> str:
    lines = [
        f"old: {diff.old.label} (version {diff.old.version})",
        f"new: {diff.new.label} (version {diff.new.version})",
    ]
    lines += [f"  {c.line()}" for c in diff.changes]
    for r in diff.resources:
        if r.status in ("added", "removed"):
            lines.append(f"{r.name}: resource {r.status} ({r.rows_new if r.status == 'added' else r.rows_old} rows) [{r.level}]")
            continue
        if r.status == "unchanged":
            lines.append(f"{r.name}: unchanged ({r.rows_new} rows)")
            continue
        counts = f"{len(r.added)} added, {len(r.removed)} removed, {len(r.changed)} changed"
        lines.append(f"{r.name}: {r.status}, rows {r.rows_old} → {r.rows_new}: {counts} [{r.level}]")
        lines += [f"  {c.line()}" for c in r.changes]
        lines += [f"  + {show_key(k)}" for k in r.added]
        referenced = set(r.referenced_removed)
        lines += [f"  - {show_key(k)}{' (referenced by other tables)' if k in referenced else ''}" for k in r.removed]
        for c in r.changed:
            lines.append(f"  ~ {show_key(c.key)}")
            lines += [f"      {f}: {o!r} → {n!r}" for f, (o, n) in c.fields.items()]
    lines.append(f"required bump: {diff.bump}")
    return "\n".join(lines) + "\n"
