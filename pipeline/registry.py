"""The curated registry: general knowledge about the AI field, loaded and checked.

`curation/registry.yaml` lists organizations, people, models, products, licences,
places and named events with their canonical names, Japanese names and spelling
variants. Extraction matches these names in article text; because a wrong registry
silently produces wrong mentions, the loader refuses a file with any fault and lists
every fault at once (file, entry, field, what is wrong), never a traceback.

Matching happens on normalized text (`normalize`: NFKC + casefold), so width and case
variants need no aliases. Normalization is not length-preserving (㈱ → (株),
ﬁ → fi, ｶﾞ → ガ); `normalize_with_offsets` and `original_span` map a match found in
normalized text back to offsets in the original body.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from bisect import bisect_right
from dataclasses import astuple, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import yaml

from pipeline.errors import ProblemsError
from pipeline.ids import entity_id

ENTITY_TYPES = ("organization", "person", "model", "product", "license", "location", "event_name")
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "curation" / "registry.yaml"

_ENTRY_KEYS = ("id", "type", "name", "name_ja", "aliases", "context_aliases", "developer", "family")
_CONTEXT_ALIAS_KEYS = ("alias", "requires")
_CONDITION_KEYS = ("followed_by", "preceded_by", "context_any")
_HAS_DEVELOPER = ("model", "product")


# --- normalization --------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC, then casefold: the one normalization for registry names AND article text.

    NFKC folds full-width Latin (ＯｐｅｎＡＩ → OpenAI) and half-width katakana
    (ｵｰﾌﾟﾝ → オープン); casefold removes case. The matcher must use this same function
    (through `normalize_with_offsets`) or registry forms and text will not meet.
    """
    return unicodedata.normalize("NFKC", text).casefold()


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=1 << 16)  # asked for every character of every article; pairs repeat
def _joins_previous(segment: str, char: str) -> bool:
    """Could normalizing `segment + char` differ from normalizing them apart?

    A combining mark (or a character whose NFKC starts with one, like ﾞ) always stays
    with what precedes it, so canonical reordering and composition happen inside one
    segment; any other character starts a new segment unless NFKC visibly joins it to
    the previous one (Hangul jamo ᄀ + ᅡ → 가).
    """
    if unicodedata.combining(char) or unicodedata.combining(_nfkc(char)[0]):
        return True
    return _nfkc(segment + char) != _nfkc(segment) + _nfkc(char)


@lru_cache(maxsize=1 << 16)
def _normalize_piece(piece: str) -> str:
    return normalize(piece)


# Characters NFKC leaves alone and that never join the character before them (no
# combining marks, jamo or compatibility forms): printable ASCII, hiragana, katakana,
# common CJK ideographs and Japanese punctuation. Runs of them normalize one to one.
_INERT_RUN = re.compile("[\x20-\x7e\u3001\u3002\u300c-\u300f\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff]+")


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """`normalize(text)` and, for each of its characters, the index in `text` it came from.

    The text is cut into segments that normalize independently (a character with its
    combining marks; ｶﾞ), so the result equals `normalize(text)`. Every character a
    segment produces maps to the segment's first index: ﬁ → "fi" gives two entries
    with the same index, ｶﾞ → "ガ" gives one entry, the index of ｶ. Use
    `original_span` to turn a normalized span into an original one. Runs of inert
    characters (`_INERT_RUN`) take a fast path: one character each, case-folded; the
    last one of a run goes the slow way, as what follows may join it.
    """
    pieces: list[str] = []
    origin: list[int] = []
    done = 0
    for run in _INERT_RUN.finditer(text):
        fast_end = run.end() - 1
        if fast_end <= run.start():
            continue
        _segments_into(text, done, run.start(), pieces, origin)
        pieces.append(text[run.start() : fast_end].lower())
        origin.extend(range(run.start(), fast_end))
        done = fast_end
    _segments_into(text, done, len(text), pieces, origin)
    return "".join(pieces), origin


def _segments_into(text: str, start: int, stop: int, pieces: list[str], origin: list[int]) -> None:
    """The slow path of `normalize_with_offsets` over text[start:stop]."""
    for index in range(start + 1, stop + 1):
        if index < stop and _joins_previous(text[start:index], text[index]):
            continue
        piece = _normalize_piece(text[start:index])
        pieces.append(piece)
        origin.extend([start] * len(piece))
        start = index


def original_span(origin: Sequence[int], text_length: int, start: int, end: int) -> tuple[int, int]:
    """Original [start, end) of the normalized span [start, end) (end > start).

    The end is where the next original segment begins, not `origin[end - 1] + 1`:
    a match ending in ガ written ｶﾞ must keep the ﾞ, and a match ending inside an
    expansion (the "(株" of ㈱) takes the whole original character.
    """
    after = bisect_right(origin, origin[end - 1], lo=end - 1)
    return origin[start], origin[after] if after < len(origin) else text_length


# --- data -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextAlias:
    """An alias that names the entry only where a cheap context test holds.

    Every given test must hold; within a test, any one word is enough. Words are
    compared with the article text as written: `followed_by` with the text right after
    the match, `preceded_by` with the text right before it, `context_any` with the
    sentence around it.
    """

    alias: str
    followed_by: tuple[str, ...] = ()
    preceded_by: tuple[str, ...] = ()
    context_any: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistryEntry:
    """One real-world thing; `developer` and `family` are registry ids."""

    id: str
    type: str
    name: str
    name_ja: str | None
    aliases: tuple[str, ...]
    context_aliases: tuple[ContextAlias, ...]
    developer: str | None
    family: str | None


def _labelled_forms(entry: RegistryEntry) -> list[tuple[str, ContextAlias | None, str]]:
    """(normalized form, condition or None, field) of every name the entry is matched by.

    A name or name_ja that a context alias also gives is matched only under that
    condition: this is how an ambiguous canonical name (X, Mistral) is made conditional.
    """
    conditional = [(normalize(c.alias), c, f"context_aliases ({c.alias!r})") for c in entry.context_aliases]
    claimed = {form for form, _, _ in conditional}
    plain: list[tuple[str, ContextAlias | None, str]] = []
    named = [("name", entry.name), ("name_ja", entry.name_ja)] + [(f"aliases ({a!r})", a) for a in entry.aliases]
    for label, text in named:
        form = normalize(text) if text else ""
        if form and form not in claimed and all(form != seen for seen, _, _ in plain):
            plain.append((form, None, label))
    return plain + conditional


def _specificity(target: tuple[str, ContextAlias | None]) -> tuple[int, str]:
    """Sort key: neighbour tests first, sentence-wide tests next, the plain reading last."""
    _, condition = target
    if condition is None:
        return 2, target[0]
    return (0 if condition.followed_by or condition.preceded_by else 1), target[0]


@dataclass(frozen=True)
class Registry:
    """The checked registry; equal (and hashed) by `sha256`, that of its entries (see
    `entries_sha256`), so it can key caches."""

    entries: dict[str, RegistryEntry] = field(compare=False)
    sha256: str

    def surface_forms(self) -> dict[str, list[tuple[str, ContextAlias | None]]]:
        """Normalized form → [(entity id, condition or None)], most specific first.

        A form has at most one unconditional target (the loader enforces it), always
        last: the matcher takes the first target whose condition holds.
        """
        forms: dict[str, list[tuple[str, ContextAlias | None]]] = {}
        for entry in self.entries.values():
            for form, condition, _ in _labelled_forms(entry):
                forms.setdefault(form, []).append((entry.id, condition))
        for targets in forms.values():
            targets.sort(key=_specificity)
        return forms


class RegistryError(ProblemsError):
    """Every problem in the registry file, so one edit can fix them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, f"{len(problems)} problem(s) in the registry:\n" + "\n".join(f"  - {p}" for p in problems))


# --- loading ----------------------------------------------------------------------


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~8x faster
    """SafeLoader that rejects a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, data: bytes, problems: list[str]) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as err:
        problems.append(f"{path}: not UTF-8 (byte {err.start})")
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(err, "problem", None) or str(err)
        problems.append(f"{path}: {where}YAML syntax error: {what}")
    return None


class _Faults:
    """Collects the problems of one entry, each prefixed with file, entry number and id."""

    def __init__(self, problems: list[str], where: str) -> None:
        self.problems, self.where, self.count = problems, where, 0

    def __call__(self, field_name: str, what: str) -> None:
        self.problems.append(f"{self.where}: {field_name}: {what}")
        self.count += 1


def _clean_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value == value.strip()


def _string_list(value: Any, fault: _Faults, label: str) -> tuple[str, ...]:
    """The list's good strings; a fault for a non-list or for each bad item."""
    if not isinstance(value, list):
        fault(label, f"must be a list of strings, got {value!r}")
        return ()
    good = []
    for i, item in enumerate(value):
        if _clean_string(item):
            good.append(item)
        else:
            fault(f"{label}[{i}]", f"must be a non-empty string without surrounding spaces, got {item!r}")
    return tuple(good)


def _parse_context_alias(raw: Any, fault: _Faults, label: str) -> ContextAlias | None:
    if not isinstance(raw, dict):
        fault(label, "must be a mapping {alias: ..., requires: {...}}")
        return None
    before = fault.count
    for key in sorted(map(str, set(raw) - set(_CONTEXT_ALIAS_KEYS))):
        fault(f"{label}.{key}", f"unknown key (allowed: {', '.join(_CONTEXT_ALIAS_KEYS)})")
    alias, requires = raw.get("alias"), raw.get("requires")
    if not _clean_string(alias):
        fault(f"{label}.alias", f"must be a non-empty string without surrounding spaces, got {alias!r}")
    if not isinstance(requires, dict) or not requires:
        fault(f"{label}.requires", f"must be a mapping with one or more of: {', '.join(_CONDITION_KEYS)}")
        return None
    tests: dict[str, tuple[str, ...]] = {}
    for key, value in requires.items():
        if key not in _CONDITION_KEYS:
            fault(f"{label}.requires.{key}", f"unknown test (allowed: {', '.join(_CONDITION_KEYS)})")
            continue
        tests[key] = _string_list(value, fault, f"{label}.requires.{key}")
        if not tests[key]:
            fault(f"{label}.requires.{key}", "needs at least one word")
    return ContextAlias(alias, **tests) if fault.count == before else None


def _parse_context_aliases(raw: Any, fault: _Faults) -> tuple[ContextAlias, ...]:
    if not isinstance(raw, list):
        fault("context_aliases", f"must be a list of {{alias, requires}} mappings, got {raw!r}")
        return ()
    parsed: list[ContextAlias] = []
    seen = set()
    for i, item in enumerate(raw):
        alias = _parse_context_alias(item, fault, f"context_aliases[{i}]")
        if alias is None:
            continue
        key = (normalize(alias.alias), alias.followed_by, alias.preceded_by, alias.context_any)
        if key in seen:
            fault(f"context_aliases[{i}]", "repeats an earlier context alias of this entry")
        seen.add(key)
        parsed.append(alias)
    return tuple(parsed)


def _optional_string(raw: dict[str, Any], key: str, fault: _Faults) -> str | None:
    value = raw.get(key)
    if value is None or _clean_string(value):
        return value
    fault(key, f"must be a non-empty string without surrounding spaces, or null; got {value!r}")
    return None


def _check_own_forms(entry: RegistryEntry, fault: _Faults) -> None:
    """Each alias must add a form: width and case variants are redundant, matching normalizes."""
    if entry.name_ja and normalize(entry.name_ja) == normalize(entry.name):
        fault("name_ja", "same as name after normalization: use null")
    own = {normalize(entry.name)} | ({normalize(entry.name_ja)} if entry.name_ja else set())
    claimed = {normalize(c.alias) for c in entry.context_aliases}
    for alias in entry.aliases:
        form = normalize(alias)
        if form in own:
            fault(f"aliases ({alias!r})", f"normalizes to {form!r}, a form this entry already has")
        elif form in claimed:
            fault(f"aliases ({alias!r})", "is also a context alias of this entry: keep one")
        own.add(form)


def _parse_entry(raw: Any, fault: _Faults) -> RegistryEntry | None:
    """One entry checked field by field; None when it has no usable id, type and name."""
    if not isinstance(raw, dict):
        fault("entry", "must be a mapping with id, type and name")
        return None
    for key in sorted(map(str, set(raw) - set(_ENTRY_KEYS))):
        fault(key, f"unknown key (allowed: {', '.join(_ENTRY_KEYS)})")
    usable = True
    for key in ("id", "type", "name"):
        if not _clean_string(raw.get(key)):
            fault(key, f"required: a non-empty string without surrounding spaces, got {raw.get(key)!r}")
            usable = False
    kind, name = raw.get("type"), raw.get("name")
    if usable and kind not in ENTITY_TYPES:
        fault("type", f"unknown type {kind!r} (one of: {', '.join(ENTITY_TYPES)})")
        usable = False
    if usable and raw["id"] != entity_id(kind, name):
        fault("id", f"{raw['id']!r} is not entity_id(type, name) = {entity_id(kind, name)!r}")
    name_ja = _optional_string(raw, "name_ja", fault)
    aliases = _string_list(raw.get("aliases", []), fault, "aliases")
    contexts = _parse_context_aliases(raw.get("context_aliases", []), fault)
    developer, family = _optional_string(raw, "developer", fault), _optional_string(raw, "family", fault)
    if developer and kind not in _HAS_DEVELOPER:
        fault("developer", f"only models and products have a developer, not a {kind}")
    if family and kind != "model":
        fault("family", f"only models have a family, not a {kind}")
    if not usable:
        return None
    entry = RegistryEntry(raw["id"], kind, name, name_ja, aliases, contexts, developer, family)
    _check_own_forms(entry, fault)
    return entry


def _where(path: Path, number: int, raw: Any) -> str:
    ident = raw.get("id") if isinstance(raw, dict) else None
    return f"{path}: entry {number} ({ident if isinstance(ident, str) else 'no id'})"


def _check_references(
    path: Path, numbered: list[tuple[int, RegistryEntry]], file_ids: set[str], problems: list[str]
) -> None:
    """developer and family name an existing entry of the right type; an id whose own
    entry is already reported as unusable is not reported again here."""
    by_id = {entry.id: entry for _, entry in numbered}
    for number, entry in numbered:
        for key, wanted in (("developer", "organization"), ("family", "model")):
            target = getattr(entry, key)
            if target is None or (target in file_ids and target not in by_id):
                continue
            where = f"{path}: entry {number} ({entry.id}): {key}"
            if target not in by_id:
                problems.append(f"{where}: points to {target!r}, which is not in the registry")
            elif by_id[target].type != wanted:
                problems.append(f"{where}: points to {target!r}, a {by_id[target].type}, not a {wanted}")
            elif target == entry.id:
                problems.append(f"{where}: an entry cannot be its own {key}")


def _check_forms(path: Path, numbered: list[tuple[int, RegistryEntry]], problems: list[str]) -> None:
    """A plain form names one entry only, and a one-character form is never plain."""
    owners: dict[str, list[tuple[int, RegistryEntry, str]]] = {}
    for number, entry in numbered:
        for form, condition, label in _labelled_forms(entry):
            if condition is None:
                owners.setdefault(form, []).append((number, entry, label))
                if len(form) == 1:
                    problems.append(
                        f"{path}: entry {number} ({entry.id}): {label}: the one-character form {form!r} "
                        "must be a context alias"
                    )
    for form, found in owners.items():
        if len({entry.id for _, entry, _ in found}) > 1:
            number, entry, label = found[0]
            others = "; ".join(f"entry {n} ({e.id}) {lab}" for n, e, lab in found[1:])
            problems.append(
                f"{path}: entry {number} ({entry.id}): {label}: {form!r} is also given plainly to {others}: "
                "make it a context alias on all but one"
            )


def load_registry(path: Path | None = None) -> Registry:
    """Read and check the registry (default: curation/registry.yaml); RegistryError lists every fault."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RegistryError([f"{path}: cannot read: {err.strerror}"]) from None
    problems: list[str] = []
    document = _read_yaml(path, data, problems)
    if problems:
        raise RegistryError(problems)
    if not isinstance(document, dict) or set(document) != {"entities"} or not isinstance(document["entities"], list):
        raise RegistryError([f"{path}: must be a mapping with one key, `entities`, holding a list of entries"])
    numbered: list[tuple[int, RegistryEntry]] = []
    first_number: dict[str, int] = {}
    previous_id = ""
    for number, raw in enumerate(document["entities"], start=1):
        fault = _Faults(problems, _where(path, number, raw))
        entry = _parse_entry(raw, fault)
        ident = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(ident, str):
            if ident in first_number:
                fault("id", f"duplicate: entry {first_number[ident]} has the same id")
            elif ident < previous_id:
                fault("id", f"out of order: entries are sorted by id, and {ident!r} sorts before {previous_id!r}")
            first_number.setdefault(ident, number)
            previous_id = max(previous_id, ident)
        if entry is not None:
            numbered.append((number, entry))
    _check_references(path, numbered, set(first_number), problems)
    _check_forms(path, numbered, problems)
    if problems:
        raise RegistryError(problems)
    entries = [entry for _, entry in numbered]
    return Registry({entry.id: entry for entry in entries}, entries_sha256(entries))


def entries_sha256(entries: Sequence[RegistryEntry]) -> str:
    """The sha256 of the entries as read, not of the file: a comment, a reformatting
    or other quoting of the same entries keeps every cached result. Each entry is its
    fields in order (a JSON list; tuples as lists, missing as null), so two different
    lists of entries never give the same text."""
    text = json.dumps([astuple(entry) for entry in entries], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
