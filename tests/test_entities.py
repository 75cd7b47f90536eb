"""Entity extraction on the real articles: clean spans, longest match, linking of
aliases, generic vocabulary kept out, cross-article resolution."""

from __future__ import annotations

from collections import defaultdict

import pytest


@pytest.fixture(scope="session")
def mentions(extracted):
    return extracted["mentions"]


@pytest.fixture(scope="session")
def entity_types(extracted):
    return {e["entity_id"]: e["type"] for e in extracted["entities"]}


def surfaces(mentions, entity_id):
    return {m["surface"] for m in mentions if m["entity_id"] == entity_id}


def test_every_span_is_the_text_it_claims(mentions, bodies):
    for m in mentions:
        assert bodies[m["source_id"]][m["start"] : m["end"]] == m["surface"]


def test_spans_exclude_honorifics_brackets_and_particles(mentions):
    for m in mentions:
        s = m["surface"]
        assert s == s.strip() and s[0] not in "「『“(（" and s[-1] not in "」』”)）、。"
        assert not s.endswith(("氏", "さん", "は", "が", "の"))


def test_longest_match_wins(mentions, bodies):
    """gpt-oss-120b is one mention, not gpt-oss inside it."""
    body = bodies["techtarget-2025-08-21-gpt-oss"]
    at = body.index("gpt-oss-120b")
    found = [m for m in mentions if m["source_id"].startswith("techtarget") and m["start"] == at]
    assert [(m["surface"], m["entity_id"]) for m in found] == [("gpt-oss-120b", "model:gpt-oss-120b")]


def test_parenthesised_alias_joins_its_entity(mentions):
    """雨輝ITラボ(リーフレイン): one organization, two names."""
    (owner,) = {m["entity_id"] for m in mentions if m["surface"] == "雨輝ITラボ"}
    assert owner.startswith("organization:") and "リーフレイン" in surfaces(mentions, owner)


def test_surname_reference_links_to_the_full_name(mentions):
    assert {"リアン・ジア", "ジア"} <= surfaces(mentions, "person:rian-jia")


def test_company_and_model_stay_distinct(entity_types):
    assert entity_types["organization:deepseek"] == "organization"
    assert entity_types["model:deepseek-r1"] == "model"


def test_variants_resolve_to_one_entity_across_articles(mentions):
    by_entity = defaultdict(set)
    for m in mentions:
        by_entity[m["entity_id"]].add(m["source_id"])
    assert len(by_entity["organization:openai"]) == 2  # both articles, one id
    assert {"Meta", "Meta Platforms"} <= surfaces(mentions, "organization:meta-platforms")


def test_field_vocabulary_is_never_an_entity(mentions):
    assert not {m["surface"] for m in mentions} & {"オープンソース", "オープンウエート", "オープンウェイト", "LLM", "AI"}


def test_every_entity_has_a_mention_and_a_typed_id(extracted):
    mentioned = {m["entity_id"] for m in extracted["mentions"]}
    for e in extracted["entities"]:
        assert e["entity_id"] in mentioned
        assert e["entity_id"].split(":", 1)[0] == e["type"]


def mentions_of(make_article, body: str) -> list[tuple[str, str]]:
    """(surface, entity_id) of a small article in text order, registry and rules only (no GiNZA)."""
    from pipeline.extract import extract_tables

    tables = extract_tables([make_article(body)], apply_corrections=False, use_ner=False, parse=False)
    for m in tables["mentions"]:
        assert body[m["start"] : m["end"]] == m["surface"]
    return [(m["surface"], m["entity_id"]) for m in sorted(tables["mentions"], key=lambda m: m["start"])]


def test_gpt_4o_is_not_gpt_4(make_article):
    found = mentions_of(make_article, "OpenAIはGPT-4oを公開した。GPT-4とは別のモデルだ。")
    assert ("GPT-4o", "model:gpt-4o") in found and ("GPT-4", "model:gpt-4") in found
    assert ("GPT-4", "model:gpt-4") not in found[:2]


def test_full_width_names_keep_original_offsets(make_article):
    found = mentions_of(make_article, "ＯｐｅｎＡＩは「ＧＰＴ－４」を発表した。")
    assert ("ＯｐｅｎＡＩ", "organization:openai") in found and ("ＧＰＴ－４", "model:gpt-4") in found


def test_no_match_inside_a_longer_latin_word(make_article):
    found = mentions_of(make_article, "XMLとMetadataの話で、Metaは関係ない。")
    assert [s for s, _ in found] == ["Meta"]


def test_company_name_before_its_short_form(make_article):
    found = mentions_of(make_article, "Meta Platformsは「Llama 3」を公開した。Llamaファミリーの新版だ。")
    assert ("Meta Platforms", "organization:meta-platforms") in found
    assert ("Llama 3", "model:llama-3") in found and ("Llama", "model:llama") in found


def test_katakana_and_latin_names_of_one_person(make_article):
    found = mentions_of(make_article, "サム・アルトマン氏(Sam Altman)は語った。")
    assert {e for _, e in found} == {"person:sam-altman"}
    assert {s for s, _ in found} == {"サム・アルトマン", "Sam Altman"}


def test_unknown_person_found_by_rule_gets_a_stable_id(make_article):
    found = mentions_of(make_article, "調査会社Gartnerのアナリスト、ジョン・スミス氏は指摘する。")
    assert ("ジョン・スミス", "person:jon-sumisu") in found


def test_bracketed_latin_name_that_is_announced_is_a_model(make_article):
    found = mentions_of(make_article, "楽天グループは2024年12月、「Rakuten AI 2.0」を発表した。")
    assert ("Rakuten AI 2.0", "model:rakuten-ai-2.0") in found


def test_ner_sees_only_the_clause_of_an_uncovered_name():
    """GiNZA's NER runs on the clause around a name SudachiPy tags and nothing covers."""
    from pipeline.entities import ner_windows
    from pipeline.text import split_sentences

    body = "興味深いことに、翻訳は雨輝ITラボが担当し、記事は2025年に公開された。"
    (window,) = ner_windows(split_sentences(body), covered=[])
    assert window.text == "翻訳は雨輝ITラボが担当し、" and body[window.start : window.end] == window.text
    at = body.index("雨輝")
    assert ner_windows(split_sentences(body), covered=[(at, at + len("雨輝ITラボ"))]) == []


def test_ner_skips_lowercase_latin_words_sudachi_calls_names():
    """`language` is tagged as a person name by SudachiDict; it is never one in Japanese news."""
    from pipeline.entities import ner_windows
    from pipeline.nlp import sudachi_tokens
    from pipeline.text import split_sentences

    body = "彼は「a new language model」と書いた。"
    tags = {body[s:e]: pos for s, e, pos in sudachi_tokens(body)}
    assert tags["language"][1:3] == ("固有名詞", "人名")  # the premise: Sudachi's tag
    assert ner_windows(split_sentences(body), covered=[]) == []
