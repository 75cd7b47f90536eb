"""Curated corrections: a reviewed file that fixes what extraction gets wrong.

Extraction proposes; `curation/corrections.yaml` lets a person drop, set, add or merge
rows of the published tables, each entry naming its row by the full primary key and
saying why. Rows an entry touches say `method = curated` where the table has a method
column, so readers can tell curated facts from extracted ones. An entry that matches
nothing fails the build, so corrections cannot linger after extraction changes.
Evaluation runs with corrections off, so they never inflate extraction scores.

Cascades follow the foreign keys in `schemas/`, so the package stays whole:

- dropping a row drops every row whose required foreign key points at it (and what
  points at those), and empties optional foreign keys that point at it, together with
  the `<name>_sources` column that backs a `<name>_id` one. With today's schemas:
  dropping an entity drops its mentions, its event_participants rows and the models
  row whose model_id it is, and empties models.developer_id / license_id (and
  developer_sources / license_sources) that name it; dropping an event drops its
  event_participants and event_evidence rows; dropping a source drops its mentions
  and event_evidence rows.
- merging entity A into B rewrites every foreign key pointing at A to B
  (mentions.entity_id, event_participants.entity_id, models.model_id / developer_id /
  license_id), collapses rows that then share a primary key (the row already there
  wins over the moved one), marks moved rows curated where the table has a method
  column, and drops A's entity row.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

import yaml

from pipeline import paths
from pipeline.errors import ProblemsError
from pipeline.tables import OrderedRows, RenderedTable, field_names, format_value, load_schema

ACTIONS = ("drop", "set", "add", "merge")
CURATED = "curated"
METHOD = "method"
STALE = "matches no row: remove or update this correction"

# Fields each action needs besides table, action and reason.
_ACTION_FIELDS = {"drop": {"key"}, "set": {"key", "set"}, "add": {"row"}, "merge": {"key", "into"}}
_COMMON_FIELDS = {"table", "action", "reason"}
_ENTRY_FIELDS = _COMMON_FIELDS.union(*_ACTION_FIELDS.values())


@dataclass(frozen=True)
class Correction:
    """One entry of the corrections file, validated; `index` is its 1-based number."""

    index: int
    table: str
    action: str
    key: dict[str, Any]
    values: dict[str, Any]
    into: str | None
    reason: str


class CorrectionError(ProblemsError):
    """Every problem found in the corrections at once, so one edit can fix them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, f"{len(problems)} problem(s) with the corrections:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class _Spec:
    """What corrections need from a Table Schema."""

    fields: tuple[str, ...]
    key: tuple[str, ...]
    types: dict[str, str]
    required: frozenset[str]  # key fields included: a key is never empty


@cache
def _spec(table: str) -> _Spec:
    schema = load_schema(table)
    return _Spec(
        fields=tuple(field_names(schema)),
        key=tuple(schema["primaryKey"]),
        types={f["name"]: f["type"] for f in schema["fields"]},
        required=frozenset(schema["primaryKey"]).union(
            f["name"] for f in schema["fields"] if f.get("constraints", {}).get("required")
        ),
    )


@cache
def _references(parent: str) -> tuple[tuple[str, str], ...]:
    """(table, field) of every single-field foreign key pointing at `parent`."""
    refs = []
    for table in paths.TABLES:
        for fk in load_schema(table).get("foreignKeys", []):
            fields = fk["fields"] if isinstance(fk["fields"], list) else [fk["fields"]]
            if fk["reference"]["resource"] == parent and len(fields) == 1:
                refs.append((table, fields[0]))
    return tuple(refs)


def _reached(tables: set[str]) -> set[str]:
    """The tables entries on `tables` can change: those, and what their cascades reach."""
    reached, todo = set(), list(tables)
    while todo:
        table = todo.pop()
        if table not in reached:
            reached.add(table)
            todo.extend(child for child, _ in _references(table))
    return reached


def _row_key(row: dict[str, Any], fields: tuple[str, ...]) -> tuple[str, ...]:
    """Keys compare as their published spelling, so YAML 120 and "120" both match 120."""
    return tuple(format_value(row.get(name)) for name in fields)


def _describe(table: str, key: dict[str, Any]) -> str:
    return f"{table} {{" + ", ".join(f"{name}: {format_value(value)!r}" for name, value in key.items()) + "}"


# --- loading -----------------------------------------------------------------------


def _coerce(value: Any, kind: str) -> Any:
    """A YAML value typed the way extraction types that column, or ValueError."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValueError("must be a single value, not a list or mapping")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, got {value!r}")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {value!r}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if kind == "date":
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        try:
            return datetime.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be an ISO date (YYYY-MM-DD), got {value!r}") from None
    if isinstance(value, (bool, float)):
        raise ValueError(f"YAML reads {value!r} as a {type(value).__name__}: quote it")
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _typed_fields(
    raw: dict[Any, Any], spec: _Spec, where: str, fault: Callable[[str, str], None], forbidden: dict[str, str]
) -> dict[str, Any]:
    """The mapping's values typed per schema; unknown, forbidden and mistyped fields are faults."""
    typed = {}
    for name, value in raw.items():
        label = f"{where}.{name}"
        if name not in spec.fields:
            fault(label, f"not a field of this table (fields: {', '.join(spec.fields)})")
        elif name in forbidden:
            fault(label, forbidden[name])
        else:
            try:
                typed[name] = _coerce(value, spec.types[name])
            except ValueError as err:
                fault(label, str(err))
                continue
            if typed[name] is None and name in spec.required:
                fault(label, "required field: cannot be empty")
    return typed


def _parse_key(raw: Any, spec: _Spec, fault: Callable[[str, str], None]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        fault("key", f"must be a mapping of the primary key fields: {', '.join(spec.key)}")
        return {}
    if set(raw) != set(spec.key):
        fault("key", f"must name exactly the primary key fields {', '.join(spec.key)}, got {', '.join(map(str, raw)) or 'none'}")
        return {}
    for name, value in raw.items():
        if value is None or value == "" or isinstance(value, (bool, dict, list)):
            fault(f"key.{name}", f"must be a single non-empty value, got {value!r}")
    return dict(raw)


def _parse_entry(number: int, entry: Any, where: str, problems: list[str]) -> Correction | None:
    """One entry checked field by field; every fault goes to `problems`."""

    def fault(field: str, what: str) -> None:
        problems.append(f"{where}: entry {number}: {field}: {what}")

    if not isinstance(entry, dict):
        fault("entry", "must be a mapping with table, action, reason and the action's fields")
        return None
    before = len(problems)
    for name in sorted(map(str, set(entry) - _ENTRY_FIELDS)):
        fault(name, f"unknown field (allowed: {', '.join(sorted(_ENTRY_FIELDS))})")
    table, action, reason = entry.get("table"), entry.get("action"), entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        fault("reason", "required: say why extraction is wrong here")
    if table not in paths.TABLES:
        fault("table", f"unknown table {table!r} (one of: {', '.join(paths.TABLES)})")
    if action not in ACTIONS:
        fault("action", f"unknown action {action!r} (one of: {', '.join(ACTIONS)})")
        return None
    needed = _ACTION_FIELDS[action]
    for name in sorted(needed - set(entry)):
        fault(name, f"required for action {action}")
    for name in sorted((_ENTRY_FIELDS - _COMMON_FIELDS - needed) & set(entry)):
        fault(name, f"not used by action {action}")
    if action == "merge" and table in paths.TABLES and table != "entities":
        fault("table", "merge is for the entities table only")
    if table not in paths.TABLES:
        return None

    spec = _spec(table)
    key: dict[str, Any] = {}
    values: dict[str, Any] = {}
    into = None
    method_note = "method is set to curated automatically: leave it out"
    if "key" in needed and "key" in entry:
        key = _parse_key(entry["key"], spec, fault)
    if action == "set" and "set" in entry:
        if not isinstance(entry["set"], dict) or not entry["set"]:
            fault("set", "must be a non-empty mapping of fields to new values")
        else:
            forbidden = {name: "is a primary key field: drop this row and add the right one instead" for name in spec.key}
            values = _typed_fields(entry["set"], spec, "set", fault, {**forbidden, METHOD: method_note})
    if action == "add" and "row" in entry:
        if not isinstance(entry["row"], dict):
            fault("row", "must be a mapping of the new row's fields")
        else:
            typed = _typed_fields(entry["row"], spec, "row", fault, {METHOD: method_note})
            for name in sorted(spec.required - set(entry["row"]) - {METHOD}):
                fault(f"row.{name}", "required field missing" + (" (primary key field)" if name in spec.key else ""))
            values = {name: typed.get(name) for name in spec.fields if name != METHOD}
            key = {name: values[name] for name in spec.key}
    if action == "merge" and "into" in entry:
        into = entry["into"]
        if not isinstance(into, str) or not into.strip():
            fault("into", "must be the entity_id to merge into")
        elif into in key.values():
            fault("into", "must differ from the key: an entity cannot be merged into itself")
    if len(problems) > before:
        return None
    return Correction(number, table, action, key, values, into, reason.strip())


def load_corrections(path: Path | None = None) -> list[Correction]:
    """The validated entries of the corrections file; a missing file means none."""
    path = Path(path) if path is not None else paths.CURATION / "corrections.yaml"
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise CorrectionError([f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(str(part) for part in (getattr(err, "context", None), getattr(err, "problem", None)) if part)
        raise CorrectionError([f"{where}: YAML syntax error: {what or err}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("corrections"), list):
        raise CorrectionError([f"{path}: top level: must be a mapping with a `corrections` list (`corrections: []` for none)"])
    problems = [f"{path}: top level: {name}: unknown key (only `corrections`)" for name in sorted(map(str, set(document) - {"corrections"}))]
    corrections = [_parse_entry(n, entry, str(path), problems) for n, entry in enumerate(document["corrections"], start=1)]
    if problems:
        raise CorrectionError(problems)
    return [c for c in corrections if c is not None]


# --- applying ----------------------------------------------------------------------


def _matching(rows: list[dict[str, Any]], table: str, key: dict[str, Any]) -> list[dict[str, Any]]:
    fields = _spec(table).key
    wanted = _row_key(key, fields)
    return [row for row in rows if _row_key(row, fields) == wanted]


def _mark(row: dict[str, Any], table: str) -> None:
    if METHOD in _spec(table).fields:
        row[METHOD] = CURATED


def _drop_rows(tables: dict[str, list[dict[str, Any]]], table: str, keys: set[tuple[str, ...]]) -> None:
    """Remove rows by key, then cascade along the foreign keys that point at them."""
    if table not in tables:
        return
    spec = _spec(table)
    rows = tables[table]
    gone = [row for row in rows if _row_key(row, spec.key) in keys]
    tables[table] = [row for row in rows if _row_key(row, spec.key) not in keys]
    if not gone or len(spec.key) != 1:
        return
    ids = {format_value(row.get(spec.key[0])) for row in gone}
    for child, field in _references(table):
        child_spec = _spec(child)
        if field in child_spec.required:
            doomed = {_row_key(row, child_spec.key) for row in tables.get(child, []) if format_value(row.get(field)) in ids}
            _drop_rows(tables, child, doomed)
            continue
        companion = field.removesuffix("_id") + "_sources"
        for row in tables.get(child, []):
            if format_value(row.get(field)) in ids:
                row[field] = None
                if companion in child_spec.fields:
                    row[companion] = None
                _mark(row, child)


def _collapse(rows: list[dict[str, Any]], table: str, moved: set[int]) -> list[dict[str, Any]]:
    """One row per primary key; a row that was already there wins over a moved one."""
    fields = _spec(table).key
    keep: dict[tuple[str, ...], int] = {}
    for i, row in sorted(enumerate(rows), key=lambda pair: pair[0] in moved):
        keep.setdefault(_row_key(row, fields), i)
    kept = set(keep.values())
    return [row for i, row in enumerate(rows) if i in kept]


def _apply_drop(tables: dict[str, list[dict[str, Any]]], c: Correction) -> str | None:
    if not _matching(tables.get(c.table, []), c.table, c.key):
        return STALE
    _drop_rows(tables, c.table, {_row_key(c.key, _spec(c.table).key)})
    return None


def _apply_set(tables: dict[str, list[dict[str, Any]]], c: Correction) -> str | None:
    rows = _matching(tables.get(c.table, []), c.table, c.key)
    for row in rows:
        row.update(c.values)
        _mark(row, c.table)
    return None if rows else STALE


def _apply_add(tables: dict[str, list[dict[str, Any]]], c: Correction) -> str | None:
    rows = tables.setdefault(c.table, [])
    if _matching(rows, c.table, c.key):
        return "row already exists: use action set, or remove this correction"
    row = dict(c.values)
    _mark(row, c.table)
    rows.append(row)
    return None


def _apply_merge(tables: dict[str, list[dict[str, Any]]], c: Correction) -> str | None:
    entities = tables.get(c.table, [])
    (id_field,) = _spec(c.table).key
    if not _matching(entities, c.table, c.key):
        return STALE
    if not _matching(entities, c.table, {id_field: c.into}):
        return f"merge target {c.into!r} {STALE}"
    old = format_value(c.key[id_field])
    tables[c.table] = [row for row in entities if format_value(row.get(id_field)) != old]
    for child, field in _references(c.table):
        if child not in tables:
            continue
        rows = tables[child]
        moved = set()
        for i, row in enumerate(rows):
            if format_value(row.get(field)) == old:
                row[field] = c.into
                _mark(row, child)
                moved.add(i)
        tables[child] = _collapse(rows, child, moved)
    return None


_APPLY: dict[str, Callable[[dict[str, list[dict[str, Any]]], Correction], str | None]] = {
    "drop": _apply_drop,
    "set": _apply_set,
    "add": _apply_add,
    "merge": _apply_merge,
}


def apply_corrections(
    tables: dict[str, list[dict[str, Any]]], corrections: list[Correction]
) -> dict[str, list[dict[str, Any]]]:
    """New tables with the corrections applied in file order; any stale entry fails.

    A table no entry can reach (by its table or a cascade) is passed on as it is when
    it cannot be changed in place (a `RenderedTable`: an article's rendered rows; an
    `OrderedRows`: rows made as they are written)."""
    reached = _reached({c.table for c in corrections})
    out = {
        name: rows if name not in reached and isinstance(rows, (RenderedTable, OrderedRows)) else [dict(row) for row in rows]
        for name, rows in tables.items()
    }
    problems = []
    for c in corrections:
        problem = _APPLY[c.action](out, c)
        if problem:
            problems.append(f"entry {c.index}: {_describe(c.table, c.key)}: {problem}")
    if problems:
        raise CorrectionError(problems)
    return out
