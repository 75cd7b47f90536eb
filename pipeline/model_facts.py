"""The `models` table: developer, openness, licence and first release of each model,
each value with the articles that state it.

Facts come from article sentences only (events and phrases around a model's mention),
never from the registry: the registry may know who develops a model, but the dataset
says so only where a source does.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any, Sequence

from pipeline.events import POSSESSIVE, MergedEvent
from pipeline.text import split_sentences

OPEN_WEIGHTS = "(?:オープンウエート|オープンウェイト|オープン・ウエート|open[- ]weights?)"
OPEN_SOURCE = "(?:オープンソース|open[- ]source)"
CLOSED = "(?:クローズドソース|クローズド|非公開|API(?:を通じて|経由で)のみ)"
LIST_GLUE = r"(?:[」』]?(?:や|と|、|および|及び)[「『]?)"
# model (list) + optional など + particle + cue; negations (ではない) are excluded
AFTER = {
    "open_weights": re.compile(rf"^[」』]?(?:など)?(?:の|は|も|が)?[「『“]?{OPEN_WEIGHTS}[」』”]?(?!ではな)(?:\(.*?\))?(?:な|の|だ|で|であ)"),
    "open_source": re.compile(rf"^[」』]?(?:など)?(?:の|は|も|が)?[「『“]?{OPEN_SOURCE}(?:モデル|な|の|だ|であ)(?!ではな)"),
    "closed": re.compile(rf"^[」』]?(?:など)?(?:の|は|も|が)?(?:[^。、]{{0,12}}?)(?:を)?{CLOSED}"),
}
BEFORE = {
    "open_weights": re.compile(rf"{OPEN_WEIGHTS}(?:な|の)(?:LLM|AIモデル|モデル|言語モデル)?[「『]?$"),
    "open_source": re.compile(rf"{OPEN_SOURCE}(?:な|の)(?:LLM|AIモデル|モデル|言語モデル)[「『]?$"),
}
OPENNESS_ORDER = ("closed", "open_source", "open_weights")


def _after_list(body: str, end: int, model_spans: Sequence[tuple[int, int]]) -> int:
    """Skip the rest of a coordinated model list (A、B、Cなどの…) starting at `end`."""
    moved = True
    while moved:
        moved = False
        glue = re.match(LIST_GLUE, body[end:])
        if glue:
            nxt = end + glue.end()
            for s, e in model_spans:
                if s == nxt:
                    end, moved = e, True
                    break
    return end


def stated_openness(body: str, mentions: Sequence[tuple[int, int, str, str]]) -> dict[str, set[str]]:
    """Openness values stated next to each model mention: {model_id: {values}}."""
    models = [(s, e, eid) for s, e, eid, kind in mentions if kind == "model"]
    spans = [(s, e) for s, e, _ in models]
    found: dict[str, set[str]] = defaultdict(set)
    for sentence in split_sentences(body):
        for s, e, eid in models:
            if not (sentence.start <= s < sentence.end):
                continue
            tail = body[_after_list(body, e, spans) : sentence.end]
            head = body[sentence.start : s]
            for value, pattern in AFTER.items():
                if pattern.search(tail):
                    found[eid].add(value)
            for value, pattern in BEFORE.items():
                if pattern.search(head):
                    found[eid].add(value)
    return found


def stated_developers(body: str, mentions: Sequence[tuple[int, int, str, str]]) -> dict[str, set[str]]:
    """`OrgのModel` (OpenAIの言語モデル「GPT-2」, MetaのLlama 3): {model_id: {org ids}}."""
    ordered = sorted(mentions)
    found: dict[str, set[str]] = defaultdict(set)
    for (s1, e1, org, kind1), (s2, e2, model, kind2) in zip(ordered, ordered[1:]):
        if kind1 == "organization" and kind2 == "model" and POSSESSIVE.match(body[e1:s2]):
            found[model].add(org)
    return found


class Stated:
    """What the articles say of models outright (`stated_developers`, `stated_openness`),
    folded in one article at a time as the merge takes them: kept per article until
    the end, the phrases were 3.4 MB of a 2,000-article merge."""

    def __init__(self) -> None:
        self.developers: dict[str, Counter] = defaultdict(Counter)  # model -> organization -> articles saying so
        self.developer_sources: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.openness: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # model -> value -> articles

    def add(self, source: str, facts: dict[str, dict[str, set[str]]]) -> None:
        """One article's `ArticleResult.statements`."""
        for model, orgs in facts.get("developer", {}).items():
            for org in orgs:
                self.developers[model][org] += 1
                self.developer_sources[(model, org)].add(source)
        for model, values in facts.get("openness", {}).items():
            for value in values:
                self.openness[model][value].add(source)


def model_rows(
    model_ids: Sequence[str],
    names: dict[str, str],
    merged: Sequence[MergedEvent],
    stated: Stated,
) -> list[dict[str, Any]]:
    """One row per model, from what the articles state and the merged events (`stated`
    is read, not changed)."""
    developers: dict[str, Counter] = defaultdict(Counter, {m: Counter(c) for m, c in stated.developers.items()})
    developer_sources = defaultdict(set, {pair: set(s) for pair, s in stated.developer_sources.items()})
    openness = stated.openness
    inferred: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    licenses: dict[str, Counter] = defaultdict(Counter)
    license_sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    releases: dict[str, list[MergedEvent]] = defaultdict(list)

    for event in merged:
        sources = {e.source_id for e in event.evidence}
        objects = event.participants.get("object", set())
        for model in objects:
            if event.type in ("model_release", "access_change", "release_announcement"):
                for org in event.participants.get("agent", set()):
                    if org.startswith("organization:"):
                        developers[model][org] += 1
                        developer_sources[(model, org)] |= sources
            if event.type == "access_change":
                inferred[model]["closed"] |= sources
            if event.type == "model_release":
                releases[model].append(event)
                for lic in event.participants.get("license", set()):
                    licenses[model][lic] += 1
                    license_sources[(model, lic)] |= sources

    rows = []
    for model in sorted(model_ids):
        developer = min(developers[model], key=lambda o: (-developers[model][o], o)) if developers[model] else None
        # what a sentence says of the model outright beats what an access change implies:
        # GPT-2 was withheld in 2019, yet "GPT-2はオープンウエートだった"
        said = openness.get(model) or inferred.get(model, {})
        value = next((v for v in OPENNESS_ORDER if v in said), "unknown")
        lic = min(licenses[model], key=lambda o: (-licenses[model][o], o)) if licenses[model] else None
        dated = [r for r in releases[model] if r.date.start is not None]
        first = min(dated, key=lambda r: (r.date.start, r.date.end)) if dated else None
        rows.append(
            {
                "model_id": model,
                "name": names[model],
                "developer_id": developer,
                "openness": value,
                "license_id": lic,
                "first_release_date": first.date.edtf if first else None,
                "developer_sources": " ".join(sorted(developer_sources[(model, developer)])) if developer else None,
                "openness_sources": " ".join(sorted(said.get(value, set()))) or None,
                "license_sources": " ".join(sorted(license_sources[(model, lic)])) if lic else None,
                "release_sources": " ".join(sorted({e.source_id for e in first.evidence if e.dated})) if first else None,
            }
        )
    return rows
