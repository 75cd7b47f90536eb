"""The front matter memo: parses kept between corpus reads give the same articles, and
never a stale, broken or foreign one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import pipeline.front_matter as front_matter
from pipeline import paths
from pipeline.corpus import CorpusError, load_corpus

from test_corpus import GOOD, write


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(paths.CORPUS, folder)
    return folder


def no_parsing(monkeypatch) -> list[str]:
    """Count the YAML parses from here on (the memo's misses)."""
    parsed: list[str] = []
    real = front_matter.parse_front_matter

    def counting(front: str):
        parsed.append(front)
        return real(front)

    monkeypatch.setattr(front_matter, "parse_front_matter", counting)
    return parsed


def stored(memo: Path) -> dict:
    return json.loads(memo.read_text(encoding="utf-8"))["parses"]


def test_the_real_corpus_reads_the_same_from_the_memo(tmp_path, corpus, articles, monkeypatch):
    memo = tmp_path / "memo.json"
    assert load_corpus(corpus, memo) == load_corpus(corpus)
    assert len(stored(memo)) == len(articles)
    parsed = no_parsing(monkeypatch)
    again = load_corpus(corpus, memo)
    assert parsed == []  # every front matter came from the memo
    assert [a.source_row() for a in again] == [a.source_row() for a in articles]
    assert [(a.body, a.published_date, a.warnings) for a in again] == [(a.body, a.published_date, a.warnings) for a in articles]


def test_an_edited_front_matter_is_parsed_again(tmp_path, corpus, monkeypatch):
    memo = tmp_path / "memo.json"
    load_corpus(corpus, memo)
    path = sorted(corpus.glob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "title: \"Edited\"\nold_title:", 1), encoding="utf-8")
    parsed = no_parsing(monkeypatch)
    article = next(a for a in load_corpus(corpus, memo) if a.path.name == path.name)
    assert len(parsed) == 1 and article.title == "Edited"
    assert any("'old_title'" in w for w in article.warnings)  # checks after the parse run on every read
    assert len(stored(memo)) == len(list(corpus.glob("*.md")))  # the old parse is dropped


def test_broken_front_matter_is_reported_every_time_and_never_stored(tmp_path):
    memo = tmp_path / "memo.json"
    write(tmp_path, "a.md", GOOD.format(id="a"))
    write(tmp_path, "b.md", GOOD.format(id="b").replace("language: ja", "language: ja\nlanguage: en"))
    for _ in range(2):
        with pytest.raises(CorpusError) as err:
            load_corpus(tmp_path, memo)
        assert [(p.file, p.field) for p in err.value.problems] == [("b.md", "front matter")]
        assert "duplicate key" in str(err.value)
    assert not memo.exists()  # a corpus with problems leaves the memo as it was


def test_values_json_would_not_give_back_are_parsed_every_time(tmp_path, monkeypatch):
    memo = tmp_path / "memo.json"
    write(tmp_path, "a.md", GOOD.format(id="a").replace("language: ja", "language: ja\ntags: [x, y]"))
    write(tmp_path, "b.md", GOOD.format(id="b").replace("language: ja", "language: ja\nsize: 1.5"))
    write(tmp_path, "c.md", GOOD.format(id="c").replace("language: ja", "language: ja\nbig: 123456789012345678901234567890"))
    write(tmp_path, "d.md", GOOD.format(id="d"))
    first = load_corpus(tmp_path, memo)
    assert len(stored(memo)) == 1  # only d.md's is plain
    parsed = no_parsing(monkeypatch)
    assert load_corpus(tmp_path, memo) == first
    assert len(parsed) == 3


@pytest.mark.parametrize("damage", ["garbage", "other code", "not plain"])
def test_a_damaged_or_foreign_memo_is_ignored_and_rewritten(tmp_path, corpus, damage):
    memo = tmp_path / "memo.json"
    expected = load_corpus(corpus, memo)
    content = json.loads(memo.read_text(encoding="utf-8"))
    if damage == "garbage":
        memo.write_bytes(b"\x00\x01 not json")
    elif damage == "other code":
        content["stamp"]["code"] = "0" * 64
        memo.write_text(json.dumps(content), encoding="utf-8")
    else:  # a stored value no parse gives: ignored, parsed again
        content["parses"] = {key: {"title": ["not", "text"]} for key in content["parses"]}
        memo.write_text(json.dumps(content), encoding="utf-8")
    assert load_corpus(corpus, memo) == expected
    assert json.loads(memo.read_text(encoding="utf-8")) == json.loads(json.dumps(front_matter_file(corpus, tmp_path)))


def front_matter_file(corpus: Path, tmp_path: Path) -> dict:
    """The memo a fresh read of `corpus` writes."""
    fresh = tmp_path / "fresh.json"
    load_corpus(corpus, fresh)
    return json.loads(fresh.read_text(encoding="utf-8"))


def test_an_unchanged_corpus_does_not_rewrite_the_memo(tmp_path, corpus):
    memo = tmp_path / "memo.json"
    load_corpus(corpus, memo)
    before = memo.stat().st_ino  # a write replaces the file (atomic rename): a new inode
    load_corpus(corpus, memo)
    assert memo.stat().st_ino == before
    (corpus / sorted(p.name for p in corpus.glob("*.md"))[0]).unlink()
    load_corpus(corpus, memo)
    assert memo.stat().st_ino != before  # one entry fewer


def test_a_build_keeps_its_parses_in_the_extraction_cache(tmp_path, corpus, articles):
    from pipeline.build import FRONT_MATTER_MEMO, extract_corpus
    from pipeline.executor import Settings

    cache = tmp_path / "cache"
    read, _ = extract_corpus(corpus, corrections=False, settings=Settings(executor="local", cache_dir=cache))
    assert read == load_corpus(corpus)
    assert len(stored(cache / FRONT_MATTER_MEMO)) == len(articles)
