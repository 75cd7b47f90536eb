"""Every published table from a list of articles: the extraction step of the build.

Two steps, so that the slow one can be cached and run in parallel:

1. `extract_article` works on one article alone: mentions, events and stated facts,
   with a private `RecordingResolver` that logs every call it makes (which registry
   entity was seen, which name was discovered and what id it got, which alias was
   linked). Its result is plain, picklable data that depends only on the article, the
   registry, the flags and the code. `extract_articles` runs it on a chunk of
   articles with their GiNZA work in shared batches; each result is the same.
2. `merge_results` walks the articles in id order and replays each log on one shared
   `Resolver`, exactly as a sequential run would have made those calls. A name an
   earlier article already gave another id (an alias linked there) would have resolved
   differently in a sequential run: such an article is re-extracted against the shared
   resolver instead (rare: `MergeStats.reextracted` counts them; see `conflicts`), so
   the output is byte-identical to a one-process, in-order run whatever the executor
   or cache.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from pipeline.allocation import allocates_in_bulk
from pipeline.corpus import Article
from pipeline.entities import Mention, Resolver, mention_steps
from pipeline.events import Event, EventMerger, MergedEvent, event_rows, event_steps
from pipeline.ids import mention_id
from pipeline.model_facts import Stated, model_rows, stated_developers, stated_openness
from pipeline.nlp import Steps, run_steps, run_together
from pipeline.registry import Registry, load_registry
from pipeline.tables import RenderedRun, RenderedTable, Spool, SpooledRun, load_schema, render_run

# A resolver call as logged: ("registry", id) | ("discovered", surface, kind, method,
# family, id returned) | ("link", id, surface, alias key).
Call = tuple


@dataclass(frozen=True)
class Flags:
    """What the per-article step is asked to do (part of the cache key)."""

    use_ner: bool = True
    parse: bool = True


MENTIONS_SCHEMA = load_schema("mentions")


@dataclass
class ArticleResult:
    """One article's extraction, before cross-article resolution."""

    source_id: str
    mentions: RenderedRun  # the article's rows of the mentions table, rendered
    mentioned: set[str]  # the entity ids of those rows
    events: list[Event]
    statements: dict[str, dict[str, set[str]]]
    calls: list[Call] = field(default_factory=list)


def _alias_key(kind: str, surface: str) -> tuple[str, str]:
    """The key `Resolver` files a name under (type, NFKC + case-folded surface)."""
    return (kind, unicodedata.normalize("NFKC", surface).casefold())


class RecordingResolver(Resolver):
    """A fresh `Resolver` that logs each call, so the calls can be replayed later."""

    def __init__(self, registry: Registry):
        super().__init__(registry)
        self.calls: list[Call] = []

    def registry_entity(self, entity_id: str):
        if entity_id not in self.entities:  # a later call is a no-op, here and in a replay
            self.calls.append(("registry", entity_id))
        return super().registry_entity(entity_id)

    def discovered(self, surface: str, kind: str, method: str, family: str | None = None, known_id: str | None = None) -> str:
        found = super().discovered(surface, kind, method, family, known_id)
        self.calls.append(("discovered", surface, kind, method, family, found))
        return found

    def link(self, entity_id: str, surface: str) -> None:
        self.calls.append(("link", entity_id, surface, _alias_key(self.entities[entity_id].type, surface)))
        super().link(entity_id, surface)


def _article_steps(article: Article, registry: Registry, resolver: Resolver, flags: Flags) -> Steps[ArticleResult]:
    body = article.body  # read back once, where the article holds only where it is
    found = yield from mention_steps(article.source_id, body, registry, resolver, use_ner=flags.use_ner)
    typed = [(m.start, m.end, m.entity_id, resolver.entities[m.entity_id].type) for m in found]
    events = yield from event_steps(article.source_id, body, article.published_date, typed, parse_docs=flags.parse)
    statements = {
        "developer": stated_developers(body, typed),
        "openness": stated_openness(body, typed),
    }
    rows = render_run(mention_rows(found), MENTIONS_SCHEMA)
    return ArticleResult(article.source_id, rows, {m.entity_id for m in found}, events, statements)


def extract_article(article: Article, registry: Registry, flags: Flags = Flags()) -> ArticleResult:
    """The per-article step: a pure function of the article, registry, flags and code."""
    return extract_articles([article], registry, flags)[0]


def extract_articles(articles: Sequence[Article], registry: Registry, flags: Flags = Flags()) -> list[ArticleResult]:
    """`extract_article` on each article, their GiNZA work batched together: the same
    results, sooner (see `nlp.run_together`)."""
    resolvers = [RecordingResolver(registry) for _ in articles]
    results = run_together([_article_steps(a, registry, r, flags) for a, r in zip(articles, resolvers)])
    for result, resolver in zip(results, resolvers):
        result.calls = resolver.calls
    return results


def conflicts(resolver: Resolver, calls: Iterable[Call]) -> bool:
    """True when replaying `calls` on `resolver` would return other ids than logged.

    Only `discovered` returns an id found through the aliases, so only it can differ:
    when the shared resolver files the name under another id. A name it does not hold
    resolves as in the article's private resolver (the replay files the article's own
    names as that one did). A `link` returns nothing and keeps the first id given to a
    name, and the mention it made carries the article's own entity (a family name
    refers to the person named in full in the same article), so a link to a name
    another article holds changes nothing; a later `discovered` call looking that name
    up is caught by the first rule.
    """
    for call in calls:
        if call[0] == "discovered":
            known = resolver.aliases.get(_alias_key(call[2], call[1]))
            if known is not None and known != call[5]:
                return True
    return False


def replay(resolver: Resolver, calls: Iterable[Call]) -> None:
    """Make the logged calls on the shared resolver, in their order."""
    for call in calls:
        if call[0] == "registry":
            resolver.registry_entity(call[1])
        elif call[0] == "discovered":
            resolver.discovered(call[1], call[2], call[3], call[4], known_id=call[5])
        else:
            resolver.link(call[1], call[2])


@dataclass
class MergeStats:
    """How the cross-article step went (for the bench and the CLI)."""

    articles: int = 0
    reextracted: list[str] = field(default_factory=list)


def merge_results(
    articles: Sequence[Article],
    results: Iterable[ArticleResult],
    registry: Registry,
    flags: Flags = Flags(),
    stats: MergeStats | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The tables from per-article results, given in the order of `sorted_articles`."""
    stats = stats if stats is not None else MergeStats()
    resolver = Resolver(registry)
    runs: list[SpooledRun] = []
    spool = Spool()  # the mention rows wait on disk, not in memory, until they are written
    mentioned: set[str] = set()
    events = EventMerger()  # its first step runs as results arrive: while the misses are extracted
    stated = Stated()
    for article, result in zip(sorted_articles(articles), results, strict=True):
        if result.source_id != article.source_id:
            raise ValueError(f"result for {result.source_id} given in the place of {article.source_id}")
        if conflicts(resolver, result.calls):
            stats.reextracted.append(article.source_id)
            result = run_steps(_article_steps(article, registry, resolver, flags))
        else:
            replay(resolver, result.calls)
        stats.articles += 1
        runs.append(spool.keep(result.mentions))
        mentioned |= result.mentioned
        events.add(result.events)
        stated.add(article.source_id, result.statements)
    return _tables(articles, resolver, RenderedTable(runs), mentioned, events.merged(), stated)


def mention_rows(mentions: Iterable[Mention]) -> list[dict[str, Any]]:
    """An article's resolved mentions as rows of the mentions table."""
    return [
        {
            "mention_id": mention_id(m.source_id, m.start, m.end),
            "source_id": m.source_id,
            "entity_id": m.entity_id,
            "start": m.start,
            "end": m.end,
            "surface": m.surface,
            "method": m.method,
        }
        for m in mentions
    ]


def _tables(
    articles: Sequence[Article],
    resolver: Resolver,
    mentions: RenderedTable,
    mentioned: set[str],
    merged: list[MergedEvent],
    stated: Stated,
) -> dict[str, Any]:
    entities = [e for e in resolver.entities.values() if e.entity_id in mentioned]
    names = {e.entity_id: e.name for e in entities}
    return {
        "sources": [a.source_row() for a in articles],
        "entities": [
            {"entity_id": e.entity_id, "type": e.type, "name": e.name, "name_ja": e.name_ja or None, "method": e.method}
            for e in entities
        ],
        "mentions": mentions,
        **event_rows(merged, names),
        "models": model_rows([e.entity_id for e in entities if e.type == "model"], names, merged, stated),
    }


def sorted_articles(articles: Sequence[Article]) -> list[Article]:
    """The order every step sees articles in: by id, so output never depends on timing."""
    return sorted(articles, key=lambda a: a.source_id)


Runner = Callable[[list[Article], Registry, Flags], Iterator[ArticleResult]]


# Articles whose GiNZA work is batched together: beyond ~16 a batch gains nothing.
CHUNK = 16


def chunks(articles: Sequence[Article], size: int = CHUNK) -> list[list[Article]]:
    return [list(articles[i : i + size]) for i in range(0, len(articles), size)]


def run_local(articles: list[Article], registry: Registry, flags: Flags) -> Iterator[ArticleResult]:
    """The per-article step in this process, in order, a chunk at a time."""
    for chunk in chunks(articles):
        yield from extract_articles(chunk, registry, flags)


@allocates_in_bulk
def extract_tables(
    articles: Sequence[Article],
    registry: Registry | None = None,
    apply_corrections: bool = True,
    use_ner: bool = True,
    parse: bool = True,
    runner: Runner = run_local,
    cache_dir: Path | None = None,
    stats: MergeStats | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """sources, entities, mentions, events, event_participants, event_evidence, models.

    Each table is a sized iterable of row dicts in no promised order: a list, or rows
    kept rendered or made on demand (`tables.RenderedTable`, `tables.OrderedRows`), so
    that a large corpus's tables are not all held as dicts; `list(table)` gives a list.
    `runner` runs the per-article step (see `pipeline.executor`); `cache_dir` keeps
    its results between builds (see `pipeline.cache`). Neither changes the output.
    """
    registry = registry or load_registry()
    flags = Flags(use_ner, parse)
    ordered = sorted_articles(articles)
    if cache_dir is None:
        results: Iterable[ArticleResult] = runner(ordered, registry, flags)
    else:
        from pipeline.cache import Cache, cached_results

        results = cached_results(Cache(Path(cache_dir)), ordered, registry, flags, runner)
    tables = merge_results(ordered, results, registry, flags, stats)
    if apply_corrections:
        from pipeline.corrections import apply_corrections, load_corrections

        tables = apply_corrections(tables, load_corrections())
    return tables
