"""Find entity mentions in an article body and resolve them to entities.

Chosen by measurement (see the README's extraction section):
1. registry: the curated name list, matched by Aho-Corasick on NFKC + case-folded text
   (millions of characters/s), longest match first, never inside a longer Latin or
   katakana word; offsets map back to the original body;
2. rules: patterns with evidence a name is there and what it is: a katakana name with
   ・ or a Latin name followed by 氏 (person); 調査会社X / X社 (organization); 「X」
   after モデル / LLM / サービス / ライセンス / イベント (typed by the cue word); a known
   model family followed by a version (Llama 5, DeepSeek-V4); version-like names
   (GPT-7, Foo-R2, bar-120b) in a sentence about models; a parenthesised alternative
   name of a mention (Ai2 after Allen Institute…) and a person's family name + 氏;
3. ner: GiNZA, only on sentences where SudachiPy still sees a proper noun that no
   registry or rule mention covers, with a documented label → type table and filters
   for the labels that are wrong for this domain.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

import ahocorasick

from pipeline.ids import entity_id as make_entity_id
from pipeline.nlp import NER, Steps
from pipeline.registry import Registry, normalize_with_offsets, original_span
from pipeline.text import Sentence, split_sentences

METHOD_PRIORITY = {"registry": 0, "rule": 1, "ner": 2, "curated": 3}


@dataclass(frozen=True, slots=True)
class Mention:
    source_id: str
    start: int
    end: int
    surface: str
    entity_id: str
    method: str


@dataclass
class Entity:
    entity_id: str
    type: str
    name: str
    name_ja: str
    method: str
    family: str | None = None


# --- character classes ------------------------------------------------------

KATAKANA = "ァ-ヶー"
_LATIN_WORD = re.compile(r"[A-Za-z0-9]")
_KATAKANA_CHAR = re.compile(f"[{KATAKANA}]")
_HAS_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _same_class(a: str, b: str) -> bool:
    """Two characters that would be one word (a name cannot end between them)."""
    if _LATIN_WORD.fullmatch(a) and _LATIN_WORD.fullmatch(b):
        return True
    return bool(_KATAKANA_CHAR.fullmatch(a) and _KATAKANA_CHAR.fullmatch(b))


def _is_word_bounded(text: str, start: int, end: int) -> bool:
    """A match must not start or end inside a longer Latin or katakana word.

    A version continues a name: `Llama 3` is not a match inside `Llama 3.1`.
    """
    if start > 0 and _same_class(text[start - 1], text[start]):
        return False
    if end < len(text):
        if _same_class(text[end - 1], text[end]):
            return False
        if text[end] in ".-" and end + 1 < len(text) and text[end + 1].isdigit() and text[end - 1].isdigit():
            return False
    return True


# --- registry matching --------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    automaton: ahocorasick.Automaton
    registry: Registry


@lru_cache(maxsize=4)
def _matcher_for(registry: Registry) -> Matcher:
    automaton = ahocorasick.Automaton()
    for form, targets in registry.surface_forms().items():
        automaton.add_word(form, (form, tuple(targets)))
    automaton.make_automaton()
    return Matcher(automaton, registry)


def matcher(registry: Registry) -> Matcher:
    return _matcher_for(registry)


def _condition_holds(condition, text: str, start: int, end: int, sentence: str) -> bool:
    if condition is None:
        return True
    after, before = text[end : end + 12], text[max(0, start - 12) : start]
    if condition.followed_by and not any(after.startswith(w) for w in condition.followed_by):
        return False
    if condition.preceded_by and not any(before.endswith(w) for w in condition.preceded_by):
        return False
    if condition.context_any and not any(w in sentence for w in condition.context_any):
        return False
    return True


def _leftmost_longest(spans: Iterable[tuple[int, int, object]]) -> list[tuple[int, int, object]]:
    chosen: list[tuple[int, int, object]] = []
    last_end = -1
    for start, end, payload in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if start >= last_end:
            chosen.append((start, end, payload))
            last_end = end
    return chosen


def _sentence_at(sentences: Sequence[Sentence], offset: int) -> str:
    for sentence in sentences:
        if sentence.start <= offset < sentence.end:
            return sentence.text
    return ""


def registry_mentions(source_id: str, body: str, registry: Registry, sentences: Sequence[Sentence]) -> list[Mention]:
    """Registry names in the body, leftmost-longest, mapped back to original offsets."""
    normalized, origin = normalize_with_offsets(body)
    candidates = []
    for last, (form, targets) in matcher(registry).automaton.iter(normalized):
        nstart, nend = last - len(form) + 1, last + 1
        start, end = original_span(origin, len(body), nstart, nend)
        if not _is_word_bounded(body, start, end):
            continue
        sentence = _sentence_at(sentences, start)
        for target, condition in targets:
            if _condition_holds(condition, body, start, end, sentence):
                candidates.append((start, end, target))
                break
    return [
        Mention(source_id, start, end, body[start:end], target, "registry")
        for start, end, target in _leftmost_longest(candidates)
    ]


# --- rules -------------------------------------------------------------------

HONORIFICS = "氏|さん|様|准教授|教授|博士|会長兼社長|社長|会長|CEO|CTO|COO|所長|議員|代表"  # titles after a name
ROLE_BEFORE = r"(?:アナリスト|CEO|CTO|COO|社長|会長|教授|創業者|共同創業者|研究者|代表|ディレクター|責任者|幹部|担当者|エンジニア|科学者)(?:の|、|で|である|)"
_KATAKANA_NAME = f"[{KATAKANA}]{{2,}}(?:[・=＝][{KATAKANA}]{{2,}})+"
_LATIN_NAME = r"[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?(?: [A-Z][a-z]+(?:-[A-Z]?[a-z]+)?)+"
PERSON_AFTER = re.compile(f"({_KATAKANA_NAME}|{_LATIN_NAME})(?=(?:{HONORIFICS}))")
PERSON_BEFORE = re.compile(f"{ROLE_BEFORE}({_KATAKANA_NAME}|{_LATIN_NAME})")
_LATIN_ORG = r"[A-Z][A-Za-z0-9&.\-]*(?: (?:[A-Z][A-Za-z0-9&.\-]*|of|for|and|de))*"
ORG_AFTER_DESCRIPTOR = re.compile(
    f"(?:調査会社|コンサルティング会社|企業|スタートアップ|研究機関|非営利団体|団体|投資会社|ベンチャーキャピタル|新興企業)({_LATIN_ORG}|[{KATAKANA}]{{3,}})"
)
ORG_BEFORE_SHA = re.compile(f"(?<![{KATAKANA}A-Za-z])({_LATIN_ORG}|[{KATAKANA}]{{3,}})(?=社(?!会|員|長|内|外|名))")
QUOTE_CUES = {
    "model": ("大規模言語モデル", "言語モデル", "基盤モデル", "AIモデル", "推論モデル", "モデル", "LLM", "SLM"),
    "product": ("サービス", "プラットフォーム", "アプリ", "Webサイト", "サイト", "ツール", "OS", "ブラウザ", "チャットボット", "製品"),
    "license": ("ライセンス",),
    "event_name": ("イベント", "カンファレンス", "開発者会議", "会議", "サミット"),
    "organization": ("企業", "会社", "団体", "機関", "スタートアップ"),
}
_CUE_TYPE = {cue: kind for kind, cues in QUOTE_CUES.items() for cue in cues}
# 「Rakuten AI 2.0」を発表: a bracketed Latin name that is released or announced is a model
QUOTED_RELEASED = re.compile(r"[「『]([A-Za-z][^」』「『\n]{0,38})[」』]を[^。、「」]{0,12}?(?:公開|発表|リリース|オープンソース化)")
QUOTED = re.compile(
    "(" + "|".join(sorted(map(re.escape, _CUE_TYPE), key=len, reverse=True)) + r")(?:[(（][^)）]{1,20}[)）])?の?[「『]([^」』「『\n]{1,40})[」』]"
)
FAMILY_SUFFIX = re.compile(r"[」』]?(?:ファミリー|シリーズ)")
VERSION_LIKE = re.compile(r"(?<![A-Za-z0-9\-.])([A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)(?![A-Za-z0-9\-])")
STRONG_VERSION = re.compile(r"(?i)(?:-r\d|-v\d|\d+(?:\.\d+)?[bmk]$|^gpt-?\d|-\d+(?:\.\d+)?$|\d(?:\.\d+)?-(?:mini|pro|turbo|instruct|chat|coder|base)$)")
MODEL_CONTEXT = ("モデル", "LLM", "言語モデル", "生成AI", "オープンウエート", "オープンウェイト", "パラメーター", "パラメータ")
FAMILY_VERSION = re.compile(r"[- ]?(\d{1,2}(?:\.\d+)*[A-Za-z]?|[A-Z]\d{1,2}(?:\.\d+)*)(?![A-Za-z0-9])")
PAREN_ALIAS = re.compile(rf"[(（]([A-Za-z][A-Za-z0-9&.\- ]{{1,60}}|[{KATAKANA}・]{{2,30}})[)）]")
GENERIC_WORDS = {
    "llm", "ai", "api", "gpu", "cpu", "os", "web", "agi", "oss", "ceo", "cto",
    "open weight", "open source", "オープンソース", "オープンウエート", "オープンウェイト", "クローズドソース",
}  # the field's own vocabulary: never a name, whatever a tagger says


def _looks_like_name(text: str) -> bool:
    return bool(text) and text.lower() not in GENERIC_WORDS and len(text) >= 2


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    type: str
    method: str
    entity_id: str | None = None  # a known entity this is another name of
    family: str | None = None  # models: the family a versioned name belongs to


def _trim(body: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it holds no surrounding brackets, quotes or blanks."""
    strip = "「」『』“”\"'()（）【】 　・、。"
    while start < end and body[start] in strip:
        start += 1
    while end > start and body[end - 1] in strip:
        end -= 1
    return start, end


def rule_candidates(body: str, sentences: Sequence[Sentence]) -> list[Candidate]:
    """Names found by patterns, typed by the evidence around them."""
    found: list[Candidate] = []

    def add(start: int, end: int, kind: str) -> None:
        start, end = _trim(body, start, end)
        if end > start and _looks_like_name(body[start:end]):
            found.append(Candidate(start, end, kind, "rule"))

    for pattern in (PERSON_AFTER, PERSON_BEFORE):
        for m in pattern.finditer(body):
            add(m.start(1), m.end(1), "person")
    for pattern in (ORG_AFTER_DESCRIPTOR, ORG_BEFORE_SHA):
        for m in pattern.finditer(body):
            add(m.start(1), m.end(1), "organization")
    for m in QUOTED.finditer(body):
        add(m.start(2), m.end(2), _CUE_TYPE[m.group(1)])
    for m in QUOTED_RELEASED.finditer(body):
        add(m.start(1), m.end(1), "model")
    for sentence in sentences:
        if not any(cue in sentence.text for cue in MODEL_CONTEXT):
            continue
        for m in VERSION_LIKE.finditer(sentence.text):
            token = m.group(1)
            if any(c.isdigit() for c in token) and any(c.isalpha() for c in token) and STRONG_VERSION.search(token):
                add(sentence.start + m.start(1), sentence.start + m.end(1), "model")
    return found


def family_extensions(body: str, mentions: Sequence[Mention], families: set[str]) -> list[Candidate]:
    """`<known family> <version>` (Llama 5, DeepSeek-V4) is a model of that family."""
    found = []
    for mention in mentions:
        if mention.entity_id not in families or not mention.surface[-1].isalpha():
            continue  # `GPT-4 2023年` is no version: only names ending in a letter take one
        m = FAMILY_VERSION.match(body, mention.end)
        if m and m.end() > mention.end:
            found.append(Candidate(mention.start, m.end(), "model", "rule", family=mention.entity_id))
    return found


def paren_aliases(body: str, mentions: Sequence[Mention]) -> list[Candidate]:
    """`Name(Alias)`: the parenthesised name is another name of the same entity."""
    found = []
    for mention in mentions:
        m = PAREN_ALIAS.match(body, mention.end)
        if not m:
            continue
        start, end = _trim(body, m.start(1), m.end(1))
        if _looks_like_name(body[start:end]):
            found.append(Candidate(start, end, "", "rule", entity_id=mention.entity_id))
    return found


def surname_references(body: str, people: dict[str, str]) -> list[Candidate]:
    """A person named in full earlier is later called by family name + 氏 (ジア氏)."""
    found = []
    for full, target in people.items():
        parts = re.split(r"[・ ]", full)
        if len(parts) < 2 or len(parts[-1]) < 2:
            continue
        for m in re.finditer(re.escape(parts[-1]) + f"(?=(?:{HONORIFICS}))", body):
            if m.start() > 0 and _same_class(body[m.start() - 1], body[m.start()]) or body[max(0, m.start() - 1)] in "・":
                continue
            found.append(Candidate(m.start(), m.end(), "person", "rule", entity_id=target))
    return found


# --- NER --------------------------------------------------------------------

# GiNZA label → contract type. Labels not listed are ignored: on our articles GiNZA
# labels models as Music/Book/Movie and generic nouns as Product_Other, so products
# and models come from the registry and rules only.
NER_LABELS = {
    "Person": "person",
    "N_Person": "person",
    "Company": "organization",
    "Corporation_Other": "organization",
    "Organization_Other": "organization",
    "International_Organization": "organization",
    "Political_Organization_Other": "organization",
    "Government": "organization",
    "School": "organization",
    "Research_Institute": "organization",
    "Country": "location",
    "City": "location",
    "Province": "location",
    "GPE_Other": "location",
    "Conference": "event_name",
    "Occasion_Other": "event_name",
}
NER_PREFIXES = re.compile(r"^(?:調査会社|コンサルティング会社|企業|米国|中国|日本|米|英|仏|独)")
NER_GENERIC_END = re.compile(r"(?:ベンダー|コミュニティー|コミュニティ|サービス|ライセンス|部門|業界|市場|技術|モデル|システム|担当|企業|会社)$")


def _ner_ok(text: str, kind: str) -> bool:
    """Filters for GiNZA's known mistakes on this domain (see the README)."""
    if not _looks_like_name(text) or NER_GENERIC_END.search(text):
        return False
    if kind == "person":
        return bool(re.fullmatch(_KATAKANA_NAME, text) or re.fullmatch(_LATIN_NAME, text) or re.fullmatch(r"[\u4e00-\u9fff]{2,4}", text))
    if kind == "location":
        return True
    # organizations and events: a proper-name shape, not a common noun phrase
    return bool(re.search(r"[A-Z]", text) or re.fullmatch(f"[{KATAKANA}]{{3,}}", text) or re.search(r"(?:大学|研究所|財団|銀行|省|庁)$", text))


# SudachiDict's proper-noun subclasses worth GiNZA's time; `一般` (オープンソース, Windows…)
# are names the registry and rules already cover or generic words
NAME_CLASSES = {"人名", "地名", "組織名"}


CLAUSE_BREAKS = "、。「」『』"


def ner_windows(sentences: Sequence[Sentence], covered: list[tuple[int, int]]) -> list[Sentence]:
    """The clause around each proper noun SudachiPy sees that no mention covers yet.

    GiNZA's NER costs time in proportion to the text it sees, and its decisions are
    local: the clause holding the name (between 、。「」 marks) is enough context. An
    all-lowercase Latin word (`language` in an English quote) is never such a name.
    """
    from pipeline.nlp import sudachi_tokens

    def is_covered(start: int, end: int) -> bool:
        return any(s <= start and end <= e for s, e in covered)

    windows: list[Sentence] = []
    for sentence in sentences:
        text = sentence.text
        spans: list[tuple[int, int]] = []
        for start, end, pos in sudachi_tokens(text):
            if len(pos) < 3 or pos[1] != "固有名詞" or pos[2] not in NAME_CLASSES or text[start:end].islower():
                continue
            if is_covered(sentence.start + start, sentence.start + end):
                continue
            left = max(text.rfind(c, 0, start) for c in CLAUSE_BREAKS) + 1
            rights = [i for i in (text.find(c, end) for c in CLAUSE_BREAKS) if i >= 0]
            right = min(rights) + 1 if rights else len(text)
            if spans and left < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(right, spans[-1][1]))
            else:
                spans.append((left, right))
        windows += [Sentence(sentence.start + a, sentence.start + b, text[a:b]) for a, b in spans]
    return windows


def ner_candidates(body: str, sentences: Sequence[Sentence], docs: Sequence[Any]) -> list[Candidate]:
    """GiNZA entities in the given sentences (`docs`: their NER docs), mapped to
    contract types and filtered."""
    found = []
    for sentence, doc in zip(sentences, docs, strict=True):
        for ent in doc.ents:
            kind = NER_LABELS.get(ent.label_)
            if kind is None:
                continue
            start, end = sentence.start + ent.start_char, sentence.start + ent.end_char
            prefix = NER_PREFIXES.match(body[start:end])
            if prefix and end - start > prefix.end():
                start += prefix.end()
            start, end = _trim(body, start, end)
            if end > start and _ner_ok(body[start:end], kind):
                found.append(Candidate(start, end, kind, "ner"))
    return found


# --- resolution ----------------------------------------------------------------


def _name_fields(surface: str) -> tuple[str, str]:
    """(name, name_ja) for an entity known only from its surface."""
    surface = unicodedata.normalize("NFKC", surface)
    if _HAS_JAPANESE.search(surface):
        return surface, surface
    return surface, ""


class Resolver:
    """Accumulates entities across articles: one id per real-world thing."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.entities: dict[str, Entity] = {}
        self.aliases: dict[tuple[str, str], str] = {}  # (type, normalized surface) -> id

    def registry_entity(self, entity_id: str) -> Entity:
        if entity_id not in self.entities:
            entry = self.registry.entries[entity_id]
            self.entities[entity_id] = Entity(entity_id, entry.type, entry.name, entry.name_ja or "", "registry", entry.family)
        return self.entities[entity_id]

    def discovered(self, surface: str, kind: str, method: str, family: str | None = None, known_id: str | None = None) -> str:
        """Id for a name the registry does not know; the same name resolves the same way.

        `known_id`: the id this very call returned before (a replayed log), which spares
        computing it again (romanizing a Japanese name loads pykakasi, ~0.7 s)."""
        key = (kind, unicodedata.normalize("NFKC", surface).casefold())
        if key in self.aliases:
            entity = self.entities[self.aliases[key]]
            if METHOD_PRIORITY[method] < METHOD_PRIORITY[entity.method]:
                entity.method = method
            return entity.entity_id
        name, name_ja = _name_fields(surface)
        new_id = known_id or make_entity_id(kind, name)
        entity = self.entities.get(new_id)
        if entity is None:
            self.entities[new_id] = Entity(new_id, kind, name, name_ja, method, family)
        elif METHOD_PRIORITY[method] < METHOD_PRIORITY[entity.method]:
            entity.method = method
        self.aliases[key] = new_id
        return new_id

    def link(self, entity_id: str, surface: str) -> None:
        """Record `surface` as another name of `entity_id` (and fill in missing names)."""
        entity = self.entities[entity_id]
        key = (entity.type, unicodedata.normalize("NFKC", surface).casefold())
        self.aliases.setdefault(key, entity_id)
        if _HAS_JAPANESE.search(surface) and not entity.name_ja:
            entity.name_ja = surface


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


def mention_steps(
    source_id: str,
    body: str,
    registry: Registry,
    resolver: Resolver,
    use_ner: bool = True,
) -> Steps[list[Mention]]:
    """All mentions of one article, each resolved to an entity id in `resolver`; as
    steps that yield their GiNZA request (see `nlp.run_together`)."""
    sentences = split_sentences(body)
    mentions = registry_mentions(source_id, body, registry, sentences)
    for m in mentions:
        resolver.registry_entity(m.entity_id)
    families = {e.id for e in registry.entries.values() if e.type == "model"}
    candidates = family_extensions(body, mentions, families)
    # a longer family+version name replaces the family mention it starts with
    extended = {c.start for c in candidates}
    mentions = [m for m in mentions if m.start not in extended]
    candidates += rule_candidates(body, sentences)
    taken = [(m.start, m.end) for m in mentions]
    for cand in sorted(candidates, key=lambda c: (c.start, -(c.end - c.start))):
        span = (cand.start, cand.end)
        if _overlaps(span, taken):
            continue
        surface = body[cand.start : cand.end]
        target = resolver.discovered(surface, cand.type, cand.method, cand.family)
        mentions.append(Mention(source_id, cand.start, cand.end, surface, target, cand.method))
        taken.append(span)
    mentions = _add_linked(source_id, body, mentions, resolver, taken)
    if use_ner:
        windows = ner_windows(sentences, taken)
        docs = yield NER, [w.text for w in windows]
        for cand in ner_candidates(body, windows, docs):
            span = (cand.start, cand.end)
            if _overlaps(span, taken):
                continue
            surface = body[cand.start : cand.end]
            target = resolver.discovered(surface, cand.type, "ner")
            mentions.append(Mention(source_id, cand.start, cand.end, surface, target, "ner"))
            taken.append(span)
        mentions = _add_linked(source_id, body, mentions, resolver, taken)
    return sorted(mentions, key=lambda m: (m.start, m.end))


def _add_linked(
    source_id: str, body: str, mentions: list[Mention], resolver: Resolver, taken: list[tuple[int, int]]
) -> list[Mention]:
    """Parenthesised aliases and family-name references of the mentions found so far."""
    mentions = list(mentions)
    people = {m.surface: m.entity_id for m in mentions if resolver.entities[m.entity_id].type == "person"}
    for cand in paren_aliases(body, mentions) + surname_references(body, people):
        span = (cand.start, cand.end)
        if _overlaps(span, taken):
            continue
        surface = body[cand.start : cand.end]
        resolver.link(cand.entity_id, surface)
        mentions.append(Mention(source_id, cand.start, cand.end, surface, cand.entity_id, "rule"))
        taken.append(span)
    return mentions
