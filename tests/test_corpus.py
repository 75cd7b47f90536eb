"""The corpus loader on the real articles and on broken ones (one fault per file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import paths
from pipeline.corpus import CorpusError, body_sha256, load_corpus, parse_article

GOOD = (
    "---\nid: {id}\ntitle: \"T\"\npublisher: P\nauthor: null\nurl: https://example.org/a\n"
    "published: 2025-08-21\nlanguage: ja\n---\n本文です。OpenAIは公開した。\n"
)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def problems_of(folder: Path) -> list:
    with pytest.raises(CorpusError) as err:
        load_corpus(folder)
    return err.value.problems


def test_real_corpus_loads_with_exact_bodies(articles):
    assert [a.source_id for a in articles] == sorted(p.stem for p in paths.CORPUS.glob("*.md"))
    for article in articles:
        raw = article.path.read_text(encoding="utf-8").replace("\r\n", "\n")
        # the body is everything after the closing fence line, unchanged
        assert raw.endswith(article.body)
        assert raw[: len(raw) - len(article.body)].endswith("\n---\n")
        row = article.source_row()
        assert row["char_count"] == len(article.body)
        assert row["text_sha256"] == body_sha256(article.body)
        assert row["published"] in article.path.read_text(encoding="utf-8")


def test_shared_corpus_copied_unchanged():
    shared = paths.ROOT.parent / "shared" / "corpus"
    if not shared.is_dir():
        pytest.skip("no ../shared/corpus beside this checkout")
    for path in shared.glob("*.md"):
        assert (paths.CORPUS / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("本文だけ\n", "front matter", "no front matter"),
        ("---\nid: a\ntitle: T\n本文\n", "front matter", "not closed"),
        ("---\nid: a\ntitle: [unclosed\n---\n本文\n", "front matter", "invalid YAML at line"),
        ("---\n- a list\n---\n本文\n", "front matter", "mapping"),
        ("---\nid: a\nid: a\ntitle: T\npublisher: P\npublished: 2025\nlanguage: ja\n---\n本文\n", "front matter", "duplicate key"),
        (GOOD.format(id="a").replace('title: "T"', 'title: ""'), "title", "required"),
        (GOOD.format(id="a").replace("publisher: P\n", ""), "publisher", "required"),
        (GOOD.format(id="b"), "id", "file name stem"),
        (GOOD.format(id="../x"), "id", "must match"),
        (GOOD.format(id="a").replace("2025-08-21", "2025-13-01"), "published", "not an ISO or EDTF date"),
        (GOOD.format(id="a").replace("2025-08-21", "soon"), "published", "not an ISO or EDTF date"),
        (GOOD.format(id="a").replace("language: ja", "language: no"), "language", "plain text"),
        (GOOD.format(id="a").replace("language: ja", "language: japanese!"), "language", "BCP 47"),
        (GOOD.format(id="a").replace("https://example.org/a", "ftp:/x"), "url", "http"),
        (GOOD.format(id="a").split("本文")[0], "body", "empty"),
    ],
)
def test_each_fault_names_file_and_field(tmp_path, text, field, words):
    write(tmp_path, "a.md", text)
    problems = problems_of(tmp_path)
    assert any(p.file == "a.md" and p.field == field and words in p.message for p in problems), problems


def test_non_utf8_and_binary_files(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="a").encode("utf-8") + b"\xff\xfe")
    write(tmp_path, "b.md", b"\x00\x01binary")
    problems = problems_of(tmp_path)
    assert {(p.file, p.field) for p in problems} == {("a.md", "file"), ("b.md", "file")}
    assert "UTF-8" in str(problems[0]) and "binary" in str(problems[1])


def test_every_problem_in_every_file_is_reported_at_once(tmp_path):
    write(tmp_path, "a.md", GOOD.format(id="a").replace('title: "T"', 'title: ""').replace("2025-08-21", "x"))
    write(tmp_path, "b.md", "no front matter\n")
    write(tmp_path, "c.md", GOOD.format(id="c"))
    problems = problems_of(tmp_path)
    assert {(p.file, p.field) for p in problems} == {("a.md", "title"), ("a.md", "published"), ("b.md", "front matter")}


def test_bom_crlf_and_unknown_key_are_accepted(tmp_path):
    text = "\ufeff" + GOOD.format(id="a").replace("language: ja", "language: ja\nextra: 1")
    write(tmp_path, "a.md", text.replace("\n", "\r\n"))
    (article,) = load_corpus(tmp_path)
    assert article.body == "本文です。OpenAIは公開した。\n"
    assert "\r" not in article.body
    assert any("byte order mark" in w for w in article.warnings)
    assert any("'extra'" in w for w in article.warnings)


def test_edtf_published_values(tmp_path):
    for i, value in enumerate(["2025-04", "2025", "2025~", "2025-21"]):
        write(tmp_path, f"a{i}.md", GOOD.format(id=f"a{i}").replace("2025-08-21", value))
    published = [a.published for a in load_corpus(tmp_path)]
    assert published == ["2025-04", "2025", "2025~", "2025-21"]


def test_large_body_is_read(tmp_path):
    body = ("OpenAIは2025年8月5日にモデルを公開した。\n" * 400_000)[: 20_000_000]
    path = write(tmp_path, "a.md", GOOD.format(id="a").split("本文")[0] + body)
    article, problems = parse_article(path, path.read_bytes())
    assert not problems and article.source_row()["char_count"] == len(body)


def test_empty_or_missing_folder(tmp_path):
    assert "no articles" in str(problems_of(tmp_path)[0])
    assert "not a folder" in str(problems_of(tmp_path / "missing")[0])


def test_lone_carriage_return_in_body_is_an_error(tmp_path):
    """Only \\r\\n is read as \\n; a lone \\r would end up in CSV cells, which no spreadsheet reads alike."""
    from pipeline.corpus import CorpusError, load_corpus

    (tmp_path / "x-2025-01-01-a.md").write_bytes(
        b"---\nid: x-2025-01-01-a\ntitle: t\npublisher: p\npublished: 2025-01-01\nlanguage: ja\n---\nline one\rline two\n"
    )
    with pytest.raises(CorpusError) as err:
        load_corpus(tmp_path)
    assert "x-2025-01-01-a.md" in str(err.value) and "body" in str(err.value) and "carriage return" in str(err.value)


def test_articles_read_without_their_bodies_give_them_back_from_the_files(tmp_path):
    """`bodies_to` sees each article with its body; the articles returned hold only
    where it is, and give back the same body, hash and length (BOM and CRLF too)."""
    write(tmp_path, "a.md", GOOD.format(id="a"))
    write(tmp_path, "b.md", ("\ufeff" + GOOD.format(id="b")).replace("\n", "\r\n"))
    kept = load_corpus(tmp_path)
    seen = []
    lean = load_corpus(tmp_path, bodies_to=lambda a: seen.append((a.source_id, a.text)))
    assert seen == [(a.source_id, a.body) for a in kept]
    assert all(type(a.text) is not str for a in lean)
    for thin, full in zip(lean, kept, strict=True):
        assert thin.body == full.body and thin.source_row() == full.source_row()
        assert thin.with_body() == full and full.without_body() == thin


@pytest.mark.parametrize(
    "edit",
    [
        lambda path: path.write_text(path.read_text(encoding="utf-8").replace("公開", "発表"), encoding="utf-8"),
        lambda path: path.write_bytes(path.read_bytes() + b"\xff"),
        lambda path: path.unlink(),
    ],
    ids=["edited", "not UTF-8", "deleted"],
)
def test_a_body_changed_before_it_is_read_back_is_a_corpus_error(tmp_path, edit):
    """A build reads the text twice (for the sources table and for extraction): a file
    edited in between is refused by name, never extracted from a different text."""
    path = write(tmp_path, "a.md", GOOD.format(id="a"))
    (article,) = load_corpus(tmp_path, bodies_to=lambda a: None)
    edit(path)
    with pytest.raises(CorpusError) as err:
        article.body
    (problem,) = err.value.problems
    assert (problem.file, problem.field) == ("a.md", "body")
