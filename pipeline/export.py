"""SQLite and Parquet copies of a package, for people who query rather than parse CSV.

Both are written from the verified, typed tables of `pipeline.load`, so they hold
exactly what the CSVs hold:

- `<name>-<version>.sqlite`: one table per resource, rows in file order, columns with
  the SQLite type of their Table Schema type (`SQL_TYPES`), NOT NULL for required
  fields, CHECK constraints for enums, booleans (0/1) and ISO dates, and the schemas'
  PRIMARY KEY, UNIQUE and FOREIGN KEY constraints. The export fails unless
  `PRAGMA foreign_key_check` finds nothing.
- `parquet/<table>.parquet`: the loader's DataFrames as Arrow types (enum → dictionary,
  integer → int64, number → double, boolean → bool, date → date32), with the pandas
  metadata that makes `pandas.read_parquet` give back the loader's dtypes.

No DuckDB file: DuckDB reads the Parquet files directly (`FROM 'parquet/*.parquet'`),
so a second database would cost a large wheel and add nothing.

Every file is written to a temporary name and renamed into place; the same package
gives byte-identical files.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import write_via
from pipeline.load import Package, read_package

SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT"}
_FILE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


class ExportError(Exception):
    """The package cannot be exported; the message names the table, row or field."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote, and how many rows each table holds."""

    sqlite: Path
    parquet: dict[str, Path]
    rows: dict[str, int]


def quote(identifier: str) -> str:
    """An SQL identifier, quoted (`end` is a keyword; names come from the schemas)."""
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return str(int(value))
    return repr(value)


def _key(fields: str | list[str]) -> list[str]:
    """Table Schema keys may be one field name or a list of them."""
    return [fields] if isinstance(fields, str) else list(fields)


def _column_sql(field: Mapping[str, Any], unique: bool) -> str:
    kind = field.get("type", "string")
    if kind not in SQL_TYPES:
        raise ExportError(f"field {field['name']}: type {kind!r} has no SQLite mapping")
    name = quote(field["name"])
    constraints = field.get("constraints", {})
    parts = [name, SQL_TYPES[kind]]
    if constraints.get("required"):
        parts.append("NOT NULL")
    if unique:
        parts.append("UNIQUE")
    if "enum" in constraints:
        parts.append(f"CHECK ({name} IN ({', '.join(_literal(v) for v in constraints['enum'])}))")
    if kind == "boolean":
        parts.append(f"CHECK ({name} IN (0, 1))")
    if kind == "date":
        parts.append(f"CHECK ({name} IS date({name}))")
    return " ".join(parts)


def table_sql(name: str, schema: Mapping[str, Any]) -> str:
    """CREATE TABLE for one resource, every constraint taken from its Table Schema."""
    primary = _key(schema.get("primaryKey", []))
    lines = [
        _column_sql(f, unique=bool(f.get("constraints", {}).get("unique")) and primary != [f["name"]])
        for f in schema["fields"]
    ]
    if primary:
        lines.append(f"PRIMARY KEY ({', '.join(map(quote, primary))})")
    for foreign in schema.get("foreignKeys", []):
        reference = foreign["reference"]
        parent = reference.get("resource") or name  # "" refers to the table itself
        lines.append(
            f"FOREIGN KEY ({', '.join(map(quote, _key(foreign['fields'])))}) "
            f"REFERENCES {quote(parent)} ({', '.join(map(quote, _key(reference['fields'])))})"
        )
    return f"CREATE TABLE {quote(name)} (\n  " + ",\n  ".join(lines) + "\n)"


def _sql_value(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "boolean":
        return int(bool(value))
    if kind == "date":
        return value.isoformat()
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return str(value)


def sql_rows(frame: pd.DataFrame, schema: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The frame's rows as SQLite values, in file order."""
    columns = [
        [_sql_value(v, f.get("type", "string")) for v in frame[f["name"]].astype(object).tolist()]
        for f in schema["fields"]
    ]
    return zip(*columns)


def write_sqlite(path: Path, package: Package) -> None:
    """One table per resource, rows inserted in file order, foreign keys checked."""
    connection = sqlite3.connect(path)
    try:
        for name, schema in package.schemas.items():
            connection.execute(table_sql(name, schema))
        for name, schema in package.schemas.items():
            insert = (
                f"INSERT INTO {quote(name)} VALUES ({', '.join('?' for _ in schema['fields'])})"
            )
            for number, row in enumerate(sql_rows(package.tables[name], schema), start=2):
                try:
                    connection.execute(insert, row)
                except sqlite3.IntegrityError as err:
                    raise ExportError(f"{name}: row {number}: {err}") from None
        connection.commit()
        orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            table, rowid, parent, _ = orphans[0]
            raise ExportError(
                f"{table}: row {rowid + 1} refers to a missing {parent} row "
                f"({len(orphans)} foreign key violation(s) in all)"
            )
    finally:
        connection.close()


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="zstd")


def export(source: str | os.PathLike[str], out: Path) -> Exported:
    """Write `<out>/<name>-<version>.sqlite` and `<out>/parquet/<table>.parquet`.

    Example: `export("dist/ai-openness-events-1.0.0.zip", Path("dist"))`.
    Raises LoadError for a package that fails verification, ExportError for one that
    breaks its own keys or types.
    """
    package = read_package(source)
    package_name, version = package.descriptor.get("name"), package.descriptor.get("version")
    if not all(isinstance(part, str) and _FILE_PART.fullmatch(part) for part in (package_name, version)):
        raise ExportError(f"datapackage.json: name {package_name!r} and version {version!r} must be set and fit in a file name")
    out = Path(out)
    sqlite = out / f"{package_name}-{version}.sqlite"
    write_via(sqlite, lambda tmp: write_sqlite(tmp, package))  # first: it checks the keys
    parquet = {name: out / "parquet" / f"{name}.parquet" for name in package.tables}
    for name, path in parquet.items():
        write_via(path, lambda tmp, frame=package.tables[name]: write_parquet(tmp, frame))
    return Exported(sqlite, parquet, {name: len(frame) for name, frame in package.tables.items()})
