"""`docs/codebook.md`: the human-readable codebook, generated from the package itself.

Everything in it is read from `datapackage.json`, the Table Schemas and the CSV files
(an example value per field), never written by hand, so it cannot drift from what is
published; `python -m pipeline codebook --check` tells CI when the committed file is
stale. The package version is left out on purpose: a release changes the version but
not the tables, and must not make the codebook stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from pipeline.atomic import write_text
from pipeline.tables import read_table

CODEBOOK = Path("docs") / "codebook.md"
EXAMPLE_WIDTH = 70


class CodebookError(Exception):
    """The package cannot be read: the message names the file and what is wrong."""


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, or a CodebookError naming the file and the problem."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodebookError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CodebookError(f"{path}: cannot be read: {err}") from None
    except json.JSONDecodeError as err:
        raise CodebookError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    if not isinstance(value, dict):
        raise CodebookError(f"{path}: expected a JSON object")
    return value


def _code(text: str) -> str:
    """`text` as a Markdown code span, safe inside a table cell."""
    text = text.replace("\n", " ").replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _shorten(text: str, width: int = EXAMPLE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def field_type(field: Mapping[str, Any]) -> str:
    kind = field.get("type", "any")
    fmt = field.get("format")
    return f"{kind} ({fmt})" if fmt and fmt != "default" else kind


def field_constraints(field: Mapping[str, Any]) -> str:
    """The field's constraints in words, in a fixed order."""
    constraints = field.get("constraints", {})
    parts = [flag for flag in ("required", "unique") if constraints.get(flag)]
    if "enum" in constraints:
        parts.append("one of " + ", ".join(_code(str(v)) for v in constraints["enum"]))
    for key in ("minimum", "maximum", "minLength", "maxLength"):
        if key in constraints:
            parts.append(f"{key} {constraints[key]}")
    if "pattern" in constraints:
        parts.append("pattern " + _code(constraints["pattern"]))
    return "; ".join(parts)


def examples(frame: pd.DataFrame) -> dict[str, str]:
    """The first non-empty value of each column, in file order."""
    out = {}
    for column in frame.columns:
        present = frame[column].dropna()
        present = present[present.str.strip() != ""]
        if len(present):
            out[column] = str(present.iloc[0])
    return out


def _foreign_keys(schema: Mapping[str, Any]) -> list[str]:
    lines = []
    for fk in schema.get("foreignKeys", []):
        ref = fk["reference"]
        own = ", ".join(_code(f) for f in fk["fields"])
        theirs = ", ".join(_code(f"{ref.get('resource') or 'self'}.{f}") for f in ref["fields"])
        lines.append(f"{own} → {theirs}")
    return lines


def table_section(resource: Mapping[str, Any], schema: Mapping[str, Any], frame: pd.DataFrame) -> str:
    """The codebook section of one table."""
    name = resource["name"]
    keys = schema.get("primaryKey") or []
    foreign = _foreign_keys(schema)
    shown_schema = resource["schema"] if isinstance(resource["schema"], str) else "inline in datapackage.json"
    lines = [
        f"## {name}",
        "",
        f"**{resource.get('title') or schema.get('title') or name}.** "
        + (schema.get("description") or resource.get("description") or ""),
        "",
        f"- File: `{resource['path']}` ({len(frame)} rows)",
        f"- Schema: `{shown_schema}`",
        "- Primary key: " + (", ".join(_code(k) for k in keys) or "none"),
        "- Foreign keys:" + ("" if foreign else " none"),
        *[f"  - {line}" for line in foreign],
        "",
        "| field | type | constraints | description | example |",
        "|---|---|---|---|---|",
    ]
    sample = examples(frame)
    for field in schema["fields"]:
        example = sample.get(field["name"])
        lines.append(
            "| "
            + " | ".join(
                [
                    _code(field["name"]),
                    field_type(field),
                    field_constraints(field),
                    _cell(field.get("description", "")),
                    _code(_shorten(example)) if example is not None else "(always empty)",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def _licences(licenses: Iterable[Mapping[str, Any]]) -> str:
    out = []
    for licence in licenses:
        label = " — ".join(str(licence[k]) for k in ("name", "title") if licence.get(k))
        out.append(f"[{label}]({licence['path']})" if licence.get("path") else label)
    return ", ".join(out) or "not stated"


def _resource_schema(root: Path, resource: Mapping[str, Any]) -> dict[str, Any]:
    schema = resource.get("schema")
    if isinstance(schema, dict):
        return schema
    if not isinstance(schema, str):
        raise CodebookError(f"{root / 'datapackage.json'}: resource {resource.get('name')!r} has no schema")
    loaded = read_json(root / schema)
    if not isinstance(loaded.get("fields"), list):
        raise CodebookError(f"{root / schema}: a Table Schema needs a list of fields")
    return loaded


def _resource_frame(root: Path, resource: Mapping[str, Any]) -> pd.DataFrame:
    path = root / str(resource.get("path", ""))
    try:
        return read_table(path)
    except FileNotFoundError:
        raise CodebookError(f"{path}: file not found (resource {resource.get('name')!r})") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise CodebookError(f"{path}: cannot be read as CSV: {err}") from None


def codebook_text(root: Path) -> str:
    """The whole codebook of the package in `root`, as Markdown."""
    root = Path(root)
    descriptor = read_json(root / "datapackage.json")
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, dict) and "name" in r for r in resources):
        raise CodebookError(f"{root / 'datapackage.json'}: resources must be a list of objects with a name")
    head = [
        f"# Codebook: {descriptor.get('title') or descriptor.get('name', '')}",
        "",
        "<!-- Generated by `python -m pipeline codebook` from datapackage.json, schemas/ and data/. Do not edit by hand. -->",
        "",
        descriptor.get("description", ""),
        "",
        f"- Package: `{descriptor.get('name', '')}`",
        f"- Licence of the data: {_licences(descriptor.get('licenses', []))}",
    ]
    if descriptor.get("homepage"):
        head.append(f"- Homepage: <{descriptor['homepage']}>")
    head += [
        "- Tables, in the package's order: " + ", ".join(f"[{r['name']}](#{r['name']})" for r in resources),
        "",
        "Types and constraints are those of the Table Schemas (frictionless). An empty cell is a missing value. "
        "Examples are the first non-empty value of each column in the published file.",
        "",
    ]
    sections = [
        table_section(resource, _resource_schema(root, resource), _resource_frame(root, resource))
        for resource in resources
    ]
    return "\n".join(head) + "\n" + "\n".join(sections)


def write_codebook(root: Path) -> Path:
    """Regenerate `<root>/docs/codebook.md` (atomically); returns its path."""
    path = Path(root) / CODEBOOK
    write_text(path, codebook_text(root))
    return path


def stale_codebook(root: Path) -> str | None:
    """Why `<root>/docs/codebook.md` is not current, or None when it is."""
    path = Path(root) / CODEBOOK
    if not path.is_file():
        return f"{path} does not exist"
    if path.read_bytes() != codebook_text(root).encode("utf-8"):
        return f"{path} is stale: it does not match datapackage.json, schemas/ and data/"
    return None
