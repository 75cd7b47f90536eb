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
