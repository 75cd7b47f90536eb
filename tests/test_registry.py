"""The curated registry: the shipped file is valid, lookups find the right entities,
offsets map back through normalization, and every kind of broken file is refused
with a message that names the entry and the field."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.ids import entity_id
from pipeline.registry import (
    ENTITY_TYPES,
    Registry,
    RegistryError,
    entries_sha256,
    load_registry,
    normalize,
    normalize_with_offsets,
    original_span,
)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="module")
def forms(registry: Registry) -> dict:
    return registry.surface_forms()


def plain_target(forms: dict, text: str) -> str | None:
    """The entity a string names with no condition, as the matcher would see it."""
    return next((target for target, condition in forms.get(normalize(text), []) if condition is None), None)


# --- the shipped registry -----------------------------------------------------------


def test_shipped_registry_loads_with_every_type(registry: Registry) -> None:
    assert 200 <= len(registry.entries) <= 350
    assert {entry.type for entry in registry.entries.values()} == set(ENTITY_TYPES)
    assert registry.sha256 == entries_sha256(list(registry.entries.values()))


def test_every_id_is_derived_from_type_and_name(registry: Registry) -> None:
    for key, entry in registry.entries.items():
        assert key == entry.id == entity_id(entry.type, entry.name)


def test_references_point_to_entries_of_the_right_type(registry: Registry) -> None:
    for entry in registry.entries.values():
        if entry.developer:
            assert registry.entries[entry.developer].type == "organization"
        if entry.family:
            assert registry.entries[entry.family].type == "model"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＯｐｅｎＡＩ", "organization:openai"),
        ("OPENAI", "organization:openai"),
        ("meta platforms", "organization:meta-platforms"),
        ("Meta", "organization:meta-platforms"),
        ("Ai2", "organization:allen-institute-for-artificial-intelligence"),
        ("AI2", "organization:allen-institute-for-artificial-intelligence"),
        ("ｱﾚﾝ人工知能研究所", "organization:allen-institute-for-artificial-intelligence"),
        ("サム・アルトマン", "person:sam-altman"),
        ("マーク・ザッカーバーグ", "person:mark-zuckerberg"),
        ("李開復", "person:kai-fu-lee"),
        ("Alibaba", "organization:alibaba-group"),
        ("ソフトバンク", "organization:softbank-group"),
        ("The University of Washington", "organization:university-of-washington"),
        ("ワシントン大学", "organization:university-of-washington"),
        ("米国", "location:united-states"),
        ("ｇｐｔ－ｏｓｓ－２０ｂ", "model:gpt-oss-20b"),
        ("Llama 3", "model:llama-3"),
        ("Apache License 2.0", "license:apache-license-2.0"),
        ("Apache License", "license:apache-license"),
        ("Futurum", "organization:the-futurum-group"),
        ("LlamaCon", "event_name:llamacon"),
    ],
)
def test_lookup_finds_the_entity(forms: dict, text: str, expected: str) -> None:
    assert plain_target(forms, text) == expected


@pytest.mark.parametrize("text", ["X", "米", "Playground", "Mistral", "中国", "MIT"])
def test_ambiguous_strings_are_only_conditional(forms: dict, text: str) -> None:
    targets = forms[normalize(text)]
    assert targets and all(condition is not None for _, condition in targets)


def test_neighbour_tests_come_before_sentence_tests(forms: dict) -> None:
    """`Mistral社` must resolve to the company even in a sentence about models."""
    targets = forms[normalize("Mistral")]
    assert [target for target, _ in targets] == ["organization:mistral-ai", "model:mistral"]
    assert targets[0][1].followed_by == ("社",)
    assert "モデル" in targets[1][1].context_any


def test_x_needs_a_social_network_context(forms: dict) -> None:
    ((target, condition),) = forms["x"]
    assert target == "product:x" and "アカウント" in condition.followed_by


def test_registry_is_hashable_and_equal_by_content(registry: Registry) -> None:
    again = load_registry()
    assert again == registry and hash(again) == hash(registry)


# --- normalization and offsets --------------------------------------------------


def test_normalize_folds_width_and_case() -> None:
    assert normalize("ＯｐｅｎＡＩ") == "openai"
    assert normalize("ｵｰﾌﾟﾝｳｪｲﾄ") == "オープンウェイト"


def test_offsets_through_width_expansion_and_composition() -> None:
    text = "Ｍｅｔａとｶﾞｲﾄﾞ㈱ﬁx"
    normalized, origin = normalize_with_offsets(text)
    assert normalized == normalize(text) == "metaとガイド(株)fix"
    assert len(origin) == len(normalized)
    assert origin[:5] == [0, 1, 2, 3, 4]  # full-width letters map one to one
    assert normalized[5] == "ガ" and origin[5:8] == [5, 7, 8]  # ｶﾞ became one character
    assert normalized[8:11] == "(株)" and origin[8:11] == [10, 10, 10]
    assert normalized[11:13] == "fi" and origin[11:13] == [11, 11]
    assert origin[13] == 12


def test_original_span_keeps_a_trailing_voiced_mark() -> None:
    text = "新ｶﾞｲﾄﾞ公開"
    normalized, origin = normalize_with_offsets(text)
    start = normalized.index("ガイド")
    assert original_span(origin, len(text), start, start + 3) == (1, 6)
    assert text[1:6] == "ｶﾞｲﾄﾞ"


def test_original_span_of_full_width_name() -> None:
    text = "米ＯｐｅｎＡＩは"
    normalized, origin = normalize_with_offsets(text)
    start = normalized.index("openai")
    begin, end = original_span(origin, len(text), start, start + 6)
    assert text[begin:end] == "ＯｐｅｎＡＩ"


def test_original_span_inside_an_expansion_takes_the_whole_character() -> None:
    text = "A㈱B"
    normalized, origin = normalize_with_offsets(text)
    start = normalized.index("株")
    assert original_span(origin, len(text), start, start + 1) == (1, 2)


def test_combining_marks_and_jamo_stay_with_their_base() -> None:
    text = "cafe\u0301 \u1100\u1161"
    normalized, origin = normalize_with_offsets(text)
    assert normalized == unicodedata.normalize("NFKC", text).casefold() == "café 가"
    assert origin == [0, 1, 2, 3, 5, 6]


_TRICKY = "aZＡｚ1１ｶｷﾞﾟﾞｰ・カが\u3099\u309b㈱ﬁßİ\u0301\u0323\u0300e\u1100\u1161\u11a8漢 -."


@given(st.text(alphabet=_TRICKY, max_size=40))
def test_offsets_agree_with_normalize_on_any_text(text: str) -> None:
    normalized, origin = normalize_with_offsets(text)
    assert normalized == normalize(text)
    assert len(origin) == len(normalized)
    assert origin == sorted(origin) and all(0 <= i < len(text) for i in origin)
    if normalized:
        assert original_span(origin, len(text), 0, len(normalized)) == (0, len(text))


# --- broken registries -----------------------------------------------------------

_VALID = """\
entities:
  - id: model:foo
    type: model
    name: Foo
    name_ja: null
    aliases: [Foo-1]
    developer: organization:acme
  - id: organization:acme
    type: organization
    name: Acme
    name_ja: アクメ
    context_aliases:
      - {alias: A, requires: {followed_by: [社]}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_small_valid_registry_loads(tmp_path: Path) -> None:
    registry = load_registry(_write(tmp_path, _VALID))
    forms = registry.surface_forms()
    assert forms["foo-1"] == [("model:foo", None)]
    assert forms["アクメ"] == [("organization:acme", None)]
    ((target, condition),) = forms["a"]
    assert target == "organization:acme" and condition.followed_by == ("社",)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "  - id: organization:acme\n",
            "  - id: organization:acme\n    type: organization\n    name: Acme\n  - id: organization:acme\n",
            ["entry 3 (organization:acme): id: duplicate: entry 2"],
            id="duplicate-id",
        ),
        pytest.param(
            "type: organization", "type: company", ["(organization:acme): type: unknown type 'company'"], id="bad-type"
        ),
        pytest.param(
            "name: Acme", "name: Acme Corp", ["(organization:acme): id: 'organization:acme' is not", "organization:acme-corp"],
            id="id-mismatch",
        ),
        pytest.param(
            "developer: organization:acme",
            "developer: organization:nobody",
            ["(model:foo): developer: points to 'organization:nobody'"],
            id="dangling-developer",
        ),
        pytest.param(
            "developer: organization:acme", "developer: model:foo", ["(model:foo): developer:", "a model, not a organization"],
            id="developer-wrong-type",
        ),
        pytest.param("aliases: [Foo-1]", "aliases: [Foo-1", ["line", "YAML syntax error"], id="yaml-syntax"),
        pytest.param(
            "name_ja: アクメ", "name_ja: アクメ\n    aliases: [Foo-1]",
            ["(model:foo): aliases ('Foo-1'): 'foo-1' is also given plainly to entry 2 (organization:acme) aliases ('Foo-1')"],
            id="plain-alias-on-two-entries",
        ),
        pytest.param(
            "name_ja: null\n    aliases", "name_ja: null\n    colour: red\n    aliases",
            ["(model:foo): colour: unknown key"], id="unknown-key",
        ),
        pytest.param("aliases: [Foo-1]", "aliases: ['']", ["(model:foo): aliases[0]: must be a non-empty string"], id="empty-alias"),
        pytest.param(
            "aliases: [Foo-1]", "aliases: [ＦＯＯ]", ["(model:foo): aliases ('ＦＯＯ'): normalizes to 'foo'"],
            id="redundant-width-variant",
        ),
        pytest.param("aliases: [Foo-1]", "aliases: [F]", ["(model:foo): aliases ('F'): the one-character form 'f'"], id="one-char-plain"),
        pytest.param(
            "followed_by: [社]", "next_to: [社]", ["(organization:acme): context_aliases[0].requires.next_to: unknown test"],
            id="unknown-context-test",
        ),
        pytest.param(
            "name_ja: null\n    aliases", "name_ja: null\n    family: model:foo\n    aliases",
            ["(model:foo): family: an entry cannot be its own family"], id="family-self",
        ),
        pytest.param(
            "    name_ja: アクメ\n", "    name_ja: アクメ\n    family: model:foo\n",
            ["(organization:acme): family: only models have a family"], id="family-on-organization",
        ),
        pytest.param(
            "    name: Acme\n", "    name: Acme\n    name: Acme2\n", ["line", "key 'name' is given twice"], id="repeated-key"
        ),
    ],
)
def test_broken_registry_is_refused(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert old in _VALID
    path = _write(tmp_path, _VALID.replace(old, new, 1))
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_entries_out_of_id_order(tmp_path: Path) -> None:
    first, second = _VALID.split("  - id: organization:acme\n")
    text = "entities:\n  - id: organization:acme\n" + second + first.removeprefix("entities:\n")
    with pytest.raises(RegistryError, match=r"entry 2 \(model:foo\): id: out of order"):
        load_registry(_write(tmp_path, text))


def test_not_a_list_of_entries(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="`entities`"):
        load_registry(_write(tmp_path, "entities: {id: model:foo}\n"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = _VALID.replace("type: organization", "type: company").replace("aliases: [Foo-1]", "aliases: ['']")
    text = text.replace("name_ja: null\n    aliases", "name_ja: null\n    colour: red\n    aliases")
    with pytest.raises(RegistryError) as caught:
        load_registry(_write(tmp_path, text))
    fields = [problem.split(": ")[2] for problem in caught.value.problems]
    assert {"type", "aliases[0]", "colour"} <= set(fields)
    assert len(caught.value.problems) == 3


def test_missing_file_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "absent.yaml")


# --- what the registry's hash covers: its entries, not the file's bytes --------------

_REFORMATTED = """\
# the same two entries: comments, flow and block style, other quoting
entities:
- {id: "model:foo", type: model, name: 'Foo', name_ja: ~, aliases: ["Foo-1"], developer: organization:acme}
- id: organization:acme   # trailing comment
  type: organization
  name: Acme
  name_ja: "アクメ"
  context_aliases:
  - alias: A
    requires:
      followed_by:
      - 社
"""


@pytest.mark.parametrize(
    "old, new",
    [
        ("aliases: [Foo-1]", "aliases: [Foo-1, Foo One]"),  # an alias added
        ("name_ja: null", "name_ja: フー"),  # a field given
        ("followed_by: [社]", "followed_by: [社, 製]"),  # a context test widened
        ("    developer: organization:acme\n", ""),  # a field left out
    ],
)
def test_hash_follows_every_change_of_an_entry(tmp_path: Path, old: str, new: str) -> None:
    assert old in _VALID
    before = load_registry(_write(tmp_path, _VALID))
    after = load_registry(_write(tmp_path, _VALID.replace(old, new)))
    assert after.entries != before.entries and after.sha256 != before.sha256 and after != before


def test_hash_ignores_comments_and_formatting(tmp_path: Path) -> None:
    before = load_registry(_write(tmp_path, _VALID))
    after = load_registry(_write(tmp_path, _REFORMATTED))
    assert after.entries == before.entries and after.sha256 == before.sha256
    assert load_registry(_write(tmp_path, _VALID + "# a note\n")).sha256 == before.sha256
