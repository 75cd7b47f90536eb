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
