"""Two-layer validation of a data package: frictionless, then pandera.

1. frictionless checks the package as any Data Package user would: descriptor, Table
   Schemas, types, constraints, primary and foreign keys, `hash` and `bytes`.
2. pandera checks each table against models derived from the same Table Schemas plus
   what frictionless cannot express (offsets against the article text, EDTF bounds,
   every event evidenced, …; see `checks.py`).

Problems are reported by table, CSV row (header = row 1, as frictionless counts), field
and value. Nothing named in the package is fetched or executed: paths must stay inside
the package folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors

from pipeline.checks import semantic_checks
from pipeline.corpus import CorpusError, read_bodies
from pipeline.paths import TABLES
from pipeline.schemas import dataframe_schema, foreign_key_checks, typed_frame
from pipeline.tables import read_table


@dataclass(frozen=True)
class Problem:
    layer: str  # package, frictionless, pandera, corpus
    table: str  # resource name, or "" for the package itself
    row: int | None  # CSV row, header = 1
    field: str | None
    value: str | None
    check: str
    message: str

    def line(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"row {self.row}" if self.row is not None else "",
                f"field {self.field}" if self.field else "",
                f"value {self.value!r}" if self.value is not None else "",
            )
            if part
        )
        return f"  {where or 'table'}: {self.message} [{self.layer}: {self.check}]"


@dataclass
class Report:
    package: str
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        layers = {}
        for p in self.problems:
            layers[p.layer] = layers.get(p.layer, 0) + 1
        tables = len({p.table for p in self.problems})
        split = ", ".join(f"{k} {v}" for k, v in sorted(layers.items()))
        status = "VALID" if self.ok else f"INVALID: {len(self.problems)} problem(s) in {tables} table(s) ({split})"
        return f"{status}; {len(self.tables)} tables checked, {len(self.skipped)} check(s) skipped"

    def text(self) -> str:
        lines = [f"Validating {self.package}"]
        order = {name: i for i, name in enumerate(["", *TABLES])}
        by_table: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_table.setdefault(p.table, []).append(p)
        for table in sorted(by_table, key=lambda t: (order.get(t, len(order)), t)):
            found = sorted(by_table[table], key=lambda p: (p.row or 0, p.field or "", p.check))
            lines.append(f"{table or 'package'} ({len(found)} problem(s))")
            lines.extend(p.line() for p in found)
        for name in self.skipped:
            lines.append(f"skipped: {name}")
        lines.append(self.summary())
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "package": self.package,
                "valid": self.ok,
                "summary": self.summary(),
                "tables": self.tables,
                "skipped": self.skipped,
                "problems": [asdict(p) for p in self.problems],
            },
            ensure_ascii=False,
            indent=2,
        )


def resolve_descriptor(path: Path) -> Path:
    """A `datapackage.json` itself, or the one in a folder."""
    path = Path(path)
    return path / "datapackage.json" if path.is_dir() else path


def _unsafe_path(base: Path, value: Any) -> str | None:
    """Why a path in the descriptor may not be followed, or None when it is safe."""
    if not isinstance(value, str) or not value:
        return f"path must be a non-empty string, got {value!r}"
    if "://" in value or value.startswith("//"):
        return f"{value!r} is a URL: the validator never fetches anything"
    candidate = Path(value)
    if candidate.is_absolute() or ".." in candidate.parts:
        return f"{value!r} points outside the package folder"
    if not (base / candidate).resolve().is_relative_to(base.resolve()):
        return f"{value!r} points outside the package folder (link)"
    return None


def _descriptor_problems(descriptor: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    def bad(message: str, table: str = "", check: str = "descriptor") -> Problem:
        return Problem("package", table, None, None, None, check, message)

    if not descriptor.is_file():
        return None, [bad(f"{descriptor} does not exist")]
    try:
        meta = json.loads(descriptor.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, [bad(f"{descriptor.name} is not valid UTF-8 JSON: {err}")]
    if not isinstance(meta, dict) or not isinstance(meta.get("resources"), list):
        return None, [bad("descriptor must be an object with a list of resources")]
    problems = []
    base = descriptor.parent
    for resource in meta["resources"]:
        name = resource.get("name", "?") if isinstance(resource, dict) else "?"
        if not isinstance(resource, dict):
            problems.append(bad("resource must be an object"))
            continue
        for key in ("path", "schema"):
            why = _unsafe_path(base, resource.get(key))
            if why:
                problems.append(bad(f"{key}: {why}", name, "unsafe_path"))
            elif not (base / resource[key]).is_file():
                problems.append(bad(f"{key}: {resource[key]} does not exist", name, "missing_file"))
    return meta, problems


def _frictionless_problems(descriptor: Path) -> list[Problem]:
    import frictionless

    report = frictionless.validate(str(descriptor))
    problems = [
        Problem("frictionless", "", None, None, None, err.type, err.message) for err in report.errors
    ]
    for task in report.tasks:
        for err in task.errors:
            problems.append(
                Problem(
                    "frictionless",
                    task.name or "",
                    getattr(err, "row_number", None),
                    getattr(err, "field_name", None),
                    None if getattr(err, "cell", None) is None else str(err.cell),
                    err.type,
                    err.message,
                )
            )
    return problems


def _read_tables(base: Path, meta: dict[str, Any]) -> tuple[dict[str, pd.DataFrame], dict[str, dict], list[Problem]]:
    frames: dict[str, pd.DataFrame] = {}
    schemas: dict[str, dict] = {}
    problems: list[Problem] = []
    for resource in meta["resources"]:
        name = resource["name"]
        try:
            schemas[name] = json.loads((base / resource["schema"]).read_text(encoding="utf-8"))
            frames[name] = read_table(base / resource["path"])
        except (UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
            message = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            problems.append(Problem("pandera", name, None, None, None, "readable", f"cannot read table: {message}"))
    return frames, schemas, problems


def _pandera_problems(
    frames: dict[str, pd.DataFrame], schemas: dict[str, dict], bodies: dict[str, str] | None
) -> tuple[list[Problem], list[str]]:
    typed = {name: typed_frame(frame, schemas[name]) for name, frame in frames.items()}
    extra, skipped = semantic_checks(typed, bodies)
    problems: list[Problem] = []
    for name, frame in frames.items():
        checks = extra.get(name, {})
        for child, fk_checks in foreign_key_checks(schemas[name], frames).items():
            checks.setdefault(child, []).extend(fk_checks)
        schema = dataframe_schema(name, schemas[name], checks)
        try:
            schema.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as err:
            problems.extend(_from_failure_cases(name, err.failure_cases, schema))
    return problems, skipped


def _from_failure_cases(table: str, cases: pd.DataFrame, schema) -> list[Problem]:
    errors = {}
    for column_name, column in schema.columns.items():
        for c in column.checks:
            errors[(column_name, c.name)] = c.error
    problems = []
    for case in cases.to_dict("records"):
        check_name = str(case.get("check"))
        column = case.get("column")
        value = case.get("failure_case")
        index = case.get("index")
        row = None if index is None or pd.isna(index) else int(index) + 2
        if check_name in ("column_in_schema", "column_in_dataframe", "column_ordered"):
            what = {
                "column_in_schema": "column not in the schema",
                "column_in_dataframe": "column missing",
                "column_ordered": "columns not in schema order",
            }[check_name]
            problems.append(Problem("pandera", table, None, str(value), None, check_name, what))
            continue
        message = errors.get((column, check_name)) or {
            "not_nullable": "required value missing",
            "field_uniqueness": "duplicate value in a unique field",
            "multiple_fields_uniqueness": "duplicate primary key",
        }.get(check_name, check_name)
        problems.append(
            Problem(
                "pandera",
                table,
                row,
                None if column is None or pd.isna(column) else str(column),
                None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value),
                check_name,
                message,
            )
        )
    return problems


def validate_package(path: Path, corpus: Path | None = None) -> Report:
    """Validate a package folder or descriptor; `corpus` enables the text checks."""
    descriptor = resolve_descriptor(path)
    report = Report(str(descriptor))
    meta, problems = _descriptor_problems(descriptor)
    report.problems.extend(problems)
    if meta is None or problems:
        return report  # unsafe or incomplete: do not hand it to frictionless
    report.tables = [r["name"] for r in meta["resources"]]
    report.problems.extend(_frictionless_problems(descriptor))
    frames, schemas, problems = _read_tables(descriptor.parent, meta)
    report.problems.extend(problems)
    bodies = None
    if corpus is not None and Path(corpus).is_dir():
        try:
            bodies = read_bodies(Path(corpus))
        except CorpusError as err:
            report.problems.extend(
                Problem("corpus", "sources", None, p.field, None, "corpus", str(p)) for p in err.problems
            )
    else:
        report.skipped.append(f"article text checks: no corpus folder at {corpus}")
    pandera_found, skipped = _pandera_problems(frames, schemas, bodies)
    report.problems.extend(pandera_found)
    report.skipped.extend(skipped)
    return report
