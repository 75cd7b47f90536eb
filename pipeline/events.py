"""Events from sentences: a trigger decides the type, the dependency parse the roles.

Per sentence (rule-based splitter, `text.py`):
1. triggers (公開 / リリース / 発表 / 設立 / 投資 / 導入 / 開催 / 語る / 指摘 …) propose
   event types; negation (公開しなかった, 非公開) and plans (予定, 方針, 数ヶ月以内)
   turn a release into nothing or into a `release_announcement`;
2. only sentences holding a trigger are parsed with GiNZA (it is slow): an entity
   mention whose dependency path reaches the trigger as `nsubj` is the agent, as `obj`
   (or a noun modifying the obj) the object, as `obl` with に/で/上 a platform; licence
   mentions take the license role, speakers' organizations the affiliation role;
3. where the parse gives nothing, surface rules fill in: the mention marked by は/が
   before the trigger is the agent, models in the sentence are the objects;
4. the date is the date expression of the sentence nearest before the trigger (else
   after it); a sentence without one gives an undated event, never the publication
   date.
Events with the same type and participants are merged, within and across articles,
when their dates are compatible (see `merge_events`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from pipeline.dates import UNKNOWN, DateMention, DateValue, find_dates
from pipeline.text import Sentence, split_sentences

# --- lexicon --------------------------------------------------------------------

TRIGGERS: dict[str, tuple[str, ...]] = {
    "founding": ("設立", "創業", "創設"),
    "model_release": ("公開", "リリース", "開放", "オープンソース化", "提供開始", "一般提供", "登場"),
    "release_announcement": ("発表",),
    "access_change": ("非公開", "クローズド", "方針を転換", "方針転換", "転じた", "を通じてのみ", "経由でのみ", "ライセンスを変更"),
    "funding": ("投資", "出資", "資金調達", "評価額", "評価を得", "調達"),
    "partnership": ("導入", "搭載", "統合", "提携"),
    "statement": ("語る", "語った", "語り", "指摘", "述べ", "と見る", "と考える", "によると", "強調", "警告", "主張", "批判"),
    "conference": ("開催",),
}
NEGATION = re.compile(r"^(?:し|さ)?(?:なかった|ない|ず|ませんでした|ません|されず|されなかった)")
PLAN = re.compile(r"予定|方針|計画|見込み|以内|可能性|目指|することに興奮|する考え|へ向け|に向けて")
GENERIC_SUBJECT = re.compile(r"^(?:など|なども|などは)")
MONEY = re.compile(r"(?P<num>[0-9０-９]+(?:[.,][0-9]+)?)(?P<unit>兆|億|万)?(?P<cur>ドル|円|ユーロ|元)")
CURRENCY = {"ドル": "USD", "円": "JPY", "ユーロ": "EUR", "元": "CNY"}
UNIT = {"兆": 10**12, "億": 10**8, "万": 10**4, None: 1}
QUOTE = re.compile(r"「[^」]*」")
AGENT_MARK = re.compile(r"^(?:は|が|も|では|によると|によれば)")
SPEAKER_PAREN = re.compile(r"^[(（]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity_id: str
    type: str


@dataclass
class Event:
    type: str
    participants: dict[str, set[str]]
    date: DateValue
    date_text: str
    source_id: str
    sentence: Sentence
    method: str
    confidence: float
    amount: float | None = None
    currency: str | None = None


@dataclass
class MergedEvent:
    event_id: str
    type: str
    participants: dict[str, set[str]]
    date: DateValue
    date_conflict: bool
    amount: float | None
    currency: str | None
    evidence: list[Event] = field(default_factory=list)


# --- sentence analysis -------------------------------------------------------------


def _triggers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, type) of each trigger word in a sentence, longest first per place."""
    found = []
    for kind, words in TRIGGERS.items():
        for word in words:
            for m in re.finditer(re.escape(word), text):
                found.append((m.start(), m.end(), kind))
    chosen: list[tuple[int, int, str]] = []
    for t in sorted(found, key=lambda t: (t[0], -(t[1] - t[0]))):
        if not any(t[0] < c[1] and c[0] < t[1] for c in chosen):
            chosen.append(t)
    return chosen


def _money(text: str) -> tuple[float, str] | None:
    m = MONEY.search(text)
    if not m:
        return None
    number = float(unicodedata.normalize("NFKC", m.group("num")).replace(",", ""))
    return number * UNIT[m.group("unit")], CURRENCY[m.group("cur")]


def _in_quote(text: str, offset: int) -> bool:
    return any(q.start() < offset < q.end() for q in QUOTE.finditer(text))


@dataclass
class Parse:
    """Dependency facts of one sentence: for each mention, the trigger it attaches to."""

    attachments: dict[tuple[int, int], tuple[int, str]]  # mention span -> (trigger token char, relation)

    def relation(self, span: Span, trigger_start: int, trigger_end: int) -> str | None:
        found = self.attachments.get((span.start, span.end))
        if found and trigger_start <= found[0] < trigger_end:
            return found[1]
        return None


def parse_sentence(doc: Any, sentence: Sentence, spans: Sequence[Span]) -> Parse:
    """Follow each mention's head chain up to the first verb; record its relation there."""
    attachments = {}
    for span in spans:
        piece = doc.char_span(span.start - sentence.start, span.end - sentence.start, alignment_mode="expand")
        if piece is None:
            continue
        token = piece.root
        relation = token.dep_
        via_object = relation == "obj"
        steps = 0
        while token.head is not token and token.pos_ not in ("VERB",) and steps < 8:
            relation = token.dep_
            via_object = via_object or relation == "obj"
            token = token.head
            steps += 1
        if token.pos_ == "VERB" or token.dep_ == "ROOT":
            if relation in ("nmod", "compound", "acl") and via_object:
                relation = "obj"
            attachments[(span.start, span.end)] = (token.idx + sentence.start, relation)
    return Parse(attachments)


def _date_for(dates: Sequence[DateMention], trigger_abs: int, sentence: Sentence) -> DateMention | None:
    inside = [d for d in dates if sentence.start <= d.start < sentence.end]
    before = [d for d in inside if d.start < trigger_abs]
    if before:
        return before[-1]
    return inside[0] if inside else None


def _agent_by_surface(text: str, sentence: Sentence, spans: Sequence[Span], limit: int) -> list[Span]:
    """Mentions marked by は/が/も (or によると) before the trigger, outside quotes."""
    found = []
    for span in spans:
        local = span.end - sentence.start
        if local <= limit and AGENT_MARK.match(text[local:]) and not _in_quote(text, local):
            found.append(span)
    if not found:
        return []
    # coordinated subjects (Google、IBM、Alibabaなど) stay generic: no specific agent
    if GENERIC_SUBJECT.match(text[found[-1].end - sentence.start :]):
        return []
    return [found[-1]]


def _speaker(text: str, sentence: Sentence, spans: Sequence[Span], previous: Span | None) -> Span | None:
    """Who says it: a person outside the quotes marked by は/が/によると, or `(Name氏)`."""
    people = [s for s in spans if s.type == "person" and not _in_quote(text, s.start - sentence.start)]
    for span in people:
        after = text[span.end - sentence.start :]
        if re.match(r"^(?:氏|さん|教授|CEO)?(?:は|が|によると|によれば|も)", after):
            return span
        before = text[: span.start - sentence.start]
        if SPEAKER_PAREN.search(before[-1:] or "") and re.match(r"^(?:氏|さん)?[)）]", after):
            return span
    if people:
        return people[-1]
    return previous


def _affiliations(text: str, sentence: Sentence, speaker: Span, spans: Sequence[Span]) -> list[Span]:
    """Organizations in the noun phrase introducing the speaker (Omdiaのアナリスト、X氏)."""
    local = speaker.start - sentence.start
    window_start = max(text.rfind("」", 0, local), text.rfind("。", 0, local), 0)
    return [
        s
        for s in spans
        if s.type == "organization" and window_start <= s.start - sentence.start < local and not _in_quote(text, s.start - sentence.start)
    ]


def sentence_events(
    source_id: str,
    sentence: Sentence,
    spans: Sequence[Span],
    dates: Sequence[DateMention],
    parse: Parse | None,
    previous_speaker: Span | None,
) -> list[Event]:
    """Every event one sentence reports (a sentence can hold several)."""
    text = sentence.text
    events: list[Event] = []
    statement_done = False
    for t_start, t_end, kind in _triggers(text):
        abs_start, abs_end = sentence.start + t_start, sentence.start + t_end
        after = text[t_end:]
        if kind == "model_release" and NEGATION.match(after):
            continue
        if kind == "model_release" and _in_quote(text, t_start):
            continue
        if kind in ("model_release", "release_announcement") and PLAN.search(text[t_start:]):
            kind = "release_announcement"
        if kind == "statement":
            if statement_done:
                continue
            statement_done = True
        before_spans = [s for s in spans if s.end <= abs_start]
        roles: dict[str, set[str]] = defaultdict(set)
        parsed = False

        def by_parse(relations: tuple[str, ...], pool: Iterable[Span]) -> list[Span]:
            if parse is None:
                return []
            return [s for s in pool if parse.relation(s, abs_start - 1, abs_end + 1) in relations]

        actors = [s for s in spans if s.type in ("organization", "person")]
        things = [s for s in spans if s.type in ("model", "product")]
        if kind == "statement":
            speaker = _speaker(text, sentence, spans, previous_speaker)
            if speaker is None:
                continue
            roles["agent"].add(speaker.entity_id)
            for org in _affiliations(text, sentence, speaker, spans) if speaker in spans else []:
                roles["affiliation"].add(org.entity_id)
            for s in spans:
                if s.type in ("model", "organization") and s.entity_id not in roles["affiliation"] and s is not speaker:
                    roles["object"].add(s.entity_id)
        else:
            agents = by_parse(("nsubj", "nsubj:pass"), actors)
            objects = by_parse(("obj",), things if kind != "funding" else actors)
            parsed = bool(agents or objects)
            if not agents:
                agents = _agent_by_surface(text, sentence, [s for s in actors if s in before_spans], t_start)
            if kind in ("model_release", "access_change", "partnership") and not objects:
                objects = [s for s in things if s.type == "model" and s.end <= abs_start] or [s for s in things if s.type == "model"]
            if kind == "conference":
                objects = [s for s in spans if s.type == "event_name"]
            if kind == "founding":
                objects = agents or [s for s in actors if s.type == "organization"][:1]
                agents = [s for s in actors if s.type == "person"]
            if kind == "funding":
                investors = [s for s in actors if text[s.end - sentence.start :].startswith(("から", "が出資", "が投資"))]
                recipients = [s for s in (agents or actors) if s not in investors][:1]
                agents, objects = investors, []
                for r in recipients:
                    roles["recipient"].add(r.entity_id)
            for s in agents:
                roles["agent"].add(s.entity_id)
            for s in objects:
                if s.entity_id not in roles["agent"]:
                    roles["object"].add(s.entity_id)
            for s in spans:
                if s.type == "license" and kind in ("model_release", "access_change"):
                    roles["license"].add(s.entity_id)
            if kind in ("partnership", "model_release"):
                for s in spans:
                    rel = parse.relation(s, abs_start - 1, abs_end + 1) if parse else None
                    local = s.end - sentence.start
                    if s.type == "product" and (rel == "obl" or re.match(r"^」?(?:に|で|上で|から|を通じて)", text[local:])):
                        roles["platform"].add(s.entity_id)
                        roles["object"].discard(s.entity_id)
        if kind in ("model_release", "access_change", "partnership") and not roles["object"]:
            continue  # no named model: a generic remark, not a specific event
        if kind == "release_announcement" and not roles["agent"]:
            continue
        if kind == "funding" and not (roles["recipient"] or roles["agent"]):
            continue
        if kind == "conference" and not roles["object"]:
            continue
        if kind == "founding" and not roles["object"]:
            continue
        date = _date_for(dates, abs_start, sentence)
        money = _money(text) if kind == "funding" else None
        found_agent = bool(roles["agent"] or roles["recipient"])
        confidence = 0.5 + (0.25 if parsed else 0.1) + (0.1 if found_agent and roles["object"] else 0) + (0.05 if date else 0)
        events.append(
            Event(
                type=kind,
                participants={k: v for k, v in roles.items() if v},
                date=date.value if date else UNKNOWN,
                date_text=date.text if date else "",
                source_id=source_id,
                sentence=sentence,
                method="parse" if parsed else "rule",
                confidence=round(min(confidence, 0.95), 2),
                amount=money[0] if money else None,
                currency=money[1] if money else None,
            )
        )
    return events


def needs_parse(sentence: Sentence) -> bool:
    """Only sentences with a trigger are worth GiNZA's time."""
    return bool(_triggers(sentence.text))


def article_events(
    source_id: str,
    body: str,
    published: DateValue,
    mentions: Sequence[tuple[int, int, str, str]],
    parse_docs: bool = True,
) -> list[Event]:
    """Events of one article; `mentions` are (start, end, entity_id, type)."""
    sentences = split_sentences(body)
    dates = find_dates(body, published)
    spans = [Span(s, e, eid, t) for s, e, eid, t in mentions]
    by_sentence = [[sp for sp in spans if sen.start <= sp.start < sen.end] for sen in sentences]
    todo = [i for i, sen in enumerate(sentences) if needs_parse(sen)]
    docs: dict[int, Any] = {}
    if parse_docs and todo:
        from pipeline.nlp import ginza

        nlp = ginza()
        with nlp.select_pipes(disable=[p for p in ("ner",) if p in nlp.pipe_names]):
            for i, doc in zip(todo, nlp.pipe([sentences[i].text for i in todo], batch_size=4)):
                docs[i] = doc
    events: list[Event] = []
    previous_speaker: Span | None = None
    for i in todo:
        sentence = sentences[i]
        parse = parse_sentence(docs[i], sentence, by_sentence[i]) if i in docs else None
        found = sentence_events(source_id, sentence, by_sentence[i], dates, parse, previous_speaker if i - 1 in _statement_rows(events, sentences) else None)
        for event in found:
            if event.type == "statement":
                agent = next(iter(event.participants.get("agent", [])), None)
                previous_speaker = next((sp for sp in spans if sp.entity_id == agent), previous_speaker)
        events.extend(found)
    return events


def _statement_rows(events: Sequence[Event], sentences: Sequence[Sentence]) -> set[int]:
    rows = set()
    for event in events:
        if event.type == "statement":
            rows.add(sentences.index(event.sentence))
    return rows


# --- merging ------------------------------------------------------------------------


def _key(event: Event) -> tuple:
    roles = ("agent", "object") if event.type != "funding" else ("agent", "recipient")
    return (event.type,) + tuple(frozenset(event.participants.get(r, ())) for r in roles)


def _compatible(a: DateValue, b: DateValue) -> bool:
    """Undated fits anything; dated values fit when their intervals overlap."""
    if a.start is None or b.start is None:
        return True
    return a.start <= b.end and b.start <= a.end


def choose_date(dates: Sequence[DateValue]) -> tuple[DateValue, bool]:
    """The event's date from its evidence: (chosen, conflict).

    Rule: the most precise date (narrowest interval); among equally narrow ones, the
    date given by the most evidence rows, then the earliest. A conflict is flagged when
    two dated reports do not overlap at all.
    """
    dated = [d for d in dates if d.start is not None]
    if not dated:
        return UNKNOWN, False
    counts: dict[DateValue, int] = defaultdict(int)
    for d in dated:
        counts[d] += 1
    chosen = min(counts, key=lambda d: ((d.end - d.start).days, -counts[d], d.start))
    conflict = any(not _compatible(a, b) for a in dated for b in dated)
    return chosen, conflict


def event_id(kind: str, participants: dict[str, set[str]], date: DateValue) -> str:
    """Stable id from what the event is: type, participants and date."""
    parts = ";".join(f"{role}={','.join(sorted(ids))}" for role, ids in sorted(participants.items()))
    digest = hashlib.sha1(f"{kind}|{parts}|{date.edtf}".encode("utf-8")).hexdigest()[:12]
    return f"{kind}-{digest}"


def merge_events(events: Iterable[Event]) -> list[MergedEvent]:
    """One row per real-world event: same type and agents/objects, compatible dates.

    Statements by the same speaker (and the same date) are one event whose objects are
    the union of what each reported sentence is about.
    """
    groups: list[list[Event]] = []
    for event in sorted(events, key=lambda e: (e.source_id, e.sentence.start, e.type)):
        for group in groups:
            head = group[0]
            same = _key(head) == _key(event)
            if event.type == "statement" and head.type == "statement":
                same = head.participants.get("agent") == event.participants.get("agent") and head.date == event.date
            if same and _group_dates_ok(group, event):
                group.append(event)
                break
        else:
            groups.append([event])
    merged = []
    for group in groups:
        participants: dict[str, set[str]] = defaultdict(set)
        for e in group:
            for role, ids in e.participants.items():
                participants[role] |= ids
        for role in ("object", "affiliation", "platform", "license", "recipient"):
            participants[role] -= participants["agent"] if role != "agent" else set()
        participants = {k: v for k, v in participants.items() if v}
        date, conflict = choose_date([e.date for e in group])
        amounts = [(e.amount, e.currency) for e in group if e.amount is not None]
        amount, currency = amounts[0] if amounts else (None, None)
        kind = group[0].type
        merged.append(
            MergedEvent(event_id(kind, participants, date), kind, participants, date, conflict, amount, currency, group)
        )
    return sorted(merged, key=lambda m: m.event_id)


def _group_dates_ok(group: Sequence[Event], event: Event) -> bool:
    """Reports of one event from different articles may disagree on the date (flagged
    as a conflict); within one article, two incompatible dates are two events."""
    same_source = [g for g in group if g.source_id == event.source_id]
    return all(_compatible(g.date, event.date) for g in same_source)


# --- rows ------------------------------------------------------------------------------

VERBS = {
    "founding": "{object} was founded{by_agent}",
    "model_release": "{agent} released {object}{license}{platform}",
    "release_announcement": "{agent} announced the release of {object_or_model}",
    "access_change": "{agent} changed access to {object}{license}",
    "funding": "{recipient} received {money}{from_agent}",
    "partnership": "{agent} agreed to offer {object}{platform}",
    "statement": "{agent}{affiliation_paren} commented on {object_or_topic}",
    "conference": "{agent_or_someone} holds {object}",
}


def _names(ids: Iterable[str], names: dict[str, str]) -> str:
    listed = sorted(names.get(i, i) for i in ids)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def summary(event: MergedEvent, names: dict[str, str]) -> str:
    """One English sentence from the event's type and participants."""
    p = event.participants
    agent = _names(p.get("agent", ()), names)
    money = "funding"
    if event.amount is not None:
        value = event.amount
        scaled = f"{value / 1e9:g} billion" if value >= 1e9 else f"{value / 1e6:g} million" if value >= 1e6 else f"{value:g}"
        money = f"funding or a valuation of {scaled} {event.currency}"
    text = VERBS[event.type].format(
        agent=agent or "Someone",
        agent_or_someone=agent or "Someone",
        object=_names(p.get("object", ()), names) or "a model",
        object_or_model=_names(p.get("object", ()), names) or "a new model",
        object_or_topic=_names(p.get("object", ()), names) or "AI openness",
        recipient=_names(p.get("recipient", ()), names) or "A company",
        money=money,
        from_agent=f" from {agent}" if agent else "",
        by_agent=f" by {agent}" if agent else "",
        license=f" under {_names(p['license'], names)}" if p.get("license") else "",
        platform=f" on {_names(p['platform'], names)}" if p.get("platform") else "",
        affiliation_paren=f" ({_names(p['affiliation'], names)})" if p.get("affiliation") else "",
    )
    return text[0].upper() + text[1:] + "."


def event_rows(merged: Sequence[MergedEvent], names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The events, event_participants and event_evidence tables."""
    events, participants, evidence = [], [], []
    for m in merged:
        events.append(
            {
                "event_id": m.event_id,
                "type": m.type,
                "date": m.date.edtf,
                "date_start": m.date.start,
                "date_end": m.date.end,
                "date_precision": m.date.precision,
                "date_conflict": m.date_conflict,
                "amount": m.amount,
                "currency": m.currency,
                "summary": summary(m, names),
            }
        )
        for role, ids in m.participants.items():
            for entity in ids:
                participants.append({"event_id": m.event_id, "entity_id": entity, "role": role})
        seen = set()
        for e in m.evidence:
            key = (e.source_id, e.sentence.start)
            if key in seen:
                continue
            seen.add(key)
            evidence.append(
                {
                    "event_id": m.event_id,
                    "source_id": e.source_id,
                    "start": e.sentence.start,
                    "end": e.sentence.end,
                    "quote": e.sentence.text,
                    "date_text": e.date_text,
                    "method": e.method,
                    "confidence": e.confidence,
                }
            )
    return {"events": events, "event_participants": participants, "event_evidence": evidence}

