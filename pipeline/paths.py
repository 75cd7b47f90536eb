"""Where things live in a checkout, so commands default to the repository's own files."""

from pathlib import Path

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
