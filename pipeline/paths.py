"""Where things live in a checkout, so commands default to the repository's own files;
and which paths a package descriptor may point to."""

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = ROOT / "data"
SCHEMAS = ROOT / "schemas"
CURATION = ROOT / "curation"
DATAPACKAGE = ROOT / "datapackage.json"

# Publication order of the tables: parents before the tables that refer to them.
TABLES = (
    "sources",
    "entities",
    "mentions",
    "events",
    "event_participants",
    "event_evidence",
    "models",
)

URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def path_problem(value: Any) -> str | None:
    """Why a path in a descriptor may not be followed, or None when it stays inside the
    package. URLs (nothing is ever fetched), absolute paths (POSIX or Windows) and `..`
    are refused; the validator, the loader and `diff` all ask here."""
    if not isinstance(value, str) or not value:
        return f"path must be a non-empty string, got {value!r}"
    if URL.match(value) or value.startswith("//"):
        return f"{value!r} is a URL; the pipeline never fetches anything"
    posix, windows = PurePosixPath(value), PureWindowsPath(value)
    if posix.is_absolute() or windows.drive or windows.root:
        return f"{value!r} is an absolute path outside the package"
    if ".." in posix.parts or ".." in windows.parts:
        return f"{value!r} contains '..' and points outside the package"
    return None
