"""pandera DataFrame schemas derived from the Table Schemas in `schemas/`.

The JSON Table Schemas are the single source of truth: types, required, unique,
enum, pattern, minimum/maximum, length, primary and foreign keys are translated here,
never restated. (pandera's own `from_frictionless_schema` is lossy: it leaves dates as
unchecked strings, ignores foreign keys and makes optional integers non-nullable.)

Tables are read as strings, so each type becomes a check that names the bad cell
instead of a coercion error for the whole column; constraint checks skip cells whose
type is already wrong, so one bad cell gives one message.

`untranslated` lists what a Table Schema uses that is not translated here (another
type or format, a dialect-like field option, a composite foreign key, …): the validator
has frictionless check those tables row by row, so nothing goes unchecked.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute

TRUE_VALUES = {"true", "True", "TRUE", "1"}
FALSE_VALUES = {"false", "False", "FALSE", "0"}
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|NaN|INF|-INF")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT64 = range(-(2**63), 2**63)

# What the checks below translate; anything else in a schema is left to frictionless.
SCHEMA_KEYS = {"$schema", "profile", "name", "title", "description", "fields", "primaryKey", "foreignKeys", "missingValues"}
FIELD_KEYS = {"name", "type", "format", "title", "description", "example", "examples", "constraints"}
CONSTRAINTS = {
    "string": {"required", "unique", "enum", "pattern", "minLength", "maxLength"},
    "integer": {"required", "unique", "enum", "minimum", "maximum"},
    "number": {"required", "enum", "minimum", "maximum"},
    "date": {"required", "unique", "enum"},
    "boolean": {"required", "enum"},
    "any": {"required"},
}


def isin(series: pd.Series, values: Iterable[Any]) -> pd.Series:
    """`series.isin(values)`, in C for text columns: pandas 3 makes one pyarrow scalar
    per value in Python (0.2 s per foreign-key check of a package of 2,000 articles)."""
    array = pyarrow.array(series, from_pandas=True) if isinstance(series.dtype, pd.StringDtype) else None
    if array is not None and isinstance(getattr(values, "dtype", None), pd.StringDtype):  # text already: no pass in Python
        value_set = pyarrow.compute.drop_null(pyarrow.array(values, from_pandas=True)).cast(array.type)
    else:
        values = list(values)
        if array is None or not all(isinstance(v, str) for v in values):
            return series.isin(values)
        value_set = pyarrow.array(values, type=array.type)
    found = pyarrow.compute.is_in(array, value_set=value_set)
    return pd.Series(found.fill_null(False).to_numpy(zero_copy_only=False), index=series.index, name=series.name)


def distinct(column: pd.Series) -> Any:
    """The column's distinct present values (`unique` in C: a Python set of a million
    cells costs 20x more), for `isin`."""
    return column.dropna().unique()


def _matches(series: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    return series.astype("string").str.fullmatch(pattern.pattern).fillna(False).astype(bool)


def text_array(column: pd.Series) -> pyarrow.Array | pyarrow.ChunkedArray:
    """A column of text cells as an arrow string array, missing cells as nulls: what
    the checks hand to pyarrow's compute functions."""
    return pyarrow.array(column, type=pyarrow.string(), from_pandas=True)


def _to_int64(text: pd.Series) -> pd.Series:
    """Integer text (or missing) as nullable Int64: pyarrow's cast, ~20x faster than
    `pd.to_numeric` on string columns (cells are checked against `_INTEGER` first)."""
    values = pyarrow.compute.cast(text_array(text), pyarrow.int64())
    numbers = values.fill_null(0).to_numpy(zero_copy_only=False)
    missing = values.is_null().to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(numbers, missing), index=text.index, name=text.name)


def typed_column(series: pd.Series, field_type: str) -> pd.Series:
    """Cells converted to the field's type; cells that do not convert become missing."""
    if field_type == "integer":
        text = series.where(_matches(series, _INTEGER))
        long = text.str.len() > 18  # may not fit in 64 bits: such a cell is not converted
        if long.any():
            text[long] = [v if int(v) in _INT64 else None for v in text[long]]
        return _to_int64(text)
    if field_type == "number":
        return pd.to_numeric(series.where(_matches(series, _NUMBER)), errors="coerce").astype("Float64")
    if field_type == "date":
        text = series.where(_matches(series, _DATE))
        return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").dt.date
    if field_type == "boolean":
        return series.map(
            lambda v: True if v in TRUE_VALUES else False if v in FALSE_VALUES else pd.NA
        ).astype("boolean")
    return series.astype("string")


def typed_frame(frame: pd.DataFrame, schema: Mapping[str, Any]) -> pd.DataFrame:
    """A table with every schema column converted (missing where conversion fails)."""
    out = frame.copy()
    for field in schema["fields"]:
        if field["name"] in out:
            out[field["name"]] = typed_column(out[field["name"]], field["type"])
    return out


def _type_check(field_type: str) -> pa.Check | None:
    if field_type in ("string", "any"):
        return None

    def well_typed(series: pd.Series) -> pd.Series:
        return series.isna() | typed_column(series, field_type).notna()

    return pa.Check(well_typed, name=f"type:{field_type}", error=f"not a valid {field_type}")


def _on_typed(field_type: str, test: Callable[[pd.Series], pd.Series], name: str, error: str) -> pa.Check:
    """A constraint check that ignores missing and mistyped cells (reported elsewhere)."""

    def check(series: pd.Series) -> pd.Series:
        values = typed_column(series, field_type)
        present = values.notna()
        if present.all():  # the usual case: no copy of the present cells
            return test(values).astype(bool)
        result = pd.Series(True, index=series.index)
        if present.any():
            result[present] = test(values[present]).astype(bool)
        return result

    return pa.Check(check, name=name, error=error)


# Cells made Python objects at a time where a check goes through them one by one (here
# and in `checks._zipped`): with `_zipped` taking all at once, validating the
# 8,000-article package (452,188 mentions) peaked 9 MB higher, and no faster.
BLOCK_ROWS = 1 << 16


def row_blocks(rows: pd.Series | pd.DataFrame) -> Iterator[tuple[int, Any]]:
    """(position, rows) of `BLOCK_ROWS` rows at a time, for the checks that would
    otherwise make a whole column's worth of objects or text at once."""
    for start in range(0, len(rows), BLOCK_ROWS):
        yield start, rows.iloc[start : start + BLOCK_ROWS]


def _fullmatch(series: pd.Series, regex: re.Pattern[str]) -> pd.Series:
    """Python `re` semantics (as frictionless), a block of rows at a time; once per
    distinct value of a block when its values repeat."""
    values = series.astype(str)
    matched = np.empty(len(values), dtype=bool)
    for start, block in row_blocks(values):
        unique = block.unique()
        if len(unique) * 2 < len(block):
            known = {value: regex.fullmatch(value) is not None for value in unique}
            matched[start : start + len(block)] = [known[value] for value in block.to_numpy(dtype=object)]
        else:
            matched[start : start + len(block)] = [regex.fullmatch(value) is not None for value in block.to_numpy(dtype=object)]
    return pd.Series(matched, index=series.index)


def _unrepeated(series: pd.Series) -> pd.Series:
    """False for each cell another cell repeats, as pandera's `unique` reports them. A
    text column in strictly increasing order (how the tables are written) cannot
    repeat, which comparing neighbours shows; `duplicated` hashes the whole column
    (0.22 s and 53 MB at 452,188 mention ids, against 5 ms and nothing)."""
    if isinstance(series.dtype, pd.StringDtype) and len(series) > 1 and not series.hasnans:
        array = pyarrow.array(series, from_pandas=True)
        if pyarrow.compute.all(pyarrow.compute.less(array[:-1], array[1:])).as_py():
            return pd.Series(True, index=series.index)
    return ~series.duplicated(keep=False)


# pandera's own name and message for a repeated value in a unique field; missing cells
# repeat like values, as they did for pandera's `unique`.
UNIQUE = pa.Check(_unrepeated, name="field_uniqueness", error="duplicate value in a unique field", ignore_na=False)


def constraint_checks(field: Mapping[str, Any]) -> list[pa.Check]:
    """pandera checks for one Table Schema field: its type and its constraints."""
    field_type = field.get("type", "string")
    constraints = field.get("constraints", {})
    checks = [c for c in [_type_check(field_type)] if c is not None]
    if "enum" in constraints:
        allowed = list(constraints["enum"])
        checks.append(_on_typed(field_type, lambda s: isin(s, allowed), "enum", f"not one of {allowed}"))
    if "pattern" in constraints:
        regex = re.compile(constraints["pattern"])
        checks.append(_on_typed(field_type, lambda s: _fullmatch(s, regex), "pattern", f"does not match {constraints['pattern']}"))
    if "minimum" in constraints:
        low = constraints["minimum"]
        checks.append(_on_typed(field_type, lambda s: s >= low, "minimum", f"less than {low}"))
    if "maximum" in constraints:
        high = constraints["maximum"]
        checks.append(_on_typed(field_type, lambda s: s <= high, "maximum", f"greater than {high}"))
    if "minLength" in constraints:
        n = constraints["minLength"]
        checks.append(_on_typed(field_type, lambda s: s.str.len() >= n, "minLength", f"shorter than {n}"))
    if "maxLength" in constraints:
        n = constraints["maxLength"]
        checks.append(_on_typed(field_type, lambda s: s.str.len() <= n, "maxLength", f"longer than {n}"))
    return checks


def foreign_key_checks(
    schema: Mapping[str, Any], parents: Mapping[str, pd.DataFrame]
) -> dict[str, list[pa.Check]]:
    """Named membership checks for single-field foreign keys, by child field.

    A named check (not `isin(<all ids>)`) keeps error messages short on big tables.
    """
    checks: dict[str, list[pa.Check]] = {}
    for fk in schema.get("foreignKeys", []):
        if not _single_field_key(fk):
            continue  # frictionless checks this table's rows (see `untranslated`)
        (child,) = fk["fields"]
        (parent_field,) = fk["reference"]["fields"]
        resource = fk["reference"]["resource"]
        parent = parents.get(resource)
        if parent is None or parent_field not in parent:
            continue
        known = distinct(parent[parent_field])

        def exists(series: pd.Series, known: Any = known) -> pd.Series:
            return series.isna() | isin(series, known)

        checks.setdefault(child, []).append(
            pa.Check(exists, name=f"foreign_key:{resource}.{parent_field}", error=f"not found in {resource}.{parent_field}")
        )
    return checks


def _single_field_key(fk: Any) -> bool:
    reference = fk.get("reference") if isinstance(fk, dict) else None
    return (
        isinstance(reference, dict)
        and isinstance(fk.get("fields"), list)
        and len(fk["fields"]) == 1
        and isinstance(reference.get("fields"), list)
        and len(reference["fields"]) == 1
        and isinstance(reference.get("resource"), str)
        and bool(reference["resource"])
    )


def untranslated(schema: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What in a table's schema the pandera checks do not cover (empty when they cover it all).

    `schemas` are the package's schemas by resource, for the types of referenced fields.
    """
    found = [f"schema property {key!r}" for key in sorted(set(schema) - SCHEMA_KEYS)]
    if schema.get("missingValues", [""]) != [""]:
        found.append(f"missingValues {schema['missingValues']!r}")
    types = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    for field in schema["fields"]:
        name, field_type = field["name"], field.get("type", "string")
        found.extend(f"{name}: property {key!r}" for key in sorted(set(field) - FIELD_KEYS))
        if field_type not in CONSTRAINTS:
            found.append(f"{name}: type {field_type!r}")
            continue
        if field.get("format", "default") != "default":
            found.append(f"{name}: format {field['format']!r}")
        found.extend(f"{name}: constraint {key!r}" for key in sorted(set(field.get("constraints", {})) - CONSTRAINTS[field_type]))
    key = schema.get("primaryKey", [])
    if not isinstance(key, list) or not set(key) <= set(types):
        found.append(f"primaryKey {key!r}")
    else:
        found.extend(f"primary key field {name!r} is a {types[name]}" for name in key if types[name] not in ("string", "integer"))
        found.extend(
            f"primary key field {name!r} is not required"
            for name in key
            for field in schema["fields"]
            if field["name"] == name and not field.get("constraints", {}).get("required")
        )
    for fk in schema.get("foreignKeys", []):
        if not _single_field_key(fk):
            found.append(f"foreign key {fk!r}")
            continue
        parent = schemas.get(fk["reference"]["resource"], {"fields": []})
        parent_types = {f["name"]: f.get("type", "string") for f in parent["fields"]}
        pair = (types.get(fk["fields"][0]), parent_types.get(fk["reference"]["fields"][0]))
        if pair != ("string", "string"):
            found.append(f"foreign key {fk['fields'][0]!r} between fields of types {pair}")
    return found


def canonical_keys(frame: pd.DataFrame, schema: Mapping[str, Any]) -> pd.DataFrame:
    """`frame` with integer cells of unique and primary-key fields written one way (`05` as `5`).

    frictionless compares keys as typed values; so do the uniqueness checks this way.
    Cells that are not integers stay as they are, for the type check to report.
    """
    key = schema.get("primaryKey", [])
    out = frame
    for field in schema["fields"]:
        name = field["name"]
        keyed = name in key or field.get("constraints", {}).get("unique")
        if field.get("type") == "integer" and keyed and name in frame:
            typed = typed_column(frame[name], "integer")
            if out is frame:
                out = frame.copy(deep=False)  # copy-on-write: the columns set here are new, the others shared
            out[name] = typed.astype("string").where(typed.notna(), frame[name])
    return out


PARTS = ("all", "rows", "table")


def dataframe_schema(
    name: str,
    schema: Mapping[str, Any],
    extra: Mapping[str, list[pa.Check]] | None = None,
    part: str = "all",
) -> pa.DataFrameSchema:
    """The pandera schema of one table; `extra` adds checks by field (foreign keys, text).

    `part`: "all" checks everything; "rows" only what looks at each row alone (types,
    required, enum, pattern, ranges, lengths), "table" only what compares rows
    (unique fields, the primary key): incremental validation runs "rows" on the rows
    it has not seen and "table" on all of them.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")
    extra = extra or {}
    columns = {}
    for field in schema["fields"]:
        constraints = field.get("constraints", {})
        unique = part != "rows" and bool(constraints.get("unique", False))
        columns[field["name"]] = pa.Column(
            dtype=None,
            checks=(constraint_checks(field) if part != "table" else []) + ([UNIQUE] if unique else []) + list(extra.get(field["name"], [])),
            nullable=part == "table" or not constraints.get("required", False),
            required=True,
        )
    primary_key = schema.get("primaryKey") or []
    return pa.DataFrameSchema(
        columns,
        name=name,
        strict=True,
        ordered=True,
        unique=primary_key if len(primary_key) > 1 and part != "rows" else None,
        report_duplicates="all",
    )
