"""Read the article corpus: YAML front matter + body, checked against the data contract.

Every problem in every file is collected before anything is reported, so one run tells
a contributor all that is wrong. The body is kept exactly as stored (only `\\r\\n` is read
as `\\n`): every offset in the package indexes into it, and `text_sha256` proves which
text that was.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from pipeline.dates import DateValue, parse_edtf
from pipeline.errors import ProblemsError
from pipeline.front_matter import FrontMatterMemo, parse_front_matter

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
LANGUAGE_PATTERN = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
URL_PATTERN = re.compile(r"https?://\S+")
REQUIRED = ("id", "title", "publisher", "published", "language")
OPTIONAL = ("author", "url", "rights")
FENCE = re.compile(r"---[ \t]*")
BOM = "\ufeff"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one corpus file, said so a person can fix it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class CorpusError(ProblemsError):
    """Raised with every problem found in the corpus; nothing is written when it is."""

    def __init__(self, problems: list[Problem]):
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(problems, f"{len(problems)} problem(s) in the corpus:\n{lines}")


@dataclass(frozen=True)
class OnDisk:
    """Where an article's body is read back from, once its article has let it go
    (`Article.without_body`): its file, and what the body was when first read."""

    path: Path
    sha256: str
    char_count: int


@dataclass(frozen=True)
class Article:
    source_id: str
    path: Path
    title: str
    publisher: str
    author: str
    url: str
    published: str
    published_date: DateValue
    language: str
    rights: str
    text: str | OnDisk  # the body, or where to read it back (see `body`)
    warnings: tuple[str, ...] = field(default=())

    @property
    def body(self) -> str:
        """The text after the front matter. An article without its body (`without_body`)
        reads it back from its file each time; CorpusError if the file has changed."""
        return self.text if type(self.text) is str else read_back(self.text)

    @property
    def text_sha256(self) -> str:
        return body_sha256(self.text) if type(self.text) is str else self.text.sha256

    @property
    def char_count(self) -> int:
        return len(self.text) if type(self.text) is str else self.text.char_count

    def without_body(self) -> Article:
        """This article holding only where its body is: a build's memory then does not
        grow with the corpus's text (2,000 articles: 12 MB of bodies as strings)."""
        if type(self.text) is not str:
            return self
        return replace(self, text=OnDisk(self.path.resolve(), body_sha256(self.text), len(self.text)))

    def with_body(self) -> Article:
        """This article holding its body (read back once, where it did not)."""
        return self if type(self.text) is str else replace(self, text=self.body)

    def source_row(self) -> dict[str, Any]:
        """The article's row in the `sources` table."""
        return {
            "source_id": self.source_id,
            "title": self.title,
            "publisher": self.publisher,
            "author": self.author,
            "url": self.url,
            "published": self.published,
            "language": self.language,
            "rights": self.rights,
            "text_sha256": self.text_sha256,
            "char_count": self.char_count,
        }


def body_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def read_back(where: OnDisk) -> str:
    """The body of the file at `where`, which must be the one first read: an article
    edited while a build runs would otherwise give offsets into a text the package
    does not hold."""
    try:
        body = split_front_matter(where.path.read_bytes().decode("utf-8"))[1]
    except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise CorpusError([Problem(where.path.name, "body", f"cannot be read back: {err}")]) from None
    if len(body) != where.char_count or body_sha256(body) != where.sha256:
        raise CorpusError([Problem(where.path.name, "body", "changed while the build was reading the corpus: run it again")])
    return body


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Split a whole file into (front matter, body, line of the front matter's first line).

    Raises ValueError when the file does not open with a `---` line or never closes it.
    """
    text = text.replace("\r\n", "\n")
    if text.startswith(BOM):
        text = text[1:]
    first, sep, rest = text.partition("\n")
    if not FENCE.fullmatch(first):
        raise ValueError("no front matter: the file must start with a line '---'")
    offset = 0
    for line in rest.split("\n"):
        if FENCE.fullmatch(line):
            front = rest[:offset]
            body = rest[offset + len(line) + 1 :]
            return front, body, 2
        offset += len(line) + 1
    raise ValueError("front matter is not closed: no second line '---'")


def _as_text(value: Any) -> str | None:
    """Scalar front matter values as text (YAML reads `published: 2025` as an int)."""
    if value is None:
        return ""
    if isinstance(value, bool):  # `language: no` is YAML 1.1 for False
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def parse_article(path: Path, raw: bytes, parse: Callable[[str], Any] = parse_front_matter) -> tuple[Article | None, list[Problem]]:
    """Parse one file's bytes; return the article or the list of what is wrong.
    `parse` reads the front matter's YAML (a `FrontMatterMemo`'s, to reuse parses)."""
    name = path.name
    problems: list[Problem] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(Problem(name, field_name, message))

    if b"\x00" in raw:
        bad("file", "binary file (NUL bytes): not a UTF-8 text article")
        return None, problems
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        bad("file", f"not valid UTF-8: byte {err.start} ({raw[err.start:err.start + 1]!r})")
        return None, problems
    warnings: list[str] = []
    if text.startswith(BOM):
        warnings.append("UTF-8 byte order mark removed before the front matter")
    try:
        front, body, _ = split_front_matter(text)
    except ValueError as err:
        bad("front matter", str(err))
        return None, problems
    try:
        meta = parse(front)
    except (yaml.YAMLError, ValueError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        bad("front matter", f"invalid YAML{where}: {problem}")
        return None, problems
    if not isinstance(meta, dict):
        bad("front matter", "must be a YAML mapping of keys to values")
        return None, problems

    values: dict[str, str] = {}
    for key in REQUIRED + OPTIONAL:
        text_value = _as_text(meta.get(key))
        if text_value is None:
            bad(key, f"must be a plain text value, got {meta.get(key)!r} (quote it)")
            continue
        values[key] = text_value.strip()
        if key in REQUIRED and not values[key]:
            bad(key, "required, missing or empty")
    for key in sorted(set(meta) - set(REQUIRED + OPTIONAL), key=str):
        warnings.append(f"unknown front matter key {key!r} ignored")

    source_id = values.get("id", "")
    if source_id:
        if not ID_PATTERN.fullmatch(source_id):
            bad("id", f"{source_id!r} must match [a-z0-9][a-z0-9-]* (no paths, no upper case)")
        elif source_id != path.stem:
            bad("id", f"{source_id!r} must equal the file name stem {path.stem!r}")
    published = DateValue("", None, None, "unknown")
    if values.get("published"):
        try:
            published = parse_edtf(values["published"])
        except ValueError as err:
            bad("published", f"{values['published']!r} is not an ISO or EDTF date: {err}")
    if values.get("language") and not LANGUAGE_PATTERN.fullmatch(values["language"]):
        bad("language", f"{values['language']!r} is not a BCP 47 language tag")
    if values.get("url") and not URL_PATTERN.fullmatch(values["url"]):
        bad("url", f"{values['url']!r} is not an http(s) URL")
    if not body.strip():
        bad("body", "empty: an article needs text after the front matter")
    elif "\r" in body:
        line = body.count("\n", 0, body.index("\r")) + 1
        bad("body", f"a carriage return not followed by a line feed (body line {line}): use \\n or \\r\\n line ends")

    if problems:
        return None, problems
    return (
        Article(
            source_id=source_id,
            path=path,
            title=values["title"],
            publisher=values["publisher"],
            author=values["author"],
            url=values["url"],
            published=values["published"],
            published_date=published,
            language=values["language"],
            rights=values["rights"],
            text=body,
            warnings=tuple(warnings),
        ),
        [],
    )


def load_corpus(
    directory: Path, memo: Path | None = None, bodies_to: Callable[[Article], None] | None = None
) -> list[Article]:
    """All articles (`*.md`) in a folder, sorted by id; CorpusError lists every problem.
    `memo`: a file that keeps front matter parses between calls (`FrontMatterMemo`).
    `bodies_to`: given each article as it is read, with its body; the articles
    returned then hold none (`Article.without_body`), so the corpus's text is never
    held whole."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError([Problem(str(directory), "corpus", "not a folder")])
    articles: list[Article] = []
    problems: list[Problem] = []
    parses = FrontMatterMemo(memo) if memo is not None else None
    for path in sorted(directory.glob("*.md")):
        article, found = parse_article(path, path.read_bytes(), parses.parse if parses else parse_front_matter)
        problems.extend(found)
        if article is not None:
            if bodies_to is not None:
                bodies_to(article)
                article = article.without_body()
            articles.append(article)
    seen: dict[str, str] = {}
    for article in articles:
        if article.source_id in seen:
            problems.append(
                Problem(article.path.name, "id", f"duplicate id, also in {seen[article.source_id]}")
            )
        seen[article.source_id] = article.path.name
    if not articles and not problems:
        problems.append(Problem(str(directory), "corpus", "no articles (*.md) found"))
    if problems:
        raise CorpusError(problems)
    if parses is not None:
        parses.save()
    return sorted(articles, key=lambda a: a.source_id)


def bodies(articles: Iterable[Article]) -> dict[str, str]:
    """Bodies by source id, for checks that compare the package with the texts."""
    return {article.source_id: article.body for article in articles}


def read_bodies(directory: Path) -> dict[str, str]:
    return bodies(load_corpus(directory))
