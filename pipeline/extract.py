"""Every published table from a list of articles: the extraction step of the build.

Articles are processed in id order and entities are resolved across them, so the
output depends only on the corpus, the registry and the code, never on timing.
"""

from __future__ import annotations

from typing import Any, Sequence

from pipeline.corpus import Article
from pipeline.entities import Resolver, article_mentions
from pipeline.events import article_events, event_rows, merge_events
from pipeline.ids import mention_id
from pipeline.model_facts import model_rows, stated_developers, stated_openness
from pipeline.registry import Registry, load_registry


def extract_tables(
    articles: Sequence[Article],
    registry: Registry | None = None,
    apply_corrections: bool = True,
    use_ner: bool = True,
    parse: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """sources, entities, mentions, events, event_participants, event_evidence, models."""
    registry = registry or load_registry()
    resolver = Resolver(registry)
    mentions_rows: list[dict[str, Any]] = []
    all_events = []
    statements: dict[str, dict[str, dict[str, set[str]]]] = {}
    for article in sorted(articles, key=lambda a: a.source_id):
        found = article_mentions(article.source_id, article.body, registry, resolver, use_ner=use_ner)
        typed = [(m.start, m.end, m.entity_id, resolver.entities[m.entity_id].type) for m in found]
        mentions_rows.extend(
            {
                "mention_id": mention_id(m.source_id, m.start, m.end),
                "source_id": m.source_id,
                "entity_id": m.entity_id,
                "start": m.start,
                "end": m.end,
                "surface": m.surface,
                "method": m.method,
            }
            for m in found
        )
        all_events.extend(article_events(article.source_id, article.body, article.published_date, typed, parse_docs=parse))
        statements[article.source_id] = {
            "developer": stated_developers(article.body, typed),
            "openness": stated_openness(article.body, typed),
        }
    mentioned = {row["entity_id"] for row in mentions_rows}
    entities = [e for e in resolver.entities.values() if e.entity_id in mentioned]
    names = {e.entity_id: e.name for e in entities}
    merged = merge_events(all_events)
    tables: dict[str, list[dict[str, Any]]] = {
        "sources": [a.source_row() for a in articles],
        "entities": [
            {"entity_id": e.entity_id, "type": e.type, "name": e.name, "name_ja": e.name_ja or None, "method": e.method}
            for e in entities
        ],
        "mentions": mentions_rows,
        **event_rows(merged, names),
        "models": model_rows([e.entity_id for e in entities if e.type == "model"], names, merged, statements),
    }
    if apply_corrections:
        from pipeline.corrections import apply_corrections, load_corrections

        tables = apply_corrections(tables, load_corrections())
    return tables
