"""Build the package end to end: corpus → extract → corrections → validate → publish.

Everything is written to a staging folder first and validated there; only a valid
package replaces `data/` and `datapackage.json`. The replacement is a few renames
recorded in a journal (`.build/COMMIT`): if a build is killed inside it, the next build
rolls it forward before doing anything else, so the published files are never left
half-written.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from pipeline.corpus import Article, load_corpus
from pipeline.package import read_descriptor, write_descriptor
from pipeline.paths import ROOT, TABLES
from pipeline.tables import load_schema, write_table
from pipeline.validate import Report, validate_package

Tables = Mapping[str, Iterable[Mapping[str, Any]]]


class BuildError(Exception):
    """The new package did not validate; the published files were left as they were."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(report.summary())


@dataclass(frozen=True)
class BuildResult:
    root: Path
    rows: dict[str, int]
    report: Report


def _kill_point(name: str) -> None:
    """Test hook: `AOE_KILL_AT=<name>` makes the build SIGKILL itself at that point."""
    if os.environ.get("AOE_KILL_AT") == name:
        os.kill(os.getpid(), 9)


def write_tables(folder: Path, tables: Tables, schemas_dir: Path) -> dict[str, int]:
    """Write each table as `<folder>/<name>.csv` in schema order; return row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in TABLES:
        if name in tables:
            rows = list(tables[name])
            write_table(folder / f"{name}.csv", rows, load_schema(name, schemas_dir))
            counts[name] = len(rows)
    return counts


def stage(root: Path, tables: Tables) -> tuple[Path, dict[str, int]]:
    """A complete package (data, schemas, descriptor) in a fresh staging folder."""
    staging = root / ".build" / f"stage-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(root / "schemas", staging / "schemas")
    counts = write_tables(staging / "data", tables, root / "schemas")
    write_descriptor(staging, read_descriptor(root / "datapackage.json"))
    return staging, counts


def recover(root: Path) -> bool:
    """Finish a publish that was interrupted; True when there was one to finish."""
    journal = root / ".build" / "COMMIT"
    if not journal.exists():
        return False
    staging = Path(journal.read_text(encoding="utf-8").strip())
    if (staging / "data").exists():
        if (root / "data").exists() and (root / ".build" / "old-data").exists():
            shutil.rmtree(root / "data")
        if not (root / "data").exists():
            os.replace(staging / "data", root / "data")
    if (staging / "datapackage.json").exists():
        os.replace(staging / "datapackage.json", root / "datapackage.json")
    _finish(root, staging)
    return True


def _finish(root: Path, staging: Path) -> None:
    (root / ".build" / "COMMIT").unlink(missing_ok=True)
    shutil.rmtree(root / ".build" / "old-data", ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def publish(root: Path, staging: Path) -> None:
    """Replace data/ and datapackage.json by the staged ones (journalled renames)."""
    journal = root / ".build" / "COMMIT"
    journal.write_text(str(staging), encoding="utf-8")
    _kill_point("publish")
    old = root / ".build" / "old-data"
    shutil.rmtree(old, ignore_errors=True)
    if (root / "data").exists():
        os.replace(root / "data", old)
    _kill_point("swap")
    os.replace(staging / "data", root / "data")
    os.replace(staging / "datapackage.json", root / "datapackage.json")
    _finish(root, staging)


def extract_all(articles: list[Article], corrections: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every table of the package from the articles (extraction, then curation)."""
    from pipeline.extract import extract_tables

    return extract_tables(articles, apply_corrections=corrections)


def build(root: Path = ROOT, corpus: Path | None = None, corrections: bool = True) -> BuildResult:
    """Rebuild and publish the package in `root` from the corpus (default root/corpus)."""
    root = Path(root)
    corpus = Path(corpus) if corpus else root / "corpus"
    (root / ".build").mkdir(exist_ok=True)
    recover(root)
    articles = load_corpus(corpus)  # CorpusError: nothing written
    tables = extract_all(articles, corrections)
    _kill_point("extracted")
    staging, counts = stage(root, tables)
    _kill_point("staged")
    report = validate_package(staging, corpus)
    if not report.ok:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(report)
    publish(root, staging)
    return BuildResult(root, counts, report)
