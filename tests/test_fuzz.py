"""Fuzzing: random and mutated inputs end in clear errors, never in another exception.

The corpus loader gets random bytes and real articles with random edits; the validator
gets a tiny package (one article's rows) with random cells, rows and bytes changed.
Every outcome must be a result or a list of problems naming file/table and field.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import paths
from pipeline.corpus import CorpusError, load_corpus, parse_article
from pipeline.package import file_hash, write_descriptor
from pipeline.csvread import read_csv_strict
from pipeline.validate import validate_package

ARTICLE = paths.CORPUS / "techtarget-2025-08-21-gpt-oss.md"
TOKENS = [
    b"---", b"---\n", b"\n", b"\r\n", b"\r", b":", b": ", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"'", b'"',
    b"[", b"{", b"}", b"&a", b"*a", b"!!python/object/apply:os.system ['true']", b"? [a, b]\n: c\n", b"- ",
    b"id: ../x\n", b"published: 2025-02-30\n", b"language: no\n", b"id: x\nid: y\n", b"\t", b"#", b"%YAML 1.1\n",
    b"\xe3\x80\x82", "２０２５年".encode(), b"=SUM(A1)", b"9" * 40,
]
TEXT_TOKENS = ["", " ", "-1", "1e309", "NaN", "null", "2025-02-30", "2025-21", "=1+1", "@x", "+1", "a,b", '"', "\n", "x" * 300,
               "organization:openai", "model:gpt-oss", "\ufeff", "ｘ", "0", "99999999999999999999999"]
MUTATION = st.tuples(st.integers(min_value=0), st.sampled_from(["insert", "replace", "delete"]), st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8)))
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], database=None)


def mutate(raw: bytes, mutations: list[tuple[int, str, bytes]]) -> bytes:
    for position, op, payload in mutations:
        at = position % (len(raw) + 1)
        if op == "insert":
            raw = raw[:at] + payload + raw[at:]
        elif op == "replace":
            raw = raw[:at] + payload + raw[at + len(payload) :]
        else:
            raw = raw[:at] + raw[at + 1 + len(payload) :]
    return raw


def assert_clear(path: Path, raw: bytes) -> None:
    article, problems = parse_article(path, raw)
    assert (article is None) == bool(problems)
    for p in problems:
        assert p.file == path.name and p.field and p.message
    if article is not None:
        assert article.body.strip() and article.source_id == path.stem


@settings(FUZZ, max_examples=1500)
@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_articles_give_an_article_or_problems(mutations):
    assert_clear(ARTICLE, mutate(ARTICLE.read_bytes()[:1500], mutations))


@settings(FUZZ, max_examples=1000)
@given(st.binary(max_size=400) | st.lists(st.sampled_from(TOKENS), max_size=20).map(b"".join))
def test_random_bytes_give_an_article_or_problems(raw):
    assert_clear(Path("a.md"), raw)


@settings(FUZZ, max_examples=100)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=3))
def test_corpus_folder_of_random_files(files):
    with tempfile.TemporaryDirectory(prefix="aoe-fuzz-") as tmp:
        for i, raw in enumerate(files):
            (Path(tmp) / f"a{i}.md").write_bytes(raw)
        try:
            load_corpus(Path(tmp))
        except CorpusError as err:
            assert err.problems and all(p.file and p.field for p in err.problems)


# --- the validator -------------------------------------------------------------


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The committed package cut to a handful of rows per table (fast to validate)."""
    folder = tmp_path_factory.mktemp("tiny")
    shutil.copytree(paths.SCHEMAS, folder / "schemas")
    shutil.copytree(paths.DATA, folder / "data")
    for path in (folder / "data").glob("*.csv"):
        _write(path, _rows(path)[:4])
    write_descriptor(folder)
    return folder


CELL_EDIT = st.tuples(
    st.sampled_from(paths.TABLES), st.integers(0, 4), st.integers(0, 12), st.sampled_from(["set", "drop_row", "dup_row", "extra", "bytes"]),
    st.one_of(st.sampled_from(TEXT_TOKENS), st.text(max_size=12)), st.binary(max_size=6),
)


def edit_package(folder: Path, edits) -> None:
    for table, row, col, op, text, raw in edits:
        path = folder / "data" / f"{table}.csv"
        if op == "bytes":
            data = path.read_bytes()
            at = (row * 37 + col) % (len(data) + 1)
            path.write_bytes(data[:at] + raw + data[at:])
            continue
        rows = _rows(path) or [[]]
        r = row % len(rows)
        if op == "set" and rows[r]:
            rows[r][col % len(rows[r])] = text
        elif op == "drop_row":
            del rows[r]
        elif op == "dup_row":
            rows.insert(r, list(rows[r]))
        elif op == "extra":
            rows[r].append(text)
        _write(path, rows)


@settings(FUZZ, max_examples=30)  # a whole validation each (~0.2 s); the CSV reader gets thousands below
@given(st.lists(CELL_EDIT, min_size=1, max_size=4), st.booleans())
def test_mutated_package_gives_a_report(tiny, edits, rehash):
    with tempfile.TemporaryDirectory(prefix="aoe-fuzz-") as tmp:
        folder = Path(tmp) / "pkg"
        shutil.copytree(tiny, folder)
        check_mutated(folder, edits, rehash)


def check_mutated(folder: Path, edits, rehash: bool) -> None:
    try:
        edit_package(folder, edits)
    except UnicodeDecodeError:
        pass  # an earlier byte edit made the file unreadable to this test's editor, not to the validator
    if rehash:  # hash and bytes made to match, so the checks behind them run too
        descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        for resource in descriptor["resources"]:
            path = folder / resource["path"]
            resource.update(hash=file_hash(path), bytes=path.stat().st_size)
        (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    report = validate_package(folder, paths.CORPUS)
    for p in report.problems:
        assert p.table in ("", *paths.TABLES) and p.message and p.check
    assert report.summary() in report.text()


@settings(FUZZ, max_examples=1500)
@given(st.binary(max_size=300) | st.lists(st.sampled_from([b",", b"\n", b"\r\n", b'"', b"a", b"\xff", b"\xef\xbb\xbf", b"x,y"]), max_size=30).map(b"".join))
def test_random_csv_bytes_read_strictly(raw):
    frame, problems = read_csv_strict("t", raw)
    assert frame is not None or problems
    for p in problems:
        assert p.table == "t" and p.check and p.message
