"""Load a published package into typed pandas DataFrames, after checking its integrity.

`load(source)` accepts a package folder, a `datapackage.json`, a release zip (with
`datapackage.json` at its root) or a `file://` URL to any of those. Before a table is
parsed, its `bytes` and `hash` are checked against the descriptor, so a tampered or
truncated download fails loudly instead of being analysed. Nothing named in the
package is fetched or executed: URLs, absolute paths, `..` and links leaving the
package are refused, and zips with such entries are refused whole (zip slip).

Types come from the package's own Table Schemas:

| Table Schema | pandas dtype |
|---|---|
| string | `string` |
| string with `enum` | `category`, the categories being the enum in schema order |
| integer | `Int64` (nullable) |
| number | `Float64` (nullable) |
| boolean | `boolean` (nullable) |
| date | `date32[day][pyarrow]`: calendar dates without a time or zone, which Parquet stores as DATE |

Constraints (required, unique, keys) are the validator's business, not the loader's.

pandas and pyarrow are imported inside the functions that need them, so that
`import pipeline` (which re-exports `load`) stays cheap for the CLI.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol
from urllib.parse import unquote, urlparse

from pipeline.paths import URL, path_problem

if TYPE_CHECKING:
    import pandas as pd

DESCRIPTOR = "datapackage.json"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|NaN|INF|-INF")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Table Schema defaults (https://datapackage.org/standard/table-schema/#boolean).
_TRUE_VALUES = ["true", "True", "TRUE", "1"]
_FALSE_VALUES = ["false", "False", "FALSE", "0"]


class LoadError(Exception):
    """The package cannot be trusted or read; the message names the resource and why."""


@dataclass(frozen=True)
class Package:
    """A loaded package: its descriptor, each table's Table Schema and typed frame."""

    descriptor: dict[str, Any]
    schemas: dict[str, dict[str, Any]]
    tables: dict[str, "pd.DataFrame"]


class _Reader(Protocol):
    label: str

    def size(self, member: str) -> int: ...

    def read(self, member: str) -> bytes: ...


def safe_member(value: Any, what: str) -> str:
    """A descriptor path as a normalized relative POSIX path, or LoadError why not
    (`paths.path_problem`): no descriptor can make the loader read outside its package."""
    problem = path_problem(value)
    if problem:
        raise LoadError(f"{what}: {problem}")
    return PurePosixPath(value).as_posix()


class _FolderReader:
    """Files under one folder; symbolic links leading out of it are refused."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.label = str(root)

    def _path(self, member: str) -> Path:
        path = (self.root / member).resolve()
        if not path.is_relative_to(self.root):
            raise LoadError(f"{member!r} leads outside the package folder {self.label} (link)")
        if not path.is_file():
            raise LoadError(f"{member!r} does not exist in {self.label}")
        return path

    def size(self, member: str) -> int:
        return self._path(member).stat().st_size

    def read(self, member: str) -> bytes:
        try:
            return self._path(member).read_bytes()
        except OSError as err:
            raise LoadError(f"{member!r} in {self.label} is unreadable: {err.strerror}") from None


class _ZipReader:
    """Members of a zip, read in memory: nothing is extracted to disk."""

    def __init__(self, archive: zipfile.ZipFile, label: str) -> None:
        for name in archive.namelist():
            try:
                safe_member(name, f"zip entry in {label}")
            except LoadError as err:
                raise LoadError(f"{err} (zip slip): the archive is refused") from None
        self.archive = archive
        self.label = label

    def _info(self, member: str) -> zipfile.ZipInfo:
        try:
            return self.archive.getinfo(member)
        except KeyError:
            raise LoadError(f"{member!r} is not in {self.label}") from None

    def size(self, member: str) -> int:
        return self._info(member).file_size

    def read(self, member: str) -> bytes:
        try:
            return self.archive.read(self._info(member))
        except (zipfile.BadZipFile, OSError) as err:
            raise LoadError(f"{member!r} in {self.label} is unreadable: {err}") from None


def local_path(source: str | os.PathLike[str]) -> Path:
    """The local path a source names: a path as is, or a `file://` URL; other URLs refused."""
    text = os.fspath(source)
    if not URL.match(text):
        return Path(text)
    url = urlparse(text)
    if url.scheme.lower() != "file" or url.netloc not in ("", "localhost"):
        raise LoadError(f"{text}: only local paths and file:// URLs are loaded; download the release first")
    from urllib.request import url2pathname  # pulls in http.client: only when needed

    return Path(url2pathname(unquote(url.path)))


def _verify(reader: _Reader, name: str, resource: Mapping[str, Any], member: str) -> bytes:
    """The resource's bytes, once their size and hash match the descriptor."""
    expected_size, expected_hash = resource.get("bytes"), resource.get("hash")
    if not isinstance(expected_size, int) or not isinstance(expected_hash, str):
        raise LoadError(f"resource {name}: descriptor gives no bytes and hash, so it cannot be verified")
    try:
        size = reader.size(member)
    except LoadError as err:
        raise LoadError(f"resource {name}: {err}") from None
    if size != expected_size:
        raise LoadError(f"resource {name}: {member} has {size} bytes, the descriptor says {expected_size}")
    algorithm, _, digest = expected_hash.rpartition(":")
    algorithm = algorithm or "md5"  # a bare hex digest is md5 in the Data Package spec
    if algorithm not in hashlib.algorithms_guaranteed:
        raise LoadError(f"resource {name}: unsupported hash algorithm {algorithm!r}")
    data = reader.read(member)
    actual = hashlib.new(algorithm, data).hexdigest()
    if len(data) != expected_size or actual != digest.lower():
        raise LoadError(f"resource {name}: {member} {algorithm} is {actual}, the descriptor says {digest}")
    return data


def _json(reader: _Reader, member: str, label: str) -> Any:
    try:
        return json.loads(reader.read(member).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise LoadError(f"{label} is not valid UTF-8 JSON: {err}") from None


def _schema(reader: _Reader, name: str, value: Any, base: PurePosixPath) -> dict[str, Any]:
    """The resource's Table Schema: inline, or a JSON file inside the package."""
    if isinstance(value, dict):
        schema = value
    else:
        member = (base / safe_member(value, f"resource {name} schema")).as_posix()
        schema = _json(reader, member, f"resource {name}: schema {member}")
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        raise LoadError(f"resource {name}: its schema has no list of fields")
    return schema


def _rows(name: str, member: str, data: bytes, encoding: str, names: list[str]) -> list[list[str]]:
    """The CSV's data rows, once the header equals the schema's field names."""
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as err:
        raise LoadError(f"resource {name}: {member} is not {encoding}: {err}") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise LoadError(f"resource {name}: {member} is not valid CSV: {err}") from None
    if not rows or rows[0] != names:
        raise LoadError(f"resource {name}: header {rows[0] if rows else []} differs from the schema's fields {names}")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(names):
            raise LoadError(f"resource {name}: row {number} has {len(row)} fields, the header has {len(names)}")
    return rows[1:]


def _matching(pattern: re.Pattern[str], convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """`convert`, applied only to text that fully matches the Table Schema lexical form."""

    def parse(text: str) -> Any:
        if not pattern.fullmatch(text):
            raise ValueError(text)
        return convert(text)

    return parse


def _converter(field: Mapping[str, Any]) -> Callable[[str], Any]:
    """Cell text → value for one field (missing values are handled before); ValueError if bad."""
    kind = field.get("type", "string")
    if kind == "string":
        return str
    if kind == "integer":
        return _matching(_INTEGER, int)
    if kind == "number":
        return _matching(_NUMBER, float)
    if kind == "boolean":
        values = {v: True for v in field.get("trueValues", _TRUE_VALUES)}
        values |= {v: False for v in field.get("falseValues", _FALSE_VALUES)}

        def boolean(text: str) -> bool:
            if text not in values:
                raise ValueError(text)
            return values[text]

        return boolean
    if kind == "date":
        fmt = field.get("format", "default")
        if fmt in ("default", "any"):
            return _matching(_DATE, dt.date.fromisoformat)
        return lambda text: dt.datetime.strptime(text, fmt).date()
    raise LoadError(f"field {field.get('name')}: type {kind!r} is not supported by the loader")


def dtype(field: Mapping[str, Any]) -> Any:
    """The pandas dtype the loader gives a Table Schema field."""
    import pandas as pd
    import pyarrow as pa

    enum = field.get("constraints", {}).get("enum")
    if enum is not None:
        convert = _converter(field)
        return pd.CategoricalDtype([convert(str(v)) for v in enum], ordered=False)
    kinds = {
        "string": pd.StringDtype(),
        "integer": pd.Int64Dtype(),
        "number": pd.Float64Dtype(),
        "boolean": pd.BooleanDtype(),
        "date": pd.ArrowDtype(pa.date32()),
    }
    kind = field.get("type", "string")
    if kind not in kinds:
        raise LoadError(f"field {field.get('name')}: type {kind!r} is not supported by the loader")
    return kinds[kind]


def typed_frame(name: str, rows: list[list[str]], schema: Mapping[str, Any]) -> "pd.DataFrame":
    """A DataFrame of the rows, each column converted to its field's dtype, in file order."""
    import pandas as pd

    missing = set(schema.get("missingValues", [""]))
    columns: dict[str, Any] = {}
    for index, field in enumerate(schema["fields"]):
        try:
            convert, kind = _converter(field), dtype(field)
        except LoadError as err:
            raise LoadError(f"resource {name}: {err}") from None
        values = []
        for number, row in enumerate(rows, start=2):
            text = row[index]
            if text in missing:
                values.append(None)
                continue
            try:
                values.append(convert(text))
            except ValueError:
                raise LoadError(
                    f"resource {name}: row {number} field {field['name']}: {text!r} is not a valid {field.get('type', 'string')}"
                ) from None
            if isinstance(kind, pd.CategoricalDtype) and values[-1] not in kind.categories:
                raise LoadError(f"resource {name}: row {number} field {field['name']}: {text!r} is not in the schema's enum")
        columns[field["name"]] = pd.Series(values, dtype=kind)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def _read(reader: _Reader, descriptor_member: str) -> Package:
    descriptor = _json(reader, descriptor_member, f"{reader.label}: {descriptor_member}")
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise LoadError(f"{reader.label}: {descriptor_member} must be an object with a list of resources")
    base = PurePosixPath(descriptor_member).parent
    schemas: dict[str, dict[str, Any]] = {}
    tables: dict[str, pd.DataFrame] = {}
    for position, resource in enumerate(descriptor["resources"]):
        if not isinstance(resource, dict):
            raise LoadError(f"resource #{position + 1}: must be an object")
        name = str(resource.get("name", f"#{position + 1}"))
        if "schema" not in resource:
            continue  # not a table: nothing to load
        member = (base / safe_member(resource.get("path"), f"resource {name} path")).as_posix()
        schema = _schema(reader, name, resource["schema"], base)
        data = _verify(reader, name, resource, member)
        names = [f["name"] for f in schema["fields"]]
        rows = _rows(name, member, data, resource.get("encoding", "utf-8"), names)
        schemas[name] = schema
        tables[name] = typed_frame(name, rows, schema)
    return Package(descriptor, schemas, tables)


def read_package(source: str | os.PathLike[str]) -> Package:
    """The descriptor, schemas and typed tables of a package folder, descriptor, zip or file:// URL."""
    path = local_path(source)
    if path.is_dir():
        path = path / DESCRIPTOR
    if not path.is_file():
        raise LoadError(f"{path}: no such package (expected a folder, a {DESCRIPTOR} or a release zip)")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return _read(_ZipReader(archive, str(path)), DESCRIPTOR)
        except (zipfile.BadZipFile, OSError) as err:
            raise LoadError(f"{path}: not a readable zip: {err}") from None
    return _read(_FolderReader(path.parent), path.name)


def load(source: str | os.PathLike[str]) -> dict[str, "pd.DataFrame"]:
    """Table name → typed DataFrame (columns in schema order, rows in file order).

    Example: `tables = load("dist/ai-openness-events-1.0.0.zip"); tables["events"]`.
    Raises LoadError when a file's size or sha256 differs from the descriptor, when a
    path leaves the package, or when a cell does not parse as its field's type.
    """
    return read_package(source).tables
