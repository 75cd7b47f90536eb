"""A large synthetic corpus, in the corpus format, for benchmarks and scale tests.

Real news at scale cannot be redistributed, so articles are assembled from the
corpus's own lines: each takes runs of lines from the source articles, swaps registry
names for other names of the same type and the people the registry does not know
(a katakana full name and its family name + 氏) for made-up ones, consistently within
the article, shifts years, months and days, and rescales amounts. Every article is
therefore different, still reads like the sources, and gives extraction the same kind
of work (registry names, new names for the rules and NER to find, dated trigger
sentences), without the same quoted person in every other article.

Deterministic: article `i` depends only on the seed, `i` and the sources, so the first
500 articles of a 2,000-article corpus are the 500-article corpus, and generating
`n + 1` articles adds one new article to the `n`-article one.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from pipeline.atomic import write_text
from pipeline.corpus import Article, body_sha256
from pipeline.entities import KATAKANA, registry_mentions
from pipeline.registry import Registry
from pipeline.text import split_sentences

MEAN_CHARS = 2_500  # 2,000 articles ≈ 5 million characters
YEAR = re.compile(r"(?<![0-9０-９])([12][0-9]{3})(?=年)")
MONTH = re.compile(r"(?<![0-9０-９])(1[0-2]|0?[1-9])(?=月)")
DAY = re.compile(r"(?<![0-9０-９])(3[01]|[12][0-9]|0?[1-9])(?=日)")
FULL_NAME = re.compile(f"([{KATAKANA}]{{2,}})・([{KATAKANA}]{{2,}})")
# Made-up people swapped in for the ones the registry does not know (given × family:
# 400 names, so the articles of one batch rarely quote the same person).
GIVEN = ("ジョン", "マイケル", "サラ", "エミリー", "ロバート", "ジェームズ", "リサ", "アンナ", "トーマス", "ケビン",
         "ローラ", "ポール", "ニーナ", "ダニエル", "ソフィア", "ピーター", "レイチェル", "アレックス", "カレン", "ブライアン")
FAMILY = ("スミス", "ジョンソン", "ブラウン", "ミラー", "ウィルソン", "ムーア", "テイラー", "アンダーソン", "トンプソン",
          "ハリス", "マーティン", "ガルシア", "クラーク", "ウォーカー", "ライト", "スコット", "ベイカー", "ネルソン",
          "カーター", "ミッチェル")
AMOUNT = re.compile(r"(?<![0-9０-９.])([0-9]+)(?=(?:兆|億|万)?(?:ドル|円|ユーロ|元)|%|人|社|件|倍)")


@dataclass(frozen=True)
class Line:
    """A line of a source body and the registry names in it (offsets in the line)."""

    text: str
    names: tuple[tuple[int, int, str], ...]


@dataclass(frozen=True)
class Template:
    source_id: str
    publisher: str
    year: int
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Person:
    """Someone the source articles name in full in katakana and the registry does not know."""

    full: str
    family: str


@dataclass(frozen=True)
class Generated:
    source_id: str
    title: str
    publisher: str
    published: str
    body: str


def templates(articles: Sequence[Article], registry: Registry) -> list[Template]:
    """The source articles cut into lines, with their registry names located."""
    found = []
    for article in sorted(articles, key=lambda a: a.source_id):
        body = article.body
        spans = registry_mentions(article.source_id, body, registry, split_sentences(body))
        lines, offset = [], 0
        for text in body.split("\n"):
            end = offset + len(text)
            names = tuple((m.start - offset, m.end - offset, m.entity_id) for m in spans if offset <= m.start and m.end <= end)
            if text.strip():
                lines.append(Line(text, names))
            offset = end + 1
        year = article.published_date.start.year if article.published_date.start else 2025
        found.append(Template(article.source_id, article.publisher, year, tuple(lines)))
    return found


def unregistered_people(sources: Sequence[Template]) -> list[Person]:
    """The katakana full names (X・Y) in the sources that are no registry name."""
    found = {}
    for template in sources:
        for line in template.lines:
            for m in FULL_NAME.finditer(line.text):
                if not any(start < m.end() and m.start() < end for start, end, _ in line.names):
                    found[m.group(0)] = Person(m.group(0), m.group(2))
    return [found[name] for name in sorted(found)]


def _renamer(people: dict[Person, tuple[str, str]]) -> Callable[[str], str]:
    """What replaces each swapped person's full name and family name + 氏 in a line
    (in one pass, so that a name swapped in is never swapped again)."""
    if not people:
        return lambda text: text
    written = {}
    for person, (given, family) in people.items():
        written[person.full] = f"{given}・{family}"
        written[f"{person.family}氏"] = f"{family}氏"
    pattern = re.compile("|".join(re.escape(name) for name in sorted(written, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: written[m.group(0)], text)


def replacements(registry: Registry) -> dict[str, list[tuple[str, str | None]]]:
    """Per entity type, the (Latin name, Japanese name) a swapped-in entity is written as."""
    pools: dict[str, list[tuple[str, str | None]]] = {}
    for entry in sorted(registry.entries.values(), key=lambda e: e.id):
        if len(entry.name) >= 3 and not entry.context_aliases:
            pools.setdefault(entry.type, []).append((entry.name, entry.name_ja))
    return pools


def _rewrite(line: Line, swaps: dict[str, tuple[str, str | None]]) -> str:
    """The line with each swapped entity's names replaced, in the script it was written in."""
    text = line.text
    for start, end, entity in sorted(line.names, reverse=True):
        if entity in swaps:
            name, name_ja = swaps[entity]
            written = text[start:end]
            text = text[:start] + (name_ja if name_ja and not written.isascii() else name) + text[end:]
    return text


def _shift(text: str, years: int, months: int, days: int, scale: float) -> str:
    text = YEAR.sub(lambda m: str(int(m.group(1)) + years), text)
    text = MONTH.sub(lambda m: str((int(m.group(1)) - 1 + months) % 12 + 1), text)
    text = DAY.sub(lambda m: str((int(m.group(1)) - 1 + days) % 28 + 1), text)
    return AMOUNT.sub(lambda m: str(max(1, round(int(m.group(1)) * scale))), text)


def _article(
    index: int,
    rng: random.Random,
    sources: Sequence[Template],
    pools: dict[str, list[tuple[str, str | None]]],
    people: Sequence[Person],
    registry: Registry,
) -> Generated:
    target = rng.randint(MEAN_CHARS // 2, MEAN_CHARS * 5 // 4)  # runs of lines overshoot it by ~400
    lines: list[Line] = []
    size = 0
    first = rng.choice(sources)  # gives the publisher and the year
    template = first
    while size < target:
        start = rng.randrange(len(template.lines))
        for line in template.lines[start : start + rng.randint(2, 8)]:
            lines.append(line)
            size += len(line.text) + 1
        template = rng.choice(sources)
    entities = sorted({entity for line in lines for _, _, entity in line.names})
    swaps = {}
    for entity in entities:
        pool = pools.get(registry.entries[entity].type, [])
        if pool and rng.random() < 0.6:
            swaps[entity] = rng.choice(pool)
    named = [p for p in people if any(p.full in line.text or f"{p.family}氏" in line.text for line in lines)]
    renamed = _renamer({p: (rng.choice(GIVEN), family) for p, family in zip(named, rng.sample(FAMILY, len(named)))})
    years, months, days = rng.randint(-4, 1), rng.randrange(12), rng.randrange(28)
    scale = rng.choice((0.5, 0.8, 1.5, 2, 3, 7))
    body = "\n".join(_shift(renamed(_rewrite(line, swaps)), years, months, days, scale) for line in lines) + "\n"
    published = f"{first.year + years:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    title = body.split("\n", 1)[0][:80]
    return Generated(f"scale-{index:05d}", title, first.publisher, published, body)


def generate(articles: Sequence[Article], registry: Registry, count: int, seed: int = 0) -> Iterator[Generated]:
    """`count` distinct articles (no two bodies equal), deterministic given `seed`."""
    sources = templates(articles, registry)
    pools = replacements(registry)
    people = unregistered_people(sources)
    seen: set[str] = set()
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        while True:
            article = _article(index, rng, sources, pools, people, registry)
            digest = body_sha256(article.body)
            if digest not in seen:
                seen.add(digest)
                yield article
                break


def render(article: Generated) -> str:
    """The article as a corpus file: YAML front matter (JSON-quoted strings), then the body."""
    return (
        "---\n"
        f"id: {article.source_id}\n"
        f"title: {json.dumps(article.title, ensure_ascii=False)}\n"
        f"publisher: {json.dumps(article.publisher, ensure_ascii=False)}\n"
        f"published: {article.published}\n"
        "language: ja\n"
        'rights: "Synthetic benchmark text assembled from the project corpus; not for redistribution."\n'
        "---\n"
        f"{article.body}"
    )


def write_corpus(folder: Path, generated: Iterator[Generated]) -> tuple[int, int]:
    """Write each article atomically as `<id>.md`; return (articles, characters)."""
    folder.mkdir(parents=True, exist_ok=True)
    count = chars = 0
    for article in generated:
        path = folder / f"{article.source_id}.md"
        write_text(path, render(article))
        count += 1
        chars += len(article.body)
    return count, chars
