"""Score predicted tables against hand-made gold annotations, so that a change to the
extraction is measured (precision, recall, F1) instead of eyeballed.

Gold: one YAML file per article, `<gold_dir>/<source_id>.yaml` (`.yml` also read; other
files such as README.md are not gold). Predicted: the package CSVs in `<pred_dir>`:
`entities.csv` and `mentions.csv` are required; `events.csv`, `event_participants.csv`
and `event_evidence.csv` come together or not at all (absent: events are not scored).

Matching rules
--------------
- Scope: only articles with a gold file are scored; predicted rows for other sources
  are ignored. "overall" sums tp/fp/fn over the scored articles (micro average).
- Mentions, untyped: a hit is an exact (source_id, start, end). Typed: exact span and
  the same entity type. The predicted type is the `type` of the mention's entity in
  entities.csv (its id prefix when the entity is not there); the gold type is the
  mention's `type` (its entity's id prefix when not given). Spans are compared as sets.
  A predicted span that overlaps a gold span without equalling it is a miss and a
  spurious item; both are listed as "wrong span". An exact span with another type is
  listed as "wrong type" on both sides.
- Entities, per article: gold = the entity ids of the gold mentions, predicted = the
  entity ids of the predicted mentions of that source. Typed: exact id. Untyped: exact
  ids first, then, one to one, ids that differ only by the type prefix
  (gold `model:mistral` vs predicted `organization:mistral`).
- Events, per article: a predicted event belongs to every article that it has an
  event_evidence row for. A gold and a predicted event match when they have the same
  type, the same date string (EDTF, "" when undated), equal agent sets, and object sets
  that are equal or both non-empty with a Jaccard overlap >= OBJECT_JACCARD (0.5).
  Entity ids are compared exactly; other roles (platform, license, …) do not affect
  matching but are shown in the missed/spurious lines. Matching is one to one and
  greedy: candidate pairs are taken in order of most shared (role, entity) pairs.

Score conventions: precision = tp / (tp + fp), 1.0 when nothing is predicted (nothing
wrong); recall = tp / (tp + fn), 1.0 when there is nothing to find; F1 is their harmonic
mean, 0.0 when both are 0. An article with empty gold and no predictions scores 1.0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
import yaml

OBJECT_JACCARD = 0.5
OVERALL = "overall"
EVENT_TABLES = ("events", "event_participants", "event_evidence")
_MATCH_ROLES = ("agent", "object")


@dataclass(frozen=True)
class Score:
    """Counts of one level for one article (or overall); rates follow the module's conventions."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        predicted = self.tp + self.fp
        return self.tp / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        expected = self.tp + self.fn
        return self.tp / expected if expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, int | float]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass
class Evaluation:
    """Scores per level and article, plus the items to look at when a score drops."""

    mentions_untyped: dict[str, Score]
    mentions_typed: dict[str, Score]
    entities_untyped: dict[str, Score]
    entities_typed: dict[str, Score]
    events: dict[str, Score] | None
    missed: list[str]
    spurious: list[str]

    def levels(self) -> dict[str, dict[str, Score] | None]:
        """The score tables by level name, in report order."""
        return {
            "mentions_untyped": self.mentions_untyped,
            "mentions_typed": self.mentions_typed,
            "entities_untyped": self.entities_untyped,
            "entities_typed": self.entities_typed,
            "events": self.events,
        }

    def text(self) -> str:
        """A plain-text report: P/R/F1 per level and article, then what was missed and spurious."""
        levels = self.levels()
        articles = [a for scores in levels.values() if scores for a in scores]
        width = max(len(a) for a in ["article", *articles])
        header = f"{'level':<17}  {'article':<{width}}  {'tp':>4} {'fp':>4} {'fn':>4}  {'P':>5} {'R':>5} {'F1':>5}"
        lines = [header, "-" * len(header)]
        for level, scores in levels.items():
            if scores is None:
                lines.append(f"{level:<17}  not evaluated (no event tables in the predicted folder)")
                continue
            for article, s in scores.items():
                lines.append(
                    f"{level:<17}  {article:<{width}}  {s.tp:>4} {s.fp:>4} {s.fn:>4}"
                    f"  {s.precision:>5.3f} {s.recall:>5.3f} {s.f1:>5.3f}"
                )
        for title, items in (("missed", self.missed), ("spurious", self.spurious)):
            lines.append("")
            lines.append(f"{title} ({len(items)}):" if items else f"{title}: none")
            lines.extend(f"  {item}" for item in items)
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; `events` is null when the event tables were absent."""
        out: dict[str, Any] = {
            level: None if scores is None else {a: s.as_dict() for a, s in scores.items()}
            for level, scores in self.levels().items()
        }
        out["missed"] = list(self.missed)
        out["spurious"] = list(self.spurious)
        return out


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    surface: str
    type: str
    entity: str  # "" when the gold mention is not linked


@dataclass(frozen=True)
class _Event:
    label: str  # gold key or predicted event_id: lets a reader find the item
    type: str
    date: str
    participants: Mapping[str, frozenset[str]]

    def role(self, name: str) -> frozenset[str]:
        return self.participants.get(name, frozenset())


@dataclass
class _Article:
    mentions: list[_Mention]
    events: list[_Event]


def evaluate(gold_dir: Path, pred_dir: Path) -> Evaluation:
    """Score the tables in `pred_dir` against the gold YAML files in `gold_dir`."""
    gold = _load_gold(Path(gold_dir))
    pred_mentions, pred_events = _load_predicted(Path(pred_dir), set(gold))
    levels: dict[str, dict[str, Score]] = defaultdict(dict)
    missed: list[str] = []
    spurious: list[str] = []
    for source, article in gold.items():
        tag = f"[{source}]"
        untyped, typed = _score_mentions(tag, article.mentions, pred_mentions[source], missed, spurious)
        levels["mentions_untyped"][source] = untyped
        levels["mentions_typed"][source] = typed
        untyped, typed = _score_entities(
            tag,
            {m.entity for m in article.mentions if m.entity},
            {m.entity for m in pred_mentions[source] if m.entity},
            missed,
            spurious,
        )
        levels["entities_untyped"][source] = untyped
        levels["entities_typed"][source] = typed
        if pred_events is not None:
            levels["events"][source] = _score_events(tag, article.events, pred_events[source], missed, spurious)
    for scores in levels.values():
        scores[OVERALL] = sum(scores.values(), Score(0, 0, 0))
    return Evaluation(
        mentions_untyped=levels["mentions_untyped"],
        mentions_typed=levels["mentions_typed"],
        entities_untyped=levels["entities_untyped"],
        entities_typed=levels["entities_typed"],
        events=levels["events"] if pred_events is not None else None,
        missed=missed,
        spurious=spurious,
    )


# --- loading ----------------------------------------------------------------


def _text(value: Any) -> str:
    """YAML reads unquoted dates as `date` and years as `int`: compare everything as text."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _prefix(entity_id: str) -> str:
    return entity_id.split(":", 1)[0] if ":" in entity_id else ""


def _name(entity_id: str) -> str:
    return entity_id.split(":", 1)[1] if ":" in entity_id else entity_id


def _id_set(value: Any) -> frozenset[str]:
    """A role's ids: a list, a single id, or null."""
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    return frozenset(_text(item) for item in items)


def _load_gold(gold_dir: Path) -> dict[str, _Article]:
    if not gold_dir.is_dir():
        raise ValueError(f"gold folder not found: {gold_dir}")
    files = sorted(p for p in gold_dir.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    if not files:
        raise ValueError(f"no gold files (<source_id>.yaml) in {gold_dir}")
    gold: dict[str, _Article] = {}
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            source = _text(doc.get("source_id"))
            mentions = [_gold_mention(m) for m in doc.get("mentions") or []]
            events = [_gold_event(e, i) for i, e in enumerate(doc.get("events") or [], start=1)]
        except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a valid gold file: {exc}") from exc
        if source != path.stem or source == OVERALL:
            raise ValueError(f"{path}: source_id {source!r} must equal the file name (and not be {OVERALL!r})")
        gold[source] = _Article(mentions, events)
    return gold


def _gold_mention(m: Mapping[str, Any]) -> _Mention:
    entity = _text(m.get("entity"))
    return _Mention(int(m["start"]), int(m["end"]), _text(m.get("surface")), _text(m.get("type")) or _prefix(entity), entity)


def _gold_event(e: Mapping[str, Any], index: int) -> _Event:
    participants = {_text(role): _id_set(ids) for role, ids in (e.get("participants") or {}).items()}
    return _Event(
        label=f"gold {_text(e.get('key')) or f'#{index}'}",
        type=_text(e["type"]),
        date=_text(e.get("date")),
        participants={role: ids for role, ids in participants.items() if ids},
    )


def _read(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"predicted table not found: {path}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


def _load_predicted(
    pred_dir: Path, sources: set[str]
) -> tuple[dict[str, list[_Mention]], dict[str, list[_Event]] | None]:
    """Predicted mentions and events of the gold articles (events None when not predicted)."""
    entities = _read(pred_dir / "entities.csv", ("entity_id", "type"))
    types = dict(zip(entities["entity_id"], entities["type"]))
    mentions: dict[str, list[_Mention]] = {s: [] for s in sources}
    frame = _read(pred_dir / "mentions.csv", ("source_id", "entity_id", "start", "end", "surface"))
    for row in frame.itertuples(index=False):
        if row.source_id in mentions:
            kind = types.get(row.entity_id) or _prefix(row.entity_id)
            mentions[row.source_id].append(_Mention(int(row.start), int(row.end), row.surface, kind, row.entity_id))

    present = [name for name in EVENT_TABLES if (pred_dir / f"{name}.csv").is_file()]
    if not present:
        return mentions, None
    if len(present) < len(EVENT_TABLES):
        missing = sorted(set(EVENT_TABLES) - set(present))
        raise ValueError(f"{pred_dir}: has {present} but not {missing}; the event tables come together")
    roles: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in _read(pred_dir / "event_participants.csv", ("event_id", "entity_id", "role")).itertuples(index=False):
        roles[row.event_id][row.role].add(row.entity_id)
    predicted = {
        row.event_id: _Event(
            label=f"predicted {row.event_id}",
            type=row.type,
            date=row.date,
            participants={role: frozenset(ids) for role, ids in roles.get(row.event_id, {}).items()},
        )
        for row in _read(pred_dir / "events.csv", ("event_id", "type", "date")).itertuples(index=False)
    }
    events: dict[str, list[_Event]] = {s: [] for s in sources}
    evidence = _read(pred_dir / "event_evidence.csv", ("event_id", "source_id"))
    pairs = evidence[["source_id", "event_id"]].drop_duplicates().sort_values(["source_id", "event_id"])
    for source, event_id in pairs.itertuples(index=False):
        # Evidence for an event missing from events.csv is a foreign-key error, the validator's to report.
        if source in events and event_id in predicted:
            events[source].append(predicted[event_id])
    return mentions, events


# --- scoring ----------------------------------------------------------------


def _score(gold: set, predicted: set) -> Score:
    return Score(len(gold & predicted), len(predicted - gold), len(gold - predicted))


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _score_mentions(
    tag: str, gold: list[_Mention], pred: list[_Mention], missed: list[str], spurious: list[str]
) -> tuple[Score, Score]:
    gold_spans = {(m.start, m.end) for m in gold}
    pred_spans = {(m.start, m.end) for m in pred}
    gold_typed: dict[tuple[int, int, str], _Mention] = {}
    pred_typed: dict[tuple[int, int, str], _Mention] = {}
    for mentions, keyed in ((gold, gold_typed), (pred, pred_typed)):
        for m in mentions:
            keyed.setdefault((m.start, m.end, m.type), m)
    for key in sorted(gold_typed.keys() - pred_typed.keys()):
        missed.append(_mention_line(tag, gold_typed[key], pred_typed, gold_spans, "predicted"))
    for key in sorted(pred_typed.keys() - gold_typed.keys()):
        spurious.append(_mention_line(tag, pred_typed[key], gold_typed, pred_spans, "gold"))
    return _score(gold_spans, pred_spans), _score(set(gold_typed), set(pred_typed))


def _mention_line(
    tag: str, m: _Mention, other: Mapping[tuple[int, int, str], _Mention], own_spans: set, other_side: str
) -> str:
    """One unmatched mention, labelled with the near miss on the other side that explains it."""
    span = (m.start, m.end)
    line = f"{tag} mention {m.start}-{m.end} {m.surface!r} {m.type}"
    same_span = sorted(t for s, e, t in other if (s, e) == span)
    if same_span:
        return f"{line} (wrong type: {other_side} {', '.join(same_span)})"
    near = sorted({(s, e) for s, e, _ in other if (s, e) not in own_spans and _overlaps((s, e), span)})
    if near:
        return f"{line} (wrong span: {other_side} {', '.join(f'{s}-{e}' for s, e in near)})"
    return line


def _score_entities(
    tag: str, gold: set[str], pred: set[str], missed: list[str], spurious: list[str]
) -> tuple[Score, Score]:
    typed = _score(gold, pred)
    by_name: dict[str, list[str]] = defaultdict(list)
    for entity in sorted(pred - gold):
        by_name[_name(entity)].append(entity)
    retyped: dict[str, str] = {}  # gold id -> predicted id differing only by type prefix
    for entity in sorted(gold - pred):
        if by_name[_name(entity)]:
            retyped[entity] = by_name[_name(entity)].pop(0)
    tp = typed.tp + len(retyped)
    untyped = Score(tp, len(pred) - tp, len(gold) - tp)
    for entity in sorted(gold - pred):
        note = f" (wrong type: predicted {retyped[entity]})" if entity in retyped else ""
        missed.append(f"{tag} entity {entity}{note}")
    gold_of = {p: g for g, p in retyped.items()}
    for entity in sorted(pred - gold):
        note = f" (wrong type: gold {gold_of[entity]})" if entity in gold_of else ""
        spurious.append(f"{tag} entity {entity}{note}")
    return untyped, typed


def _events_match(g: _Event, p: _Event) -> bool:
    if g.type != p.type or g.date != p.date or g.role("agent") != p.role("agent"):
        return False
    go, po = g.role("object"), p.role("object")
    return go == po or (bool(go) and bool(po) and len(go & po) / len(go | po) >= OBJECT_JACCARD)


def _shared(g: _Event, p: _Event) -> int:
    """Shared (role, entity) pairs over all roles: ranks candidate pairs for the greedy match."""
    return sum(len(g.role(r) & p.role(r)) for r in g.participants.keys() | p.participants.keys())


def _score_events(
    tag: str, gold: list[_Event], pred: list[_Event], missed: list[str], spurious: list[str]
) -> Score:
    candidates = sorted(
        (-_shared(g, p), i, j)
        for i, g in enumerate(gold)
        for j, p in enumerate(pred)
        if _events_match(g, p)
    )
    gold_used: set[int] = set()
    pred_used: set[int] = set()
    for _, i, j in candidates:
        if i not in gold_used and j not in pred_used:
            gold_used.add(i)
            pred_used.add(j)
    missed.extend(_event_line(tag, e) for i, e in enumerate(gold) if i not in gold_used)
    spurious.extend(_event_line(tag, e) for j, e in enumerate(pred) if j not in pred_used)
    return Score(len(gold_used), len(pred) - len(pred_used), len(gold) - len(gold_used))


def _event_line(tag: str, e: _Event) -> str:
    roles = [*_MATCH_ROLES, *sorted(e.participants.keys() - set(_MATCH_ROLES))]
    parts = " ".join(f"{r}={','.join(sorted(e.role(r))) or '-'}" for r in roles if r in _MATCH_ROLES or e.role(r))
    return f"{tag} event {e.type} {e.date or 'undated'} {parts} ({e.label})"
