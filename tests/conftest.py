"""Shared fixtures: the real corpus, and one extraction run per test session
(GiNZA costs ~2.5 s and ~0.5 GB to load: load it once, not per test)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import paths


@pytest.fixture(scope="session")
def articles():
    from pipeline.corpus import load_corpus

    return load_corpus(paths.CORPUS)


@pytest.fixture(scope="session")
def bodies(articles):
    return {a.source_id: a.body for a in articles}


@pytest.fixture(scope="session")
def extracted(articles):
    """Every table extracted from the corpus, corrections off (what evaluation measures)."""
    from pipeline.extract import extract_tables

    return extract_tables(articles, apply_corrections=False)


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    """A private copy of the committed package (descriptor, data, schemas) to break."""
    for name in ("data", "schemas"):
        shutil.copytree(paths.ROOT / name, tmp_path / name)
    shutil.copy(paths.DATAPACKAGE, tmp_path / "datapackage.json")
    return tmp_path


def small_article(body: str, source_id: str = "test-2025-01-01-a", published: str = "2025-06-01"):
    """An in-memory article in the corpus format, for tests of one rule each."""
    from pipeline.corpus import Article
    from pipeline.dates import parse_edtf

    return Article(
        source_id, Path(f"{source_id}.md"), "t", "p", "a", "https://example.org/" + source_id,
        published, parse_edtf(published), "ja", "", body,
    )


@pytest.fixture()
def make_article():
    return small_article


def zip_package(folder: Path, target: Path, extra: dict[str, str] | None = None) -> Path:
    """Zip a package folder (datapackage.json at the zip's root) into `target`, which
    must lie outside it: a zip written inside the folder it archives grows without end."""
    import zipfile

    assert not target.resolve().is_relative_to(folder.resolve())
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w") as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return target
