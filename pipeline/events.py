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

import functools
import hashlib
import itertools
import marshal
import re
import sys
import unicodedata
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Collection, Iterable, Iterator, Sequence

from pipeline.dates import UNKNOWN, DateMention, DateValue, find_dates
from pipeline.entities import HONORIFICS
from pipeline.nlp import PARSE, Steps
from pipeline.tables import OrderedRows, Spool
from pipeline.text import Sentence, split_sentences

# --- lexicon --------------------------------------------------------------------

TRIGGERS: dict[str, tuple[str, ...]] = {
    "founding": ("設立", "創業", "創設"),
    "model_release": (
        "公開", "リリース", "開放", "オープンソース化", "提供開始", "一般提供", "登場",
        "オープンウエートだった", "オープンウェイトだった", "オープンソースだった",
    ),
    "release_announcement": ("発表",),
    "access_change": ("非公開", "クローズド", "方針を転換", "方針転換", "転じた", "を通じてのみ", "経由でのみ", "ライセンスを変更"),
    "funding": ("投資", "出資", "資金調達", "評価額", "評価を得", "調達"),
    "partnership": ("導入", "搭載", "統合", "提携"),
    "statement": (
        "語る", "語った", "語り", "話す", "話した", "話し", "指摘", "述べ", "説明", "と見る", "と考える",
        "によると", "によれば", "強調", "警告", "主張", "批判",
    ),
    "conference": ("開催",),
}
NEGATED = re.compile(
    r"^(?:(?:し|さ|して|され|されて)?(?:こ|い)?(?:なかった|ない|ず|ませんでした|ません)|化?を(?:躊躇|見送|延期|控え|断念))"
)
PLAN = re.compile(r"予定|方針(?!を?転換)|計画|見込み|以内|可能性|目指|することに興奮|する考え|へ向け|に向けて")
GENERIC_BEFORE = re.compile(r"(?:次々と|次々に|続々と|相次いで)$")
NOMINAL_AFTER = re.compile(r"^(?:の|に先立|以来|時|の際)")
REFERENCE_BEFORE = re.compile(r"(?:この|その|今回の|同)(?:[^、。「」]{0,20}?の)?$")
PREDICATE_AFTER = re.compile(r"^(?:し|しました|した|している|しています|しており)(?:[、。]|$)")
TRIGGER_NOUN = re.compile(r"^(?:公開|リリース|発表|設立|投資|開催|提供)")
SENTENCE_ADVERBIAL = re.compile(r"^(?:\(現地時間\)|（現地時間）)?(?:、|,|に、|には、)")
GENERIC_SUBJECT = re.compile(r"^(?:など|なども|などは)")
MONEY = re.compile(r"(?P<num>[0-9０-９]+(?:[.,][0-9]+)?)(?P<unit>兆|億|万)?(?P<cur>ドル|円|ユーロ|元)")
CURRENCY = {"ドル": "USD", "円": "JPY", "ユーロ": "EUR", "元": "CNY"}
UNIT = {"兆": 10**12, "億": 10**8, "万": 10**4, None: 1}
QUOTE = re.compile(r"「[^」]*」")
BARE_QUOTE = re.compile(r"「[^「」]*」")
AGENT_MARK = re.compile(r"^(?:は|が|も|では|だが|によると|によれば)")  # 〜していた同社だが、
SPEAKER_AFTER = re.compile(rf"^(?:{HONORIFICS})?(?:は|が|によると|によれば|も)")
SPEAKER_PAREN = re.compile(r"^[(（]")
RECIPIENT_AFTER = re.compile(r"^(?:など)?(?:に|へ)(?!よると|よれば|とって)")
INVESTOR_AFTER = re.compile(r"^(?:など)?(?:から|が出資|が投資)")
PLATFORM_AFTER = re.compile(r"^」?(?:に|で|上で|から|を通じて)")
RELEASE_WORDS = re.compile(r"公開|リリース|オープンソース化|提供|モデル|LLM|ウエート|ウェイト")
MODEL_NOUN = re.compile(r"(?:版|バージョン|モデル|LLM|重み|ウエート|ウェイト|コード)$")  # 完全版をリリース: still the model
RELATIVE_DATE = re.compile(r"^(?:される|する|された|した)$")  # 次回開催される2025年9月: the date is the event's
POSSESSIVE = re.compile(r"^の[^、。「」\s]{0,12}?[「『]?$")  # OpenAIの言語モデル「GPT-2」


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity_id: str
    type: str


@dataclass(slots=True)
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


@dataclass(frozen=True, slots=True)
class Evidence:
    """A report once merging has taken it in: its article, its sentence's start, and
    whether it gave a date. The rest of its evidence row waits on disk (`Reports`), so
    a build holds no report whole while it merges a corpus (the reports, with their
    sentences and roles, were 46 of the 87 MB a 2,000-article merge held)."""

    source_id: str
    start: int
    dated: bool
    reports: Reports
    offset: int
    size: int

    def row(self, event_id: str) -> dict[str, Any]:
        """Its row of the event_evidence table, as the event `event_id`'s."""
        end, quote, date_text, method, confidence = marshal.loads(self.reports.spool.read(self.offset, self.size))
        return {
            "event_id": event_id,
            "source_id": self.source_id,
            "start": self.start,
            "end": end,
            "quote": quote,
            "date_text": date_text,
            "method": method,
            "confidence": confidence,
        }


class Reports:
    """Where the reports' evidence rows wait while they are merged (a `Spool`), and
    the ids of their articles, each kept once."""

    def __init__(self) -> None:
        self.spool = Spool()
        self.sources: list[str] = []
        self.numbers: dict[str, int] = {}  # source id -> its place in `sources`

    def keep(self, event: Event, source_id: str) -> Evidence:
        """`source_id`: the report's article id."""
        sentence = event.sentence
        data = marshal.dumps((sentence.end, sentence.text, event.date_text, event.method, event.confidence))
        number = self.numbers.setdefault(source_id, len(self.sources))
        if number == len(self.sources):
            self.sources.append(source_id)
        return Evidence(self.sources[number], sentence.start, event.date.start is not None, self, self.spool.put(data), len(data))


class Reported(Sequence[Evidence]):
    """The `Evidence` of a group's or an event's reports, in order, kept as five
    numbers each in one array (article, sentence start, dated, and where the rest
    waits): as objects, with their ints, the 121,664 reports of an 8,000-article merge
    took 18 MB, and each was a small object left among freed ones."""

    __slots__ = ("reports", "numbers")
    WIDTH = 5

    def __init__(self, reports: Reports) -> None:
        self.reports = reports
        self.numbers = array("q")

    def append(self, evidence: Evidence) -> None:
        number = self.reports.numbers[evidence.source_id]
        self.numbers.extend((number, evidence.start, evidence.dated, evidence.offset, evidence.size))

    def extend(self, other: Reported) -> None:
        self.numbers.extend(other.numbers)

    def __len__(self) -> int:
        return len(self.numbers) // self.WIDTH

    def __getitem__(self, index: int) -> Evidence:  # type: ignore[override]  # no slices: nothing asks for them
        return self._at(range(len(self))[index] * self.WIDTH)

    def __iter__(self) -> Iterator[Evidence]:
        return map(self._at, range(0, len(self.numbers), self.WIDTH))

    def _at(self, at: int) -> Evidence:
        """The report whose numbers start at `at`."""
        number, start, dated, offset, size = self.numbers[at : at + self.WIDTH]
        return Evidence(self.reports.sources[number], start, bool(dated), self.reports, offset, size)


@dataclass
class MergedEvent:
    event_id: str
    type: str
    participants: dict[str, frozenset[str]]
    date: DateValue
    date_conflict: bool
    amount: float | None
    currency: str | None
    evidence: Reported


# --- sentence analysis -------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """A trigger word kept as an event (sentence-local offsets)."""

    start: int
    end: int
    kind: str


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


def _money_before(text: str, limit: int, floor: int) -> tuple[float, str] | None:
    """The amount of a funding trigger: the last one written in its clause before it,
    else the first one after it."""
    before = list(MONEY.finditer(text, floor, limit))
    m = before[-1] if before else MONEY.search(text, limit)
    if m is None:
        return None
    number = float(unicodedata.normalize("NFKC", m.group("num")).replace(",", ""))
    return number * UNIT[m.group("unit")], CURRENCY[m.group("cur")]


def _in_quote(text: str, offset: int) -> bool:
    return any(q.start() < offset < q.end() for q in QUOTE.finditer(text))


def _in_speech(text: str, offset: int) -> bool:
    """Inside quoted speech, not a bracketed name like 「GPT-4o」 (short, no 、。)."""
    return any(
        q.start() < offset < q.end() and (len(q.group()) > 27 or re.search("[、。]", q.group()))
        for q in QUOTE.finditer(text)
    )


@dataclass
class Parse:
    """Dependency facts of one sentence (absolute offsets).

    attachments: for each mention, the verb it attaches to and the relation;
    objects: for each verb, the character ranges of its `obj` subtrees.
    """

    attachments: dict[tuple[int, int], tuple[int, str]]
    objects: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)  # verb -> (start, end, head word)

    def relation(self, span: Span, trigger_start: int, trigger_end: int) -> str | None:
        found = self.attachments.get((span.start, span.end))
        if found and trigger_start <= found[0] < trigger_end:
            return found[1]
        return None

    def object_ranges(self, trigger_start: int, trigger_end: int) -> list[tuple[int, int, str]]:
        """Objects of the trigger's verb, except one inside the trigger (方針を転換)."""
        return [
            r
            for verb, ranges in self.objects.items()
            if trigger_start <= verb < trigger_end
            for r in ranges
            if not (trigger_start <= r[0] and r[1] <= trigger_end)
        ]


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
    objects: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for token in doc:
        if token.dep_ == "obj":
            subtree = list(token.subtree)
            start = sentence.start + subtree[0].idx
            end = sentence.start + subtree[-1].idx + len(subtree[-1].text)
            objects[token.head.idx + sentence.start].append((start, end, token.text))
    return Parse(attachments, dict(objects))


@functools.lru_cache(maxsize=1024)  # asked for each sentence several times
def _kept_triggers(text: str) -> tuple[tuple[Trigger, ...], tuple[Trigger, ...]]:
    """(events, references) of a sentence, by the form around each trigger word.

    Dropped: nominal uses (`Xの公開に先立つ`, `リリース時`, `発表の深層`), generic ones
    (`次々と発表し`), release words inside a quote, and 登場 unless it is the predicate.
    Changed: a negated release (`公開しなかった`, `オープンソース化を躊躇`) is an access
    change, a planned one (`公開する予定`, `以内に`) a release announcement.
    References (`この発表`, `今回のリリース`) point back at an event already reported.
    """
    kept: list[Trigger] = []
    references: list[Trigger] = []
    words = _triggers(text)
    starts = {start for start, _, _ in words}
    for start, end, kind in words:
        before, after = text[:start], text[end:]
        if after.startswith("を") and end + 1 in starts:
            continue  # リリースを発表: the object of the next trigger, not a predicate
        if kind != "statement":
            if GENERIC_BEFORE.search(before):
                kept.append(Trigger(start, end, "generic"))  # a predicate all the same: it ends a clause
                continue
            if kind != "funding" and NOMINAL_AFTER.match(after):
                continue
            if kind == "access_change" and before.endswith("の"):
                continue  # OpenAIのクローズドモデル戦略: a strategy, not a change
            if kind == "funding" and after.startswith("家"):
                continue  # 投資家: investors, not an investment
            if kind in ("model_release", "release_announcement") and _in_quote(text, start):
                continue
            if REFERENCE_BEFORE.search(before):
                references.append(Trigger(start, end, kind))
                continue
        if kind == "model_release":
            if text[start:end] == "登場" and not PREDICATE_AFTER.match(after):
                continue
            if NEGATED.match(after):
                kind = "access_change"
        if kind in ("model_release", "release_announcement") and (
            PLAN.search(text[max(0, start - 8) : start]) or PLAN.search(text[end : end + 14])
        ):
            kind = "release_announcement"
        kept.append(Trigger(start, end, kind))
    return tuple(kept), tuple(references)


def _dates_for(
    dates: Sequence[DateMention], sentence: Sentence, clause: tuple[int, int], trigger: Trigger, spans: Sequence[Span]
) -> DateMention | None:
    """The date of the event a trigger reports.

    Japanese puts a verb's arguments before it: the date is the last one written in the
    trigger's clause before the trigger. A date written as the sentence's adverbial
    (`2025年8月5日(現地時間)、`) also covers the later clauses, and a date the trigger's
    verb modifies (`次回開催される2025年9月`) is the event's. A date that qualifies a noun (`2019年のGPT-2`) and, unless the trigger
    is quoted, a date inside a quote, are not the event's date.
    """
    text = sentence.text
    quoted = _in_quote(text, trigger.start)
    usable, adverbial = [], []
    for d in dates:
        local = d.start - sentence.start
        if not (0 <= local < len(text)) or (_in_quote(text, local) and not quoted):
            continue
        rest = text[d.end - sentence.start :]
        if rest.startswith("の") and not TRIGGER_NOUN.match(rest[1:]):
            continue
        if SENTENCE_ADVERBIAL.match(rest) and local < trigger.start:
            adverbial.append((local, d))
        if clause[0] <= local < clause[1]:
            usable.append((local, d))
    before = [d for local, d in usable if local < trigger.start]
    if before:
        return before[-1]
    modified = [d for local, d in usable if local >= trigger.end and RELATIVE_DATE.match(text[trigger.end : local])]
    if modified:
        return modified[0]
    return adverbial[-1][1] if adverbial else None


def _agent_by_surface(text: str, sentence: Sentence, spans: Sequence[Span], clause_start: int, limit: int) -> list[Span]:
    """Mentions marked by は/が/も (or によると) before the trigger, outside quotes.

    A topic (は) carries over earlier clauses of the sentence; が and the rest only
    within the trigger's own clause.
    """
    found = []
    for span in spans:
        local = span.end - sentence.start
        if local > limit or _in_quote(text, local):
            continue
        mark = AGENT_MARK.match(text[local:])
        if mark and (span.start - sentence.start >= clause_start or mark.group(0).startswith("は")):
            found.append(span)
    if not found:
        return []
    # coordinated subjects (Google、IBM、Alibabaなど) stay generic: no specific agent
    if GENERIC_SUBJECT.match(text[found[-1].end - sentence.start :]):
        return []
    return [found[-1]]


def _wo_phrase_models(text: str, sentence: Sentence, models: Sequence[Span], clause_start: int, limit: int) -> list[Span]:
    """The models of the を-phrase right before the trigger (`OpenAIが「gpt-oss」を開放`),
    which starts after the last 、/は/が before を."""
    wo = text.rfind("を", clause_start, limit)
    if wo < 0 or limit - wo > 4:
        return []
    start = max(text.rfind(mark, clause_start, wo) for mark in ("、", "は", "が", "。"))
    return [s for s in models if start < s.start - sentence.start and s.end - sentence.start <= wo]


def _developer_by_possessive(body: str, objects: Sequence[Span], spans: Sequence[Span]) -> list[Span]:
    """`OpenAIの言語モデル「GPT-2」`: the organization owning the released model."""
    return [
        org
        for org in spans
        if org.type == "organization"
        and any(org.end <= o.start and POSSESSIVE.match(body[org.end : o.start]) for o in objects)
    ]


def _speaker(text: str, sentence: Sentence, spans: Sequence[Span]) -> Span | None:
    """Who says it: a person outside the quotes marked by は/が/によると, or `(Name氏)`."""
    for span in spans:
        if span.type != "person" or _in_quote(text, span.start - sentence.start):
            continue
        after = text[span.end - sentence.start :]
        if SPEAKER_AFTER.match(after):
            return span
        before = text[: span.start - sentence.start]
        if SPEAKER_PAREN.search(before[-1:] or "") and re.match(r"^(?:氏|さん)?[)）]", after):
            return span
    return None


def _affiliations(text: str, sentence: Sentence, speaker: Span, spans: Sequence[Span]) -> list[Span]:
    """Organizations in the noun phrase introducing the speaker (Omdiaのアナリスト、X氏)."""
    local = speaker.start - sentence.start
    window_start = max(text.rfind("」", 0, local), text.rfind("。", 0, local), 0)
    return [
        s
        for s in spans
        if s.type == "organization" and window_start <= s.start - sentence.start < local and not _in_quote(text, s.start - sentence.start)
    ]


def _statement_topics(text: str, sentence: Sentence, spans: Sequence[Span], speaker: Span | None, affiliations: Sequence[Span]) -> set[str]:
    """What a statement is about: the entities inside its quotes, in its `Xについて`
    phrase or after `によると`; failing those, the rest of the sentence."""
    pool = [s for s in spans if s.type in ("model", "organization", "product") and s is not speaker]
    inside = [s for s in pool if _in_quote(text, s.start - sentence.start)]
    about = []
    for m in re.finditer("について", text):
        phrase_start = max(text.rfind("、", 0, m.start()), text.rfind("。", 0, m.start()), 0)
        about += [s for s in pool if phrase_start <= s.start - sentence.start < m.start()]
    cited = text.find("によると")
    reported = [s for s in pool if cited >= 0 and s.start - sentence.start > cited]
    topics = inside + about + reported
    if not topics:
        topics = [s for s in pool if s not in affiliations]
    return {s.entity_id for s in topics}


def _statement(source_id: str, sentence: Sentence, trigger: Trigger, spans: Sequence[Span], dates: Sequence[DateMention], speaker: Span | None) -> Event | None:
    text = sentence.text
    own = _speaker(text, sentence, spans)
    speaker = own or speaker
    if speaker is None:
        return None
    roles: dict[str, set[str]] = defaultdict(set)
    roles["agent"].add(speaker.entity_id)
    affiliations = _affiliations(text, sentence, speaker, spans) if own else []
    roles["affiliation"] = {s.entity_id for s in affiliations}
    roles["object"] = _statement_topics(text, sentence, spans, speaker, affiliations) - roles["agent"]
    date = _dates_for(dates, sentence, (0, len(text)), trigger, spans)
    confidence = 0.6 + (0.15 if own else 0) + (0.05 if roles["object"] else 0)
    return Event(
        type="statement",
        participants={k: v for k, v in roles.items() if v},
        date=date.value if date else UNKNOWN,
        date_text=date.text if date else "",
        source_id=source_id,
        sentence=sentence,
        method="rule",
        confidence=round(confidence, 2),
    )


def sentence_events(
    source_id: str,
    sentence: Sentence,
    spans: Sequence[Span],
    dates: Sequence[DateMention],
    parse: Parse | None,
    previous_speaker: Span | None,
    body: str = "",
) -> list[Event]:
    """Every event one sentence reports (a sentence can hold several)."""
    text = sentence.text
    body = body or " " * sentence.start + text
    events: list[Event] = []
    kept, _ = _kept_triggers(text)
    statement_done = False
    for index, trigger in enumerate(kept):
        kind = trigger.kind
        if kind == "generic":
            continue
        if kind == "statement":
            if statement_done:
                continue
            statement_done = True
            event = _statement(source_id, sentence, trigger, spans, dates, previous_speaker)
            if event:
                events.append(event)
            continue
        clause = (kept[index - 1].end if index else 0, kept[index + 1].start if index + 1 < len(kept) else len(text))
        abs_start, abs_end = sentence.start + trigger.start, sentence.start + trigger.end
        in_clause = [s for s in spans if clause[0] <= s.start - sentence.start < clause[1]]
        roles: dict[str, set[str]] = defaultdict(set)

        def by_parse(relations: tuple[str, ...], pool: Iterable[Span]) -> list[Span]:
            if parse is None:
                return []
            return [s for s in pool if parse.relation(s, abs_start - 1, abs_end + 1) in relations]

        actors = [s for s in spans if s.type in ("organization", "person")]
        models = [s for s in in_clause if s.type == "model" and not text[s.end - sentence.start :].startswith("以来")]
        agents = by_parse(("nsubj", "nsubj:pass"), actors)
        objects = by_parse(("obj",), models if kind != "funding" else actors)
        parsed = bool(agents or objects)
        if not agents:
            agents = _agent_by_surface(text, sentence, [s for s in actors if s.end <= abs_start], clause[0], trigger.start)
        if kind in ("model_release", "access_change", "partnership"):
            if parse is not None:
                ranges = parse.object_ranges(abs_start, abs_end)
                if ranges and not any(
                    MODEL_NOUN.search(head) or any(r0 <= m.start and m.end <= r1 for m in models) for r0, r1, head in ranges
                ):
                    continue  # the parse says something else is released (書簡を公開し)
            if not objects:
                objects = (
                    _wo_phrase_models(text, sentence, models, clause[0], trigger.start)
                    or [s for s in models if s.end <= abs_start]
                    or [s for s in models if s.start >= abs_end]
                )
            if not agents:
                agents = _developer_by_possessive(body, objects, [s for s in in_clause if s.end <= abs_start])
        if kind == "release_announcement":
            objects = (
                objects
                or _wo_phrase_models(text, sentence, models, clause[0], trigger.start)
                or [s for s in models if s.end <= abs_start and not _in_speech(text, s.start - sentence.start)]
            )
            if text[trigger.start : trigger.end] == "発表" and not (objects or RELEASE_WORDS.search(text)):
                continue  # 資金調達を実施したと発表: an announcement, but of no release
        if kind == "conference":
            objects = [s for s in in_clause if s.type == "event_name"]
            agents = agents or _developer_by_possessive(body, objects, in_clause)
        if kind == "founding":
            objects = agents or [s for s in actors if s.type == "organization"][:1]
            agents = [s for s in actors if s.type == "person"]
        if kind == "funding":
            investors = [s for s in actors if clause[0] <= s.start - sentence.start and INVESTOR_AFTER.match(text[s.end - sentence.start :])]
            # NVIDIAはOpenAIに…投資する: the subject invests in the one marked に; but
            # 投資を受け, 資金調達, 評価額: the subject is the one funded
            funded = [s for s in actors if clause[0] <= s.start - sentence.start < trigger.start and RECIPIENT_AFTER.match(text[s.end - sentence.start :])]
            invests = text[trigger.start : trigger.end] in ("投資", "出資") and not text[trigger.end :].startswith("を受け")
            if invests:
                investors = investors or [s for s in agents if s not in funded]
                recipients = funded[:1]
            else:
                recipients = [s for s in (agents or actors) if s not in investors and not INVESTOR_AFTER.match(text[s.end - sentence.start :])][:1]
            agents, objects = investors, []
            roles["recipient"] = {r.entity_id for r in recipients}
        roles["agent"] = {s.entity_id for s in agents}
        roles["object"] = {s.entity_id for s in objects} - roles["agent"]
        for person in (s for s in agents if s.type == "person"):  # OpenAIのCEO、Sam Altmanは
            roles["affiliation"] |= {s.entity_id for s in _affiliations(text, sentence, person, spans)} - roles["agent"]
        if kind in ("model_release", "access_change"):
            roles["license"] = {s.entity_id for s in spans if s.type == "license"}
        if kind in ("partnership", "model_release"):
            for s in spans:
                rel = parse.relation(s, abs_start - 1, abs_end + 1) if parse else None
                if s.type == "product" and (rel == "obl" or PLATFORM_AFTER.match(text[s.end - sentence.start :])):
                    roles["platform"].add(s.entity_id)
                    roles["object"].discard(s.entity_id)
        money = _money_before(text, trigger.start, clause[0]) if kind == "funding" else None
        if not _complete(kind, roles) or (kind == "funding" and not (money or (roles["agent"] and roles["recipient"]))):
            continue  # funding needs an amount or both sides: 投資を続ける alone is no event
        date = _dates_for(dates, sentence, clause, trigger, spans)
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


def _complete(kind: str, roles: dict[str, set[str]]) -> bool:
    """An event needs its core participants: a named model for releases and access
    changes (otherwise it is a generic remark), an agent for announcements, …"""
    if kind in ("model_release", "access_change", "partnership", "conference", "founding"):
        return bool(roles["object"])
    if kind == "release_announcement":
        return bool(roles["agent"])
    if kind == "funding":
        return bool(roles["recipient"] or roles["agent"])
    return True


def _parse_text(text: str) -> str:
    """What GiNZA needs to see of a sentence: up to the clause of its last trigger. A
    Japanese verb's subject and object come before it, so the rest of the sentence
    only costs time (the parse is ~40% of extraction)."""
    ends = [t.end for t in _kept_triggers(text)[0] if t.kind not in ("statement", "generic")]
    comma = text.find("、", max(ends)) if ends else -1
    return text[: comma + 1] if comma >= 0 else text


def needs_parse(sentence: Sentence, spans: Sequence[Span]) -> bool:
    """GiNZA is slow: parse only where the surface rules cannot decide the roles.

    That is a trigger (statements excepted: their roles come from quotes and markers)
    after two or more organizations or people marked as subjects (は/が/も…) outside
    quotes (whose is the agent?),
    or a release whose を-object is no named model (`書簡を公開し`: is a model
    released at all?).
    """
    text = sentence.text
    actors = [
        s.end - sentence.start
        for s in spans
        if s.type in ("organization", "person")
        and not _in_quote(text, s.start - sentence.start)
        and AGENT_MARK.match(text[s.end - sentence.start :])
    ]
    model_ends = {s.end - sentence.start for s in spans if s.type == "model"}
    for trigger in _kept_triggers(text)[0]:
        if trigger.kind in ("statement", "generic"):
            continue
        if sum(1 for end in actors if end <= trigger.start) >= 2:
            return True
        wo = text.rfind("を", 0, trigger.start)
        if trigger.kind in ("model_release", "access_change", "partnership") and model_ends and wo >= 0:
            if not ({wo, wo - 1} & model_ends or MODEL_NOUN.search(text[max(0, wo - 6) : wo])):
                return True
    return False


def coreferences(body: str, spans: Sequence[Span]) -> list[Span]:
    """`同社` / `同氏`: the organization / person last named before them."""
    found = []
    for word, kind in (("同社", "organization"), ("同氏", "person")):
        for m in re.finditer(word, body):
            earlier = [s for s in spans if s.type == kind and s.end <= m.start()]
            if earlier:
                found.append(Span(m.start(), m.end(), earlier[-1].entity_id, kind))
    return found


def event_steps(
    source_id: str,
    body: str,
    published: DateValue,
    mentions: Sequence[tuple[int, int, str, str]],
    parse_docs: bool = True,
) -> Steps[list[Event]]:
    """Events of one article; `mentions` are (start, end, entity_id, type). As steps
    that yield their GiNZA request (see `nlp.run_together`)."""
    sentences = split_sentences(body)
    dates = find_dates(body, published)
    spans = [Span(s, e, eid, t) for s, e, eid, t in mentions]
    spans = sorted(spans + coreferences(body, spans), key=lambda s: (s.start, s.end))
    by_sentence = [[sp for sp in spans if sen.start <= sp.start < sen.end] for sen in sentences]
    todo = [i for i, sen in enumerate(sentences) if needs_parse(sen, by_sentence[i])]
    docs: dict[int, Any] = {}
    if parse_docs and todo:
        docs = dict(zip(todo, (yield PARSE, [_parse_text(sentences[i].text) for i in todo]), strict=True))
    events: list[Event] = []
    speaker: Span | None = None  # the speaker of the previous sentence, if it was a statement
    previous: list[Event] = []  # the events of the previous sentence
    for i, sentence in enumerate(sentences):
        parse = parse_sentence(docs[i], sentence, by_sentence[i]) if i in docs else None
        found = sentence_events(source_id, sentence, by_sentence[i], dates, parse, speaker, body) if _kept_triggers(sentence.text)[0] else []
        if not found and speaker is not None and BARE_QUOTE.fullmatch(sentence.text):
            # 「…」 on its own after `次のように語る`: the same speaker goes on
            found = [e for e in [_statement(source_id, sentence, Trigger(0, 0, "statement"), by_sentence[i], dates, speaker)] if e]
        found += _continuation(source_id, sentence, by_sentence[i], found, previous)
        found += _references(source_id, sentence, events)
        previous = found
        statements = [e for e in found if e.type == "statement"]
        agent = next(iter(statements[0].participants["agent"]), None) if statements else None
        speaker = next((sp for sp in spans if sp.entity_id == agent), None)
        events.extend(found)
    return events


def _continuation(source_id: str, sentence: Sentence, spans: Sequence[Span], found: Sequence[Event], previous: Sequence[Event]) -> list[Event]:
    """`…の下で公開されており`: a release sentence that names no model and no agent goes
    on about the release of the sentence before (the subject is left out, as Japanese
    does); its licence and platforms join that event."""
    triggers = [t for t in _kept_triggers(sentence.text)[0] if t.kind == "model_release"]
    if not triggers or any(e.type == "model_release" for e in found):
        return []
    first = sentence.start + triggers[0].start
    if any(s.type == "model" or (s.type in ("organization", "person") and s.start < first) for s in spans):
        return []
    before = [e for e in previous if e.type == "model_release"]
    if not before:
        return []
    roles = {k: set(v) for k, v in before[0].participants.items()}
    for s in spans:
        platform = s.type in ("product", "organization") and PLATFORM_AFTER.match(sentence.text[s.end - sentence.start :])
        if s.type == "license":
            roles.setdefault("license", set()).add(s.entity_id)
        elif platform:
            roles.setdefault("platform", set()).add(s.entity_id)
    return [Event("model_release", roles, UNKNOWN, "", source_id, sentence, "rule", 0.55)]


def _references(source_id: str, sentence: Sentence, events: Sequence[Event]) -> list[Event]:
    """`この発表は…`, `今回のリリース`: the sentence is more evidence of an event of that
    type the article reported before."""
    found = []
    for trigger in _kept_triggers(sentence.text)[1]:
        earlier = [e for e in events if e.type == trigger.kind]
        if earlier:
            # 今回の: the news the article is about, which it reports first; この/その: the last one
            last = earlier[0] if sentence.text[: trigger.start].rfind("今回の") >= 0 else earlier[-1]
            found.append(
                Event(last.type, {k: set(v) for k, v in last.participants.items()}, UNKNOWN, "", source_id, sentence, "rule", 0.5, last.amount, last.currency)
            )
    return found


# --- merging ------------------------------------------------------------------------


def _key(event: Event) -> tuple:
    """What makes two reports one event in step 1."""
    roles = ("agent", "object") if event.type != "funding" else ("agent", "recipient")
    amount = (event.amount, event.currency) if event.type == "funding" else None
    return (event.type, amount) + tuple(_sorted_ids(event.participants.get(r, ())) for r in roles)


def _sorted_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """A set of ids as merging files it: sorted, as a tuple (equal exactly when the sets
    are). As frozensets, the keys and shelves of an 8,000-article merge took 25 MB."""
    return tuple(sorted(ids))


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
    conflict = max(d.start for d in dated) > min(d.end for d in dated)  # intervals on a line all overlap iff this fails
    return chosen, conflict


def event_id(
    kind: str, participants: dict[str, set[str]], date: DateValue, amount: float | None = None, currency: str | None = None
) -> str:
    """Stable id from what the event is: type, participants, date (and amount)."""
    parts = ";".join(f"{role}={','.join(sorted(ids))}" for role, ids in sorted(participants.items()))
    money = f"|{amount:g} {currency}" if amount is not None else ""
    digest = hashlib.sha1(f"{kind}|{parts}|{date.edtf}{money}".encode("utf-8")).hexdigest()[:12]
    return f"{kind}-{digest}"


class Group:
    """The reports of one event as merging asks for them, for every candidate pair:
    the first report's type and amount, each role's union, the dates by article and in
    report order, the first amount given, and each report's `Evidence` in order. The
    reports themselves are not kept. A role's ids as its first report gives them are
    a frozenset taken from `shared`, one object per distinct set for every group of a
    merge (as a set of its own in each group, they were 15 MB of an 8,000-article
    merge); a union is the group's own."""

    __slots__ = ("type", "amount", "money", "roles", "dates", "in_order", "evidence", "shared")

    def __init__(self, event: Event, evidence: Evidence, shared: dict[Any, Any]) -> None:
        self.type = event.type
        self.amount = event.amount
        self.money: tuple[float, str | None] | None = None  # the first (amount, currency) a report gives
        self.shared = shared
        self.roles: dict[str, frozenset[str]] = {}
        self.dates: dict[str, tuple[DateValue, ...]] = {}  # by article; a first one is shared, as the roles' ids are
        self.in_order: list[DateValue] = []  # every report's: `choose_date` breaks ties by order
        self.evidence = Reported(evidence.reports)
        self.add(event, evidence)

    def _join(self, role: str, ids: AbstractSet[str]) -> None:
        had = self.roles.get(role)
        if had is None:
            first = frozenset(ids)
            self.roles[role] = self.shared.setdefault(first, first)
        elif not had.issuperset(ids):
            self.roles[role] = had | ids  # not shared: a statement's objects grow report by report

    def add(self, event: Event, evidence: Evidence) -> None:
        for role, ids in event.participants.items():
            self._join(role, ids)
        source = evidence.source_id  # the article's id as `Reports` keeps it, once (each report's own: 4 MB at 8,000 articles)
        had = self.dates.get(source)
        if had is None:
            first = (event.date,)
            self.dates[source] = self.shared.setdefault(first, first)
        else:
            self.dates[source] = had + (event.date,)
        self.in_order.append(event.date)
        if self.money is None and event.amount is not None:
            self.money = (event.amount, event.currency)
        self.evidence.append(evidence)

    def absorb(self, other: Group) -> None:
        """Take in `other`'s reports after this group's own."""
        for role, ids in other.roles.items():
            self._join(role, ids)
        for source, dates in other.dates.items():
            self.dates[source] = self.dates.get(source, ()) + dates
        self.in_order.extend(other.in_order)
        self.money = self.money or other.money
        self.evidence.extend(other.evidence)


def _role(group: Group, role: str) -> frozenset[str]:
    return group.roles.get(role, frozenset())


def _sources(group: Group) -> set[str]:
    return set(group.dates)


def _dates_fit(a: Group, b: Group) -> bool:
    return all(
        _compatible(x, y) for source in a.dates.keys() & b.dates.keys() for x in a.dates[source] for y in b.dates[source]
    )


def _same_family(a: Collection[str], b: Collection[str]) -> bool:
    """Every model of one set is a model of the other or a member of its family
    (`model:gpt-oss` and `model:gpt-oss-120b`), and the sets differ."""

    def covered(x: str, others: Collection[str]) -> bool:
        return any(x == y or x.startswith(y + "-") or y.startswith(x + "-") for y in others)

    return a != b and bool(a) and bool(b) and all(covered(x, b) for x in a) and all(covered(y, a) for y in b)


def _families(ids: set[str]) -> tuple[str, ...]:
    """Each id up to its first hyphen: equal and same-family sets (`model:gpt-oss`,
    `model:gpt-oss-120b`) have equal families, so merges index groups by them and
    stay linear in the number of events."""
    return _sorted_ids({x.split("-", 1)[0] for x in ids})


def _objects(group: Group) -> tuple[str, ...]:
    return _sorted_ids(_role(group, "object"))


def _one_shelf(group: Group) -> tuple[str, ...]:
    """Where `_absorb` files every host when it does not file them by their objects."""
    return ()


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The same models, or models of one family: what two reports of one release name
    (a report naming no model is no one's)."""
    return bool(a) and (a == b or _same_family(a, b))


def _absorb(groups: list[Group], fits, seeks, key, hosts, by_objects: bool = False) -> list[Group]:
    """Fold each group that `seeks` a home into the one group `fits` accepts (preferring
    one that shares an article with it); a group with no single home stays as it is.
    Candidates come from an index by `key`, equal for any two fitting groups, of the
    groups that `hosts` says `fits` could accept at all. Absorbing changes neither: a
    home takes in only groups with its own key. `by_objects`: `fits` accepts only
    hosts whose objects are `_related` to the seeker's, so the index also files hosts
    by their objects and tests that once per distinct set (hundreds of hosts share a
    handful of sets)."""
    shelf = _objects if by_objects else _one_shelf
    index: dict[Any, dict[tuple[str, ...], list[int]]] = defaultdict(lambda: defaultdict(list))
    for position, group in enumerate(groups):
        if hosts(group):
            index[key(group)][shelf(group)].append(position)
    gone: set[int] = set()
    for position, group in enumerate(groups):
        if not seeks(group):
            continue
        mine = shelf(group)
        shelves = index[key(group)]
        candidates = [
            p
            for shape, positions in shelves.items()
            if not by_objects or _related(mine, shape)
            for p in positions
            if p != position and p not in gone
        ]
        homes = [p for p in candidates if fits(group, groups[p]) and _dates_fit(group, groups[p])]
        near = [p for p in homes if _sources(groups[p]) & _sources(group)]
        home = near if near else homes
        if len(home) == 1:
            (at,) = home
            before = shelf(groups[at])
            groups[at].absorb(group)
            gone.add(position)
            if shelf(groups[at]) != before:  # it now names more models: refile it
                shelves[before].remove(at)
                shelves[shelf(groups[at])].append(at)
    return [g for p, g in enumerate(groups) if p not in gone]


def _agentless_report(group: Group, other: Group) -> bool:
    """`GPT-2の段階的リリース`: a release nobody is named for is the release of the same
    model(s) whose agent another report names."""
    kind = group.type
    return (
        kind in ("model_release", "access_change", "partnership", "release_announcement", "conference")
        and other.type == kind
        and not _role(group, "agent")
        and bool(_role(other, "agent"))
        and bool(_role(group, "object"))
        and (_role(group, "object") == _role(other, "object") or _same_family(_role(group, "object"), _role(other, "object")))
    )


def _amountless_report(group: Group, other: Group) -> bool:
    """`Mistral AIは資金調達` (a headline, no amount) is the funding of the same recipient
    that another report gives an amount for."""
    return (
        group.type == other.type == "funding"
        and group.amount is None
        and other.amount is not None
        and bool(_role(group, "recipient"))
        and _role(group, "recipient") == _role(other, "recipient")
        and _role(group, "agent") <= _role(other, "agent")
    )


def _family_report(group: Group, other: Group) -> bool:
    """`OpenAIがgpt-oss を開放` and `OpenAIはgpt-oss-120bとgpt-oss-20bを公開` in one
    article: the same release named by its family and by its members."""
    return (
        group.type == other.type
        and group.type in ("model_release", "access_change")
        and _role(group, "agent") == _role(other, "agent")
        and bool(_sources(group) & _sources(other))
        and _same_family(_role(group, "object"), _role(other, "object"))
    )


def merge_events(events: Iterable[Event]) -> list[MergedEvent]:
    """One row per real-world event (see `EventMerger`)."""
    merger = EventMerger()
    for _, reports in itertools.groupby(sorted(events, key=_source_of), key=_source_of):
        merger.add(list(reports))
    return merger.merged()


def _source_of(event: Event) -> str:
    return event.source_id


def _statement_or_key(event: Event) -> tuple:
    if event.type == "statement":
        return ("statement", _sorted_ids(event.participants.get("agent", ())), event.date)
    return _key(event)


def _in_article_order(event: Event) -> tuple[int, str]:
    return (event.sentence.start, event.type)


class EventMerger:
    """One row per real-world event, from the reports of articles given in id order.

    1. Reports with the same type, agents and objects (funding: investors, recipient
       and amount) and compatible dates are one event; statements by the same speaker
       on the same date are one event whose objects are the union of what each
       reported sentence is about.
    2. A report that names no agent joins the one event of the same type and models
       that does (one in the same article first, else one in the corpus).
    3. Within an article, a release of a family and of its members by the same agent
       is one event.
    4. A funding report without an amount joins the single funding of the same
       recipient (and investors) that has one.

    Step 1 takes each article as it is `add`ed, so that a build runs it while later
    articles are still being read or extracted; `merged` runs the others, which need
    the whole corpus. The result is that of one pass over all reports ordered by
    (article, sentence, type), whenever the articles were added. A report added is
    kept only as its group's summary and its `Evidence`.
    """

    def __init__(self) -> None:
        self.reports = Reports()
        self.groups: list[Group] = []
        self.same: dict[tuple, list[Group]] = defaultdict(list)  # groups by what makes reports one event
        self.shared: dict[Any, Any] = {}  # one object per date and per set of ids (groups keep one a report and role)
        self.last_source: str | None = None
        self.done = False

    def add(self, events: Sequence[Event]) -> None:
        """The reports of one article, whose id sorts after every article added before."""
        if self.done:
            raise ValueError("EventMerger.add after merged(): the groups were folded together")
        if not events:
            return
        source = events[0].source_id
        if any(e.source_id != source for e in events):
            raise ValueError("EventMerger.add takes the reports of one article at a time")
        if self.last_source is not None and source <= self.last_source:
            raise ValueError(f"article {source} added after {self.last_source}: articles must come in id order, once each")
        self.last_source = source
        for event in sorted(events, key=_in_article_order):
            # what groups keep, one object per value: as decoded from the cache, each
            # report had its own (8,000 articles: 23 MB of dates, 2 MB of type strings)
            event.date = self.shared.setdefault(event.date, event.date)
            event.type = sys.intern(event.type)
            if event.currency is not None:
                event.currency = sys.intern(event.currency)
            key = _statement_or_key(event)
            evidence = self.reports.keep(event, source)
            for group in self.same[key]:
                if _group_dates_ok(group, event):
                    group.add(event, evidence)
                    break
            else:
                self.groups.append(Group(event, evidence, self.shared))
                self.same[key].append(self.groups[-1])

    def merged(self) -> list[MergedEvent]:
        """Steps 2-4 over everything added; the merged events sorted by id. Once only:
        the steps fold groups into one another in place."""
        if self.done:
            raise ValueError("EventMerger.merged() can be asked once")
        self.done = True
        self.reports.spool.flush()  # the evidence rows may be read in a forked child (`write_tables`)
        groups, self.groups, self.same, self.shared = self.groups, [], defaultdict(list), {}  # what the events keep of them is theirs
        groups = _absorbed(groups)
        return _identified(groups)


def _has_agent(group: Group) -> bool:
    return bool(_role(group, "agent"))


def _absorbed(groups: list[Group]) -> list[Group]:
    groups = _absorb(
        groups,
        _agentless_report,
        lambda g: not _has_agent(g),
        lambda g: (g.type, _families(_role(g, "object"))),
        _has_agent,
        by_objects=True,
    )
    groups = _absorb(
        groups,
        _family_report,
        _has_agent,
        lambda g: (g.type, _sorted_ids(_role(g, "agent")), _families(_role(g, "object"))),
        _has_agent,
        by_objects=True,
    )
    return _absorb(
        groups,
        _amountless_report,
        lambda g: g.type == "funding" and g.amount is None,
        lambda g: _sorted_ids(_role(g, "recipient")),
        lambda g: g.type == "funding" and g.amount is not None,
    )


# Roles an event's agent never also plays in it (`OpenAIがOpenAIのモデルを公開`).
_NOT_THE_AGENT = frozenset({"object", "affiliation", "platform", "license", "recipient"})


def _identified(groups: list[Group]) -> list[MergedEvent]:
    """The groups' events, by id. `groups` is emptied as it goes: each group is let go
    once its event holds what it keeps of it (all the groups and all the events at
    once made the peak of an 8,000-article merge)."""
    by_id: dict[str, MergedEvent] = {}
    groups.reverse()
    while groups:
        group = groups.pop()
        agents = _role(group, "agent")  # a group keeps each role's union over its reports
        participants = {}
        for role, ids in group.roles.items():  # shared sets, kept as they are where nothing is taken out
            kept = ids - agents if role in _NOT_THE_AGENT and not ids.isdisjoint(agents) else ids
            if kept:
                participants[role] = kept
        date, conflict = choose_date(group.in_order)
        amount, currency = group.money or (None, None)
        identity = event_id(group.type, participants, date, amount, currency)
        if identity in by_id:  # what the steps above kept apart turned out to be one fact
            by_id[identity].evidence.extend(group.evidence)
            by_id[identity].date_conflict |= conflict
            continue
        by_id[identity] = MergedEvent(identity, group.type, participants, date, conflict, amount, currency, group.evidence)
    return sorted(by_id.values(), key=lambda m: m.event_id)


def _group_dates_ok(group: Group, event: Event) -> bool:
    """Reports of one event from different articles may disagree on the date (flagged
    as a conflict); within one article, two incompatible dates are two events."""
    return all(_compatible(d, event.date) for d in group.dates.get(event.source_id, ()))


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
    objects = _names(p.get("object", ()), names)
    text = VERBS[event.type].format(
        agent=agent or "Someone",
        agent_or_someone=agent or "Someone",
        object=objects or "a model",
        object_or_model=objects or "a new model",
        object_or_topic=objects or "AI openness",
        recipient=_names(p.get("recipient", ()), names) or "A company",
        money=money,
        from_agent=f" from {agent}" if agent else "",
        by_agent=f" by {agent}" if agent else "",
        license=f" under {_names(p['license'], names)}" if p.get("license") else "",
        platform=f" on {_names(p['platform'], names)}" if p.get("platform") else "",
        affiliation_paren=f" ({_names(p['affiliation'], names)})" if p.get("affiliation") else "",
    )
    return text + "."  # every template starts with a name (kept as written: xAI, gpt-oss) or a capital


def _event_rows(merged: Sequence[MergedEvent], names: dict[str, str]) -> Iterator[dict[str, Any]]:
    for m in merged:
        yield {
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


def _participant_rows(merged: Sequence[MergedEvent]) -> Iterator[dict[str, Any]]:
    for m in merged:
        for entity, role in sorted((entity, role) for role, ids in m.participants.items() for entity in ids):
            yield {"event_id": m.event_id, "entity_id": entity, "role": role}


def _by_sentence(event: MergedEvent) -> dict[tuple[str, int], Evidence]:
    """The event's first report of each of its sentences, by (article, sentence start):
    a sentence reported twice is one evidence row."""
    first: dict[tuple[str, int], Evidence] = {}
    for e in event.evidence:
        first.setdefault((e.source_id, e.start), e)
    return first


def _evidence_rows(merged: Sequence[MergedEvent]) -> Iterator[dict[str, Any]]:
    for m in merged:
        for _, e in sorted(_by_sentence(m).items(), key=lambda item: item[0]):
            yield e.row(m.event_id)


def event_rows(merged: Sequence[MergedEvent], names: dict[str, str]) -> dict[str, OrderedRows]:
    """The events, event_participants and event_evidence tables, made as they are
    written, in primary-key order (the events come sorted by id); the evidence is read
    back from where the reports waited (`Reports`)."""
    return {
        "events": OrderedRows(_event_rows, (merged, names), len(merged)),
        "event_participants": OrderedRows(_participant_rows, (merged,), sum(len(ids) for m in merged for ids in m.participants.values())),
        "event_evidence": OrderedRows(_evidence_rows, (merged,), sum(len(_by_sentence(m)) for m in merged)),
    }
