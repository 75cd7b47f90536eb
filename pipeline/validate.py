"""Two-layer validation of a data package: frictionless, then pandera.

1. frictionless checks the package as any Data Package user would: the descriptor and
   its Table Schemas (profiles, field types, keys) and the `hash` and `bytes` of every
   resource file. It reads the rows only of tables whose schema uses something layer 2
   does not translate (`schemas.untranslated`: another type or format, a composite
   foreign key, a dialect, …); for every other table, parsing each cell again in pure
   Python would only repeat layer 2 at many times its cost.
2. pandera checks each table against models derived from the same Table Schemas
   (types, required, unique, enum, pattern, ranges, primary and foreign keys, each bad
   cell named by CSV row and field) plus what frictionless cannot express (offsets
   against the article text, EDTF bounds, every event evidenced, …; see `checks.py`),
   all vectorized, once per column. A large table that nothing else needs whole is
   checked a block of lines at a time (`pipeline.streamed`).

Before either layer, each CSV is read strictly (`pipeline.csvread`), so a hand-edited
file is reported row by row instead of failing as a whole.
Problems are reported by table, CSV row (header = row 1, as frictionless counts), field
and value; warnings (cells a spreadsheet would run as formulas, schemas that differ
from this pipeline's) never make a package invalid. Nothing named in the package is
fetched or executed: paths must stay inside the package folder, and a zip is unpacked
only when every entry stays inside it.
"""

from __future__ import annotations

import json
import re
import stat
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Collection, Mapping

import numpy as np
import pandas as pd
import pandera.errors

from pipeline.allocation import allocates_in_bulk, arrow_on_system_heap, release_free_memory
from pipeline.checks import formula_cells, semantic_checks, unsorted_rows
from pipeline.corpus import CorpusError, read_bodies
from pipeline.csvread import Problem, read_csv_strict
from pipeline.forking import Background
from pipeline.paths import SCHEMAS, TABLES, path_problem
from pipeline.progress import bar, progress_on
from pipeline.schemas import canonical_keys, dataframe_schema, foreign_key_checks, isin, typed_frame, untranslated
from pipeline.streamed import Streamed, beyond_a_block, certify, streamable
from pipeline.tables import field_names
from pipeline.validated import Known, Vouching, known_lines, load_record, record_names, sha256, vouched

RESOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
# Profiles frictionless knows without fetching; any other `$schema`/`profile` is refused.
PROFILE_PREFIXES = ("https://datapackage.org/profiles/", "https://specs.frictionlessdata.io/schemas/")
PROFILE_NAMES = {"data-package", "tabular-data-package", "data-resource", "tabular-data-resource"}
ZIP_MAX_BYTES = 2 * 1024**3  # refuse zips that would unpack to more than this
LARGE_PACKAGE_BYTES = 4 * 1024**2  # from here: frictionless's layer forks, a bar shows progress


@dataclass
class Report:
    package: str
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        layers: dict[str, int] = {}
        for p in self.problems:
            layers[p.layer] = layers.get(p.layer, 0) + 1
        tables = len({p.table for p in self.problems})
        split = ", ".join(f"{k} {v}" for k, v in sorted(layers.items()))
        status = "VALID" if self.ok else f"INVALID: {len(self.problems)} problem(s) in {tables} table(s) ({split})"
        warned = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return f"{status}; {len(self.tables)} tables checked, {len(self.skipped)} check(s) skipped{warned}"

    def text(self) -> str:
        lines = [f"Validating {self.package}"]
        lines.extend(_grouped(self.problems, "problem"))
        lines.extend(_grouped(self.warnings, "warning"))
        lines.extend(f"skipped: {name}" for name in self.skipped)
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
                "warnings": [asdict(p) for p in self.warnings],
            },
            ensure_ascii=False,
            indent=2,
        )


def _grouped(found: list[Problem], kind: str) -> list[str]:
    """Report lines by table (package first, then publication order), then by row."""
    order = {name: i for i, name in enumerate(["", *TABLES])}
    by_table: dict[str, list[Problem]] = {}
    for p in found:
        by_table.setdefault(p.table, []).append(p)
    lines = []
    for table in sorted(by_table, key=lambda t: (order.get(t, len(order)), t)):
        items = sorted(by_table[table], key=lambda p: (p.row or 0, p.field or "", p.check, p.message))
        lines.append(f"{table or 'package'} ({len(items)} {kind}(s))")
        lines.extend(p.line() for p in items)
    return lines


def resolve_descriptor(path: Path) -> Path:
    """A `datapackage.json` itself, or the one in a folder."""
    path = Path(path)
    return path / "datapackage.json" if path.is_dir() else path


# --- the descriptor: nothing outside the package, nothing fetched -------------


def _unsafe_path(base: Path, value: Any) -> str | None:
    """Why a path in the descriptor may not be followed, or None when it is safe."""
    problem = path_problem(value)
    if problem:
        return problem
    if not (base / value).resolve().is_relative_to(base.resolve()):
        return f"{value!r} points outside the package folder (link)"
    return None


def _unknown_profile(value: Any) -> bool:
    return value is not None and not (
        isinstance(value, str) and (value in PROFILE_NAMES or value.startswith(PROFILE_PREFIXES))
    )


def _resource_problems(base: Path, resource: Any, seen: set[str]) -> list[Problem]:
    def bad(message: str, table: str, check: str) -> Problem:
        return Problem("package", table, None, None, None, check, message)

    if not isinstance(resource, dict):
        return [bad(f"resource must be an object, got {type(resource).__name__}", "", "descriptor")]
    name = resource.get("name")
    if not isinstance(name, str) or not RESOURCE_NAME.fullmatch(name):
        return [bad(f"resource name must match {RESOURCE_NAME.pattern}, got {name!r}", "", "descriptor")]
    if name in seen:
        return [bad(f"two resources are named {name!r}", name, "descriptor")]
    seen.add(name)
    problems = []
    for key in ("path", "schema"):
        why = _unsafe_path(base, resource.get(key))
        if why:
            problems.append(bad(f"{key}: {why}", name, "unsafe_path"))
        elif not (base / resource[key]).is_file():
            problems.append(bad(f"{key}: {resource[key]} does not exist", name, "missing_file"))
    dialect = resource.get("dialect")
    if isinstance(dialect, str) or (dialect is not None and not isinstance(dialect, dict)):
        problems.append(bad(f"dialect must be an inline object, got {dialect!r} (never fetched)", name, "unsafe_path"))
    for key in ("$schema", "profile"):
        if _unknown_profile(resource.get(key)):
            problems.append(bad(f"{key} {resource[key]!r} is not a standard profile (never fetched)", name, "unsafe_path"))
    return problems


def _descriptor_problems(descriptor: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    def bad(message: str, check: str = "descriptor") -> Problem:
        return Problem("package", "", None, None, None, check, message)

    if not descriptor.is_file():
        return None, [bad(f"{descriptor} does not exist")]
    try:
        meta = json.loads(descriptor.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        return None, [bad(f"{descriptor.name} is not valid UTF-8 JSON: {err}")]
    if not isinstance(meta, dict) or not isinstance(meta.get("resources"), list):
        return None, [bad("descriptor must be an object with a list of resources")]
    problems = [
        bad(f"{key} {meta[key]!r} is not a standard profile (never fetched)", "unsafe_path")
        for key in ("$schema", "profile")
        if _unknown_profile(meta.get(key))
    ]
    seen: set[str] = set()
    for resource in meta["resources"]:
        problems.extend(_resource_problems(descriptor.parent, resource, seen))
    problems.extend(
        bad(f"resource {name!r} is missing: the package must have every table", "missing_resource")
        for name in TABLES
        if name not in seen
    )
    if (descriptor.parent / ".build" / "COMMIT").exists():
        problems.append(
            bad("an interrupted build is pending (.build/COMMIT): run `python -m pipeline build` to finish it", "interrupted_build")
        )
    return meta, problems


# --- zips: unpacked only when every entry stays inside ------------------------


def _zip_problems(archive: zipfile.ZipFile) -> list[str]:
    """Why the archive may not be unpacked (zip slip, links, size), empty when it may."""
    found = []
    total = 0
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
            found.append(f"entry {name!r} points outside the package (zip slip)")
        elif stat.S_ISLNK(info.external_attr >> 16):
            found.append(f"entry {name!r} is a symbolic link")
        total += info.file_size
    if total > ZIP_MAX_BYTES:
        found.append(f"unpacks to {total} bytes, more than {ZIP_MAX_BYTES}")
    return found


def _unzip(path: Path, into: Path) -> tuple[Path | None, list[Problem]]:
    """Unpack a zipped package into `into`; its descriptor, or the reasons it was refused."""

    def bad(message: str) -> Problem:
        return Problem("package", "", None, None, None, "zip", message)

    try:
        with zipfile.ZipFile(path) as archive:
            refused = _zip_problems(archive)
            if refused:
                return None, [bad(m) for m in refused]
            archive.extractall(into)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as err:
        return None, [bad(f"cannot unpack {path.name}: {err}")]
    candidates = sorted(into.glob("datapackage.json")) or sorted(into.glob("*/datapackage.json"))
    if len(candidates) != 1:
        return None, [bad(f"{path.name} must hold one datapackage.json at its top or in one folder")]
    return candidates[0], []


# --- the layers ----------------------------------------------------------------


def _frictionless_problems(descriptor: Path, row_checked: Collection[str]) -> list[Problem]:
    """frictionless on the descriptor and every file's hash and bytes; rows of `row_checked` only."""
    import frictionless
    from frictionless.resources import FileResource

    try:
        package = frictionless.Package(str(descriptor))
        package.to_descriptor(validate=True)
        reports = [
            resource.validate()
            if resource.name in row_checked
            else FileResource(name=resource.name, path=resource.path, basepath=resource.basepath, hash=resource.hash, bytes=resource.bytes).validate()
            for resource in package.resources
        ]
    except frictionless.FrictionlessException as exception:
        return [Problem("frictionless", "", None, None, None, err.type, err.message) for err in exception.to_errors()]
    except Exception as err:  # a third-party crash on hostile input must become a message
        return [Problem("frictionless", "", None, None, None, "crashed", f"frictionless failed: {type(err).__name__}: {err}")]
    problems = []
    for report in reports:
        problems.extend(Problem("frictionless", "", None, None, None, err.type, err.message) for err in report.errors)
        for task in report.tasks:
            problems.extend(
                Problem(
                    "frictionless",
                    task.name or "",
                    getattr(err, "row_number", None),
                    getattr(err, "field_name", None),
                    None if getattr(err, "cell", None) is None else str(err.cell),
                    err.type,
                    err.message,
                )
                for err in task.errors
            )
    return problems


def rows_for_frictionless(meta: dict[str, Any], schemas: dict[str, dict]) -> list[str]:
    """Tables whose rows frictionless must read: what layer 2 cannot check in them."""
    names = []
    for resource in meta["resources"]:
        name = resource["name"]
        plain_csv = (
            resource.get("dialect") is None
            and str(resource.get("format", "csv")).lower() == "csv"
            and str(resource.get("encoding", "utf-8")).lower().replace("_", "-") in ("utf-8", "utf8")
        )
        if name not in schemas or not plain_csv or untranslated(schemas[name], schemas):
            names.append(name)
    return names


def _read_schemas(base: Path, meta: dict[str, Any]) -> tuple[dict[str, dict], list[Problem], list[Problem]]:
    """Each resource's Table Schema, with the problems and warnings found reading them."""
    schemas: dict[str, dict] = {}
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for resource in meta["resources"]:
        name = resource["name"]
        try:
            schema = json.loads((base / resource["schema"]).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            problems.append(Problem("package", name, None, None, None, "schema", f"{resource['schema']} is not a JSON Table Schema: {err}"))
            continue
        if not _is_table_schema(schema):
            problems.append(Problem("package", name, None, None, None, "schema", f"{resource['schema']} is not a Table Schema with named, typed fields"))
            continue
        schemas[name] = schema
        warnings.extend(_schema_drift(name, schema))
    return schemas, problems, warnings


class ReadAhead:
    """Tables read before validation asks for them: a build reads each one as soon as
    its child has written it, while the child writes the others (`pipeline.build`),
    and matches its lines with those of the table `baseline` published
    (`pipeline.validated.known_lines`). Validation takes a table from here only when
    the file holds the very bytes that were read (the same sha256: the bytes are not
    kept, at 8,000 articles they are 80 MB), and the lines matched only for those
    bytes and the baseline's; otherwise it works them out again. The checks are the
    same either way. A table larger than a block of lines that the baseline's record
    does not name is not read here: validation may check it a block at a time
    (`pipeline.streamed`) instead of holding it whole."""

    def __init__(self, baseline: Path | None = None) -> None:
        self.baseline = baseline
        self._record = load_record(baseline) if baseline is not None else None
        self._read: dict[tuple[str, Path], tuple[str, pd.DataFrame | None, list[Problem]]] = {}
        self._lines: dict[str, tuple[str, str, np.ndarray]] = {}  # by the baseline's sha256 and the table's

    def read(self, table: str, path: Path) -> None:
        if beyond_a_block(path) and not record_names(self._record, table):
            return  # validation may check it a block at a time (`pipeline.streamed`): not held whole here
        try:
            raw = Path(path).read_bytes()
        except OSError:  # validation reads it again, and says what is wrong
            return
        digest = sha256(raw)
        self._read[(table, Path(path).resolve())] = (digest, *read_csv_strict(table, raw))
        release_free_memory()
        before = vouched(self.baseline, self._record, table) if self.baseline is not None and self._record else None
        if before is not None and raw.endswith(b"\n") and before[0].endswith(b"\n"):
            self._lines[table] = (before[1], digest, known_lines(before[0], raw))

    @property
    def tables(self) -> frozenset[str]:
        """The tables read and not yet taken."""
        return frozenset(table for table, _ in self._read)

    def matched(self, table: str, before: str, digest: str) -> np.ndarray | None:
        """The lines of `table` matched ahead, if they were matched for the baseline's
        bytes of sha256 `before` and the new bytes of sha256 `digest` (a
        `validated.Ahead`)."""
        ahead = self._lines.pop(table, None)
        return ahead[2] if ahead is not None and ahead[:2] == (before, digest) else None

    def take(self, table: str, path: Path, raw: bytes) -> tuple[pd.DataFrame | None, list[Problem], str]:
        """`raw` (the file's bytes now) as a frame, with its reading problems, and its sha256."""
        digest = sha256(raw)
        ahead = self._read.pop((table, Path(path).resolve()), None)
        if ahead is not None and ahead[0] == digest:
            return ahead[1], ahead[2], digest
        frame, problems = read_csv_strict(table, raw)
        release_free_memory()
        return frame, problems, digest


def _read_frames(
    base: Path,
    meta: dict[str, Any],
    schemas: dict[str, dict],
    done: Callable[[int], Any] = lambda n: None,
    ahead: ReadAhead | None = None,
    vouching: Vouching | None = None,
    skip: Collection[str] = (),
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The tables with a readable schema (but those to `skip`) as frames of strings,
    and the reading problems; each table read without a problem goes to `vouching`
    (its bytes are let go before the next is read); `done(1)` after each table."""
    frames: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    ahead = ahead or ReadAhead()
    for resource in meta["resources"]:
        name = resource["name"]
        if name not in schemas or name in skip:
            continue
        path = base / resource["path"]
        raw = path.read_bytes()
        frame, found, digest = ahead.take(name, path, raw)
        problems.extend(found)
        if frame is not None:
            frames[name] = frame
            if not found and vouching is not None:
                vouching.table(resource, raw, len(frame), digest)
        del raw
        done(1)
    return frames, problems


def _to_stream(
    base: Path, meta: dict[str, Any], schemas: dict[str, dict], by_frictionless: Collection[str], vouching: Vouching | None
) -> list[str]:
    """The tables to check a block at a time (`pipeline.streamed`); frictionless reads
    the rows of `by_frictionless`."""
    return [
        r["name"]
        for r in meta["resources"]
        if r["name"] in schemas
        and r["name"] not in by_frictionless
        and streamable(r["name"], schemas)
        and not (vouching is not None and vouching.covers(r["name"]))
        and beyond_a_block(base / r["path"])
    ]


def _stream(
    base: Path,
    meta: dict[str, Any],
    schemas: dict[str, dict],
    tables: Collection[str],
    frames: dict[str, pd.DataFrame],
    bodies: Mapping[str, str],
    done: Callable[[int], Any],
) -> tuple[dict[str, pd.DataFrame], dict[str, Streamed], list[Problem]]:
    """`tables` checked a block at a time against the others (`frames`): the
    typed tables, those found clean, and the reading problems of those read whole
    after all. `frames` gains the tables read whole, in the package's order."""
    typed = {name: typed_frame(frame, schemas[name]) for name, frame in frames.items()}
    streamed: dict[str, Streamed] = {}
    problems: list[Problem] = []
    for resource in meta["resources"]:
        name = resource["name"]
        if name not in tables:
            continue
        path = base / resource["path"]
        found = certify(name, path, schemas[name], frames, typed, bodies)
        release_free_memory()
        if found is not None:
            streamed[name] = found
            typed[name] = found.kept
            done(2)
            continue
        frame, read = read_csv_strict(name, path.read_bytes())
        release_free_memory()
        problems.extend(read)
        if frame is not None:
            frames[name] = frame
            typed[name] = typed_frame(frame, schemas[name])
        done(1)
    order = [r["name"] for r in meta["resources"]]
    for table in sorted(frames, key=order.index):  # the package's order, as the reports go
        frames[table] = frames.pop(table)
    return typed, streamed, problems


def _in_order(meta: dict[str, Any], problems: list[Problem]) -> list[Problem]:
    """`problems` by table in the package's order (stable: each table's in their own)."""
    order = {r["name"]: i for i, r in enumerate(meta["resources"])}
    return sorted(problems, key=lambda p: order.get(p.table, -1))


def _is_table_schema(schema: Any) -> bool:
    fields = schema.get("fields") if isinstance(schema, dict) else None
    return isinstance(fields, list) and all(
        isinstance(f, dict)
        and isinstance(f.get("name"), str)
        and isinstance(f.get("type", "string"), str)
        and isinstance(f.get("constraints", {}), dict)
        for f in fields
    )


def _schema_drift(name: str, schema: dict[str, Any]) -> list[Problem]:
    """A warning when the package's schema is not this pipeline's (checks follow the package's)."""
    ours = SCHEMAS / f"{name}.json"
    if not ours.is_file() or json.loads(ours.read_text(encoding="utf-8")) == schema:
        return []
    return [
        Problem(
            "package", name, None, None, None, "schema_drift",
            f"schema differs from this pipeline's schemas/{name}.json: checked against the package's own schema",
        )
    ]


def _rows_to_check(frames: dict[str, pd.DataFrame], schemas: dict[str, dict], known: Known | None, bodies: Mapping[str, str] | None) -> dict[str, np.ndarray]:
    """For each table `known` vouches for: the rows its row checks must look at (those
    not validated before, and those of articles whose text or `sources` row changed)."""
    if known is None:
        return {}
    ids = frames["sources"]["source_id"] if "source_id" in frames.get("sources", ()) else None
    unchanged = known.unchanged_sources(list(ids.to_numpy(dtype=object, na_value=None)), bodies) if ids is not None else frozenset()
    rows = {}
    for name, seen in known.rows.items():
        frame = frames.get(name)
        if frame is None or list(frame.columns) != field_names(schemas[name]) or len(seen) != len(frame):
            continue  # header problems: the whole table is checked, and they are reported once
        fresh = ~seen
        if "source_id" in frame:
            fresh |= ~isin(frame["source_id"], unchanged).to_numpy(dtype=bool)
        rows[name] = fresh
    return rows


def _pandera_problems(
    frames: dict[str, pd.DataFrame],
    schemas: dict[str, dict],
    bodies: Mapping[str, str] | None,
    known: Known | None = None,
    done: Callable[[int], Any] = lambda n: None,
    typed: dict[str, pd.DataFrame] | None = None,
    streamed: Collection[str] = (),
) -> tuple[list[Problem], list[str]]:
    """The pandera layer's problems in `frames` and the checks skipped; `typed`: the
    tables typed already, with the key columns of those `streamed` (checked already)."""
    typed = typed if typed is not None else {name: typed_frame(frame, schemas[name]) for name, frame in frames.items()}
    rows = _rows_to_check(frames, schemas, known, bodies)
    on_rows, comparing, skipped = semantic_checks(typed, bodies, rows, elsewhere=streamed)
    problems: list[Problem] = []
    for name, frame in frames.items():
        row_checks = on_rows.get(name, {})
        table_checks = comparing.get(name, {})
        for child, fk_checks in foreign_key_checks(schemas[name], frames).items():
            table_checks.setdefault(child, []).extend(fk_checks)
        if name in rows:
            parts = [("rows", row_checks, frame[rows[name]]), ("table", table_checks, frame)]
        else:
            merged = {f: [*row_checks.get(f, []), *table_checks.get(f, [])] for f in {*row_checks, *table_checks}}
            parts = [("all", merged, frame)]
        for part, checks, checked in parts:
            schema = dataframe_schema(name, schemas[name], checks, part)
            try:
                # in place: pandera would otherwise deep-copy the table (+80 MB for 452,188 mentions)
                schema.validate(canonical_keys(checked, schemas[name]), lazy=True, inplace=True)
            except pandera.errors.SchemaErrors as err:
                problems.extend(_from_failure_cases(name, err.failure_cases, schema))
        problems.extend(
            Problem("pandera", name, row, field_name, value, "sort_order", message)
            for row, field_name, value, message in unsorted_rows(frame, schemas[name])
        )
        done(1)
    return problems, skipped


_COLUMN_CHECKS = {
    "column_in_schema": "column not in the schema",
    "column_in_dataframe": "column missing",
    "column_ordered": "columns not in schema order",
}


def _from_failure_cases(table: str, cases: pd.DataFrame, schema) -> list[Problem]:
    known = {}  # pandera names a failed check by its error text when it has one
    for column_name, column in schema.columns.items():
        for c in column.checks:
            known[(column_name, c.name)] = known[(column_name, str(c.error))] = (c.name, c.error)
    problems = []
    for case in cases.to_dict("records"):
        column = case.get("column")
        check_name, error = known.get((column, str(case.get("check"))), (str(case.get("check")), None))
        value = case.get("failure_case")
        index = case.get("index")
        if check_name in _COLUMN_CHECKS:  # header problems: row 1
            problems.append(Problem("pandera", table, 1, str(value), None, check_name, _COLUMN_CHECKS[check_name]))
            continue
        row = None if index is None or pd.isna(index) else int(index) + 2
        message = error or {
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


def _data_bytes(base: Path, meta: dict[str, Any]) -> int:
    return sum((base / r["path"]).stat().st_size for r in meta["resources"] if (base / r["path"]).is_file())


def _validate_descriptor(
    descriptor: Path,
    corpus: Path | Mapping[str, str] | None,
    label: str,
    baseline: Path | None = None,
    progress: bool | None = None,
    ahead: ReadAhead | None = None,
) -> Report:
    report = Report(label)
    meta, problems = _descriptor_problems(descriptor)
    report.problems.extend(problems)
    if meta is None or problems:
        return report  # unsafe or incomplete: do not hand it to frictionless
    report.tables = [r["name"] for r in meta["resources"]]
    schemas, schema_problems, warnings = _read_schemas(descriptor.parent, meta)
    large = _data_bytes(descriptor.parent, meta) >= LARGE_PACKAGE_BYTES
    # frictionless's layer reads no frame: on a large package it runs beside the reading and pandera
    by_frictionless = rows_for_frictionless(meta, schemas)
    frictionless_layer = Background(_frictionless_problems, descriptor, by_frictionless, worth_it=large)
    with bar(2 * len(schemas), "step", "validate", large and progress_on(progress)) as shown:  # read, check: per table
        bodies: Mapping[str, str] | None = None
        corpus_problems: list[Problem] = []
        if isinstance(corpus, Mapping):
            bodies = corpus
        elif corpus is not None and Path(corpus).is_dir():
            try:
                bodies = read_bodies(Path(corpus))
            except CorpusError as err:
                corpus_problems = [Problem("corpus", "sources", None, p.field, None, "corpus", str(p)) for p in err.problems]
        else:
            report.skipped.append(f"article text checks: no corpus folder at {corpus}")
        vouching = Vouching(baseline, descriptor.parent, ahead.matched if ahead else None) if baseline else None
        # a block at a time only with the bodies: a check skipped without them is said once, not per block
        stream = _to_stream(descriptor.parent, meta, schemas, by_frictionless, vouching) if bodies is not None else []
        frames, read_problems = _read_frames(descriptor.parent, meta, schemas, shown.update, ahead, vouching, stream)
        known = vouching.known() if vouching is not None else None
        release_free_memory()  # before the checks' buffers
        report.warnings.extend(warnings)
        typed, streamed = None, {}
        if stream:
            typed, streamed, late = _stream(descriptor.parent, meta, schemas, stream, frames, bodies, shown.update)
            read_problems = _in_order(meta, read_problems + late)
        pandera_found, skipped = _pandera_problems(frames, schemas, bodies, known, shown.update, typed, streamed)
    for found in (frictionless_layer.result(), schema_problems, read_problems, corpus_problems, pandera_found):
        report.problems.extend(found)
    report.skipped.extend(skipped)
    for resource in meta["resources"]:
        name = resource["name"]
        if name in frames or name in streamed:
            found_cells = streamed[name].warnings if name in streamed else formula_cells(frames[name], schemas[name])
            report.warnings.extend(
                Problem("spreadsheet", name, row, field_name, value, "formula_cell", message)
                for row, field_name, value, message in found_cells
            )
    return report


def warm_up() -> None:
    """Do validation's one-time setup now instead of at the first check: pandera
    registers its pandas backends on first use (importing hypothesis when it is
    installed: ~0.12 s here) and pyparsing readies the EDTF grammar at its first parse.
    A build calls this while its child merges on one core (see
    `pipeline.build.staged_aside`); the checks and their results are the same.

    Not frictionless's first package (~0.17 s to read and compile its descriptor
    profiles): its layer runs in a child forked at validation, which would inherit
    them, but this process would then hold frictionless too (+34 MB at its peak, for
    ~0.07 s of a 2,000-article rebuild)."""
    import pandera.pandas as pa

    from pipeline.dates import parse_edtf

    pa.DataFrameSchema({"x": pa.Column(str)}).validate(pd.DataFrame({"x": ["x"]}))
    parse_edtf("2025-21")  # a season: past the calendar fast path, into edtf's grammar


@allocates_in_bulk
@arrow_on_system_heap()
def validate_package(
    path: Path,
    corpus: Path | Mapping[str, str] | None = None,
    baseline: Path | None = None,
    progress: bool | None = None,
    ahead: ReadAhead | None = None,
) -> Report:
    """Validate a package folder, descriptor or zip; `corpus` (the corpus folder, or
    the article bodies by source id when the caller has read them already) enables
    the text checks. `baseline`: a package folder whose record of a validation
    (`pipeline.validated`) spares checking again the rows it vouches for. `progress`:
    a bar for packages of 4 MB and more (default: in a terminal outside CI). `ahead`:
    tables already read (`ReadAhead`)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() != ".json" and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="aoe-zip-") as tmp:
            descriptor, problems = _unzip(path, Path(tmp))
            if descriptor is None:
                return Report(str(path), problems)
            return _validate_descriptor(descriptor, corpus, str(path), progress=progress)
    descriptor = resolve_descriptor(path)
    return _validate_descriptor(descriptor, corpus, str(descriptor), baseline, progress, ahead)
