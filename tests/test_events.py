"""Event extraction: triggers, roles, dates, amounts, statements and merging, on the
real articles (one extraction per session) and on small articles written for one rule
each (surface rules only, no GiNZA, so they run in milliseconds)."""

from __future__ import annotations

from datetime import date
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dates import parse_edtf
from pipeline.events import choose_date, event_id
from pipeline.extract import extract_tables
from tests.conftest import small_article

TT = "techtarget-2025-08-21-gpt-oss"
ZENN = "zenn-2025-04-01-openai-open-weights"


def events_of(*bodies: str) -> list[dict]:
    """Events (with participants by role and evidence) of small articles, surface rules only."""
    arts = [small_article(b, f"test-2025-01-0{i + 1}-a") for i, b in enumerate(bodies)]
    tables = extract_tables(arts, apply_corrections=False, use_ner=False, parse=False)
    return _joined(tables)


def _joined(tables) -> list[dict]:
    out = []
    for e in tables["events"]:
        roles: dict[str, set[str]] = {}
        for p in tables["event_participants"]:
            if p["event_id"] == e["event_id"]:
                roles.setdefault(p["role"], set()).add(p["entity_id"])
        evidence = [r for r in tables["event_evidence"] if r["event_id"] == e["event_id"]]
        out.append({**e, "roles": roles, "evidence": evidence})
    return out


@pytest.fixture(scope="session")
def corpus_events(extracted):
    return _joined(extracted)


def find(events, kind, **roles):
    return [e for e in events if e["type"] == kind and all(e["roles"].get(r) == set(v) for r, v in roles.items())]


# --- the real articles -------------------------------------------------------------


def test_gpt_oss_release_is_dated_with_its_members_and_licence(corpus_events):
    (e,) = [e for e in corpus_events if e["type"] == "model_release" and "model:gpt-oss-120b" in e["roles"].get("object", set())]
    assert e["date"] == "2025-08-05" and e["date_precision"] == "day"
    assert e["roles"]["object"] == {"model:gpt-oss", "model:gpt-oss-120b", "model:gpt-oss-20b"}  # not “昔のGPT”
    assert e["roles"]["agent"] == {"organization:openai"}
    texts = {r["date_text"] for r in e["evidence"]}
    assert "2025年8月5日" in texts


def test_season_date_of_deepseek_r1(corpus_events):
    (e,) = find(corpus_events, "model_release", agent={"organization:deepseek"}, object={"model:deepseek-r1"})
    assert (e["date"], str(e["date_start"]), str(e["date_end"])) == ("2025-33", "2025-01-01", "2025-03-31")


def test_a_letter_published_is_not_a_model_release(corpus_events):
    """「書簡を公開し」 in the Zuckerberg sentence releases no model."""
    releases = [e for e in corpus_events if e["type"] == "model_release"]
    assert not any("person:mark-zuckerberg" in e["roles"].get("agent", set()) for e in releases)
    assert not any(e["date"] == "2025-07-30" for e in releases)


def test_statement_has_speaker_affiliation_and_quote(corpus_events):
    (e,) = find(corpus_events, "statement", agent={"person:roowan-karan"})
    assert e["roles"]["affiliation"] == {"organization:forrester-research"}
    assert e["roles"]["object"] == {"model:gpt-oss-120b", "model:gpt-oss-20b"}
    assert any("と語る" in r["quote"] for r in e["evidence"])


def test_statement_date_ignores_dates_inside_the_quote(corpus_events):
    """Nicholson mentions 2025年9月 inside his quote: his statement stays undated."""
    (e,) = find(corpus_events, "statement", agent={"person:debiddo-nikoruson"})
    assert e["date"] in (None, "")
    assert len(e["evidence"]) >= 4  # one event for all his reported sentences


def test_bare_quote_after_tsugi_no_youni_is_the_same_speaker(corpus_events):
    (e,) = find(corpus_events, "statement", agent={"person:hannanee-hajishiruji"})
    assert any(r["quote"].startswith("「オープンウエートなので") for r in e["evidence"])


def test_conference_date_is_the_noun_its_verb_modifies(corpus_events):
    (e,) = find(corpus_events, "conference", object={"event_name:llamacon"})
    assert e["date"] == "2025-09" and e["roles"]["agent"] == {"organization:meta-platforms"}


def test_withheld_release_is_an_access_change(corpus_events):
    (e,) = find(corpus_events, "access_change", agent={"organization:openai"}, object={"model:gpt-2"})
    assert e["date"] == "2019"
    assert any("リリースしませんでした" in r["quote"] for r in e["evidence"])


def test_two_amounts_in_one_sentence_are_two_funding_events(corpus_events):
    funding = {(e["amount"], e["currency"], e["date"] or "") for e in corpus_events if e["type"] == "funding"}
    assert (1e9, "USD", "") in funding and (5e10, "USD", "2023") in funding and (3e10, "USD", "") in funding
    (ms,) = find(corpus_events, "funding", agent={"organization:microsoft"})
    assert ms["roles"]["recipient"] == {"organization:openai"}


def test_every_event_is_backed_by_a_sentence_of_its_article(extracted, bodies):
    for r in extracted["event_evidence"]:
        assert bodies[r["source_id"]][r["start"] : r["end"]] == r["quote"]
        assert 0 < r["confidence"] <= 1


# --- one rule per small article -----------------------------------------------------


def test_negated_release_is_not_a_release():
    (e,) = events_of("OpenAIは2019年にGPT-2を公開しなかった。")
    assert e["type"] == "access_change" and e["date"] == "2019"


def test_plan_is_an_announcement_not_a_release():
    (e,) = events_of("OpenAIはGPT-5を数カ月以内に公開する予定だ。")
    assert e["type"] == "release_announcement"


def test_sentence_without_date_gives_undated_event_not_publication_date():
    (e,) = events_of("Metaは「Llama 3」を公開した。")
    assert e["date"] in (None, "") and e["date_precision"] == "unknown"


def test_date_qualifying_a_noun_is_not_the_event_date():
    (e,) = events_of("OpenAIは2019年のGPT-2以来初めてGPT-4を公開した。")
    assert e["date"] in (None, "")


def test_yen_trillion_amount():
    (e,) = events_of("ソフトバンクグループはOpenAIに1兆円を投資した。")
    assert (e["type"], e["amount"], e["currency"]) == ("funding", 1e12, "JPY")


def test_generic_plural_is_no_event():
    assert events_of("Google、IBM、Alibabaなども次々とモデルを公開している。") == []


def test_cross_article_reports_merge_and_flag_date_conflict():
    events = events_of("2025年4月1日、OpenAIは「GPT-4.5」を公開した。", "2025年3月31日、OpenAIは「GPT-4.5」を公開した。")
    (e,) = [e for e in events if e["type"] == "model_release"]
    assert len(e["evidence"]) == 2 and {r["date_text"] for r in e["evidence"]} == {"2025年4月1日", "2025年3月31日"}
    assert e["date_conflict"] is True
    assert e["date"] == "2025-03-31"  # equally precise, equally reported: the earliest


def test_choose_date_prefers_precision_then_reports():
    year, day, other = parse_edtf("2025"), parse_edtf("2025-08-05"), parse_edtf("2025-08-06")
    assert choose_date([year, day]) == (day, False)
    assert choose_date([other, day, other]) == (other, True)


def test_event_id_is_stable_and_order_free():
    d = parse_edtf("2025-08-05")
    a = event_id("model_release", {"object": {"model:b", "model:a"}, "agent": {"organization:x"}}, d)
    b = event_id("model_release", {"agent": {"organization:x"}, "object": {"model:a", "model:b"}}, d)
    assert a == b and a.startswith("model_release-") and len(a.split("-")[-1]) == 12
    assert a != event_id("model_release", {"agent": {"organization:x"}}, d)


def test_date_bounds_are_dates(corpus_events):
    for e in corpus_events:
        if e["date"]:
            assert isinstance(e["date_start"], date) and e["date_start"] <= e["date_end"]


def test_licence_comes_from_the_sentence_that_goes_on_about_the_release(corpus_events, extracted):
    """「…の下で公開されており」 names no model: it continues the gpt-oss release before it."""
    (e,) = [e for e in corpus_events if e["type"] == "model_release" and "model:gpt-oss-120b" in e["roles"].get("object", set())]
    assert e["roles"]["license"] == {"license:apache-license-2.0"}
    assert "organization:hugging-face" in e["roles"]["platform"]
    models = {m["model_id"]: m for m in extracted["models"]}
    assert models["model:gpt-oss-120b"]["license_id"] == "license:apache-license-2.0"
    assert models["model:gpt-oss-120b"]["license_sources"] == TT


def test_model_openness_prefers_what_a_sentence_says_outright(extracted):
    models = {m["model_id"]: m for m in extracted["models"]}
    assert models["model:gpt-2"]["openness"] == "open_weights"  # "GPT-2はオープンウエートだった"
    assert models["model:gpt-3"]["openness"] == "closed"
    assert models["model:gpt-oss-20b"]["first_release_date"] == "2025-08-05"


def test_the_wo_phrase_names_what_is_released():
    """“昔のGPT” is what the headline compares with; 「gpt-oss」を is what was opened."""
    (e,) = events_of("“昔のGPT”への回帰か? OpenAIが「gpt-oss」を開放した本当の狙い")
    assert e["roles"] == {"agent": {"organization:openai"}, "object": {"model:gpt-oss"}}


def test_announcement_agent_affiliation_and_nominal_object(corpus_events):
    """「OpenAIのCEO、Sam Altmanは…と発表」: the speaker's company is his affiliation;
    「…のリリースを発表した」 is more evidence of the same announcement, not a release."""
    (e,) = find(corpus_events, "release_announcement", agent={"person:sam-altman"})
    assert e["date"] == "2025-04-01" and e["roles"]["affiliation"] == {"organization:openai"}
    assert any(r["quote"].startswith("Sam Altmanがオープンウェイトモデルのリリースを発表") for r in e["evidence"])


def test_two_amounts_from_the_same_investor_are_two_events_with_their_own_ids():
    """Found at scale: the id must tell apart what the merge keeps apart."""
    events = events_of("MicrosoftはOpenAIに10億ドルを投資した。", "MicrosoftはOpenAIに20億ドルを投資した。")
    funding = [e for e in events if e["type"] == "funding"]
    assert sorted(e["amount"] for e in funding) == [1e9, 2e9]
    assert len({e["event_id"] for e in funding}) == 2


def test_announcing_a_funding_round_is_not_a_release_announcement():
    events = events_of("Mistral AIは資金調達\nフランスのMistral AIは2024年6月、6億ユーロの資金調達を実施したと発表した。")
    assert [e["type"] for e in events] == ["funding"]  # the bare headline (no amount, no investor) is none
    (e,) = events
    assert (e["amount"], e["currency"], e["date"]) == (6e8, "EUR", "2024-06") and len(e["evidence"]) == 1


def test_funding_report_without_amount_joins_the_one_with_it():
    events = events_of("MicrosoftはMistral AIに出資した。\nMicrosoftはMistral AIに1500万ユーロを出資した。")
    (e,) = events
    assert e["roles"] == {"agent": {"organization:microsoft"}, "recipient": {"organization:mistral-ai"}}
    assert (e["amount"], e["currency"]) == (1.5e7, "EUR") and len(e["evidence"]) == 2


def test_investing_in_a_field_is_no_funding_event_and_titles_mark_speakers():
    (e,) = events_of("ソフトバンクグループの孫正義会長兼社長は、AIへの投資を続けると強調した。")
    assert e["type"] == "statement" and e["roles"]["agent"] == {"person:masayoshi-son"}
    assert e["roles"]["affiliation"] == {"organization:softbank-group"}


def test_planned_release_names_its_model():
    (e,) = events_of("GoogleはGemmaの新版を年内に公開する予定だ。")
    assert e["type"] == "release_announcement"
    assert e["roles"] == {"agent": {"organization:google"}, "object": {"model:gemma"}}


def test_investor_is_the_subject_and_the_recipient_is_marked_ni():
    (e,) = events_of("米NVIDIAは、OpenAIに最大1000億ドルを投資すると発表した。")
    assert e["roles"] == {"agent": {"organization:nvidia"}, "recipient": {"organization:openai"}}
    assert (e["amount"], e["currency"]) == (1e11, "USD")


def test_announced_model_in_name_brackets_and_summary_keeps_name_case():
    (e,) = events_of("OpenAIは「GPT-4o」を2024年5月13日に発表した。")
    assert e["type"] == "release_announcement" and e["roles"]["object"] == {"model:gpt-4o"}
    assert e["date"] == "2024-05-13"
    (x,) = events_of("xAIは2024年3月17日、「Grok-1」の重みをオープンソースとして公開した。")
    assert x["summary"] == "xAI released Grok-1." and x["date"] == "2024-03-17"


# --- merging: the indexed absorption equals trying every host ------------------------

MODELS = ["model:gpt-oss", "model:gpt-oss-120b", "model:gpt-oss-20b", "model:llama", "model:llama-3", "organization:meta"]


def _report(kind: str, source: str, start: int, agents: set[str], objects: set[str], year: int | None):
    from pipeline.dates import UNKNOWN
    from pipeline.events import Event
    from pipeline.text import Sentence

    date = parse_edtf(str(year)) if year else UNKNOWN
    roles = {role: ids for role, ids in (("agent", agents), ("object", objects)) if ids}
    return Event(kind, roles, date, str(year or ""), source, Sentence(start, start + 1, "x"), "surface", 0.5)


def _merged(events, index_by_objects: bool = True) -> list[tuple]:
    """merge_events's events (id, conflict, evidence); `index_by_objects=False`: as if
    `_absorb` had no index by objects, every host of a key being tried."""
    import pipeline.events as events_module

    indexed = events_module._absorb

    def plain(groups, fits, seeks, key, hosts, by_objects=False):
        return indexed(groups, fits, seeks, key, hosts)

    with patch.object(events_module, "_absorb", indexed if index_by_objects else plain):
        return _summary(events_module.merge_events(events))


def _summary(merged) -> list[tuple]:
    """Merged events as (id, conflict, evidence as (article, sentence start))."""
    return [(m.event_id, m.date_conflict, [(e.source_id, e.start) for e in m.evidence]) for m in merged]


def _reports(kinds: list[str]):
    """Lists of `_report` arguments: reports of `kinds` in articles a-c, by OpenAI and Meta, of related models."""
    return st.lists(
        st.tuples(
            st.sampled_from(kinds),
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 5),
            st.sets(st.sampled_from(["organization:openai", "organization:meta"]), max_size=2),
            st.sets(st.sampled_from(MODELS), max_size=3),
            st.sampled_from([None, 2024, 2025]),
        ),
        max_size=14,
    )


def test_a_host_that_takes_in_a_family_member_is_found_by_its_new_models():
    # OpenAI releases gpt-oss-20b; an agentless report of gpt-oss joins it (same family),
    # so a later agentless report of gpt-oss-20b + gpt-oss-120b fits it only as it is now
    events = [
        _report("model_release", "a", 0, {"organization:openai"}, {"model:gpt-oss-20b"}, 2025),
        _report("model_release", "a", 5, set(), {"model:gpt-oss"}, None),
        _report("model_release", "b", 0, set(), {"model:gpt-oss-120b", "model:gpt-oss-20b"}, None),
    ]
    merged = _merged(events)
    assert len(merged) == 1 and len(merged[0][2]) == 3
    assert _merged(events, index_by_objects=False) == merged


@settings(deadline=None, max_examples=150, database=None)
@given(_reports(["model_release", "access_change", "partnership"]))
def test_merging_with_hosts_filed_by_objects_equals_trying_every_host(reports):
    events = [_report(*r) for r in reports]
    assert _merged(events) == _merged(events, index_by_objects=False)


@settings(deadline=None, max_examples=200, database=None)
@given(st.lists(st.tuples(st.integers(2019, 2026), st.sampled_from(["", "-03", "-03-15", "-11", "-11-02"])), max_size=6))
def test_a_date_conflict_is_two_dated_reports_that_do_not_overlap(values):
    dates = [parse_edtf(f"{year}{rest}") for year, rest in values]
    pairwise = any(a.start > b.end or b.start > a.end for a in dates for b in dates)
    assert choose_date(dates)[1] is pairwise


def test_articles_reach_the_merger_in_id_order_one_at_a_time_and_merge_once():
    from pipeline.events import EventMerger

    merger = EventMerger()
    merger.add([_report("model_release", "b", 0, {"organization:openai"}, {"model:gpt-oss"}, 2025)])
    with pytest.raises(ValueError, match="id order"):
        merger.add([_report("model_release", "a", 0, {"organization:openai"}, {"model:gpt-oss"}, 2025)])
    with pytest.raises(ValueError, match="one article"):
        merger.add([_report("funding", "c", 0, set(), set(), None), _report("funding", "d", 0, set(), set(), None)])
    merger.add([])  # an article without events changes nothing
    assert [m.evidence[0].source_id for m in merger.merged()] == ["b"]
    with pytest.raises(ValueError, match="once"):
        merger.merged()
    with pytest.raises(ValueError, match="after merged"):
        merger.add([_report("model_release", "e", 0, {"organization:openai"}, {"model:gpt-oss"}, 2025)])


@settings(deadline=None, max_examples=100, database=None)
@given(_reports(["model_release", "access_change", "statement"]))
def test_merging_article_by_article_equals_merging_all_reports_at_once(reports):
    """What a build does (each article's reports as its result arrives) gives what
    merging all reports at once gives, whatever order the articles are listed in."""
    from pipeline.events import EventMerger, merge_events

    events = [_report(*r) for r in reports]
    merger = EventMerger()
    for source in sorted({e.source_id for e in events}):
        merger.add([e for e in events if e.source_id == source])
    backwards = [e for source in sorted({e.source_id for e in events}, reverse=True) for e in events if e.source_id == source]
    assert _summary(merger.merged()) == _summary(merge_events(backwards))


def _event_tables(events) -> dict[str, list[dict]]:
    from pipeline.events import event_rows, merge_events

    return {name: list(table) for name, table in event_rows(merge_events(events), {}).items()}


def test_a_sentence_reported_twice_in_one_event_is_one_evidence_row_the_first_reports():
    from dataclasses import replace

    from pipeline.text import Sentence

    first = replace(_report("model_release", "a", 10, {"organization:openai"}, {"model:gpt-oss"}, 2025), sentence=Sentence(10, 24, "OpenAIが「gpt-oss」を公開,した"), method="parse", confidence=0.55)
    again = replace(first, method="surface", confidence=0.5, date_text="")
    earlier = replace(first, sentence=Sentence(9, 10, "x"), date_text="2025年")  # start 9 sorts before 10 as a number
    (evidence,) = [_event_tables([first, again, earlier])["event_evidence"]]
    assert [(r["start"], r["end"], r["quote"], r["date_text"], r["method"], r["confidence"]) for r in evidence] == [
        (9, 10, "x", "2025年", "parse", 0.55),
        (10, 24, "OpenAIが「gpt-oss」を公開,した", "2025", "parse", 0.55),
    ]


@settings(deadline=None, max_examples=100, database=None)
@given(_reports(["model_release", "access_change", "funding", "statement"]))
def test_evidence_rows_read_back_from_disk_are_their_reports_in_key_order(reports):
    """Each report's evidence row waits on disk while the reports merge; what comes back
    is one row per (event, article, sentence), sorted, with the cells of a report of
    that sentence (each report is told apart here by its method)."""
    from dataclasses import replace

    from pipeline.events import merge_events

    events = [replace(_report(*r), method=f"m{i}", confidence=i / 100) for i, r in enumerate(reports)]
    tables = _event_tables(events)
    evidence = tables["event_evidence"]
    keys = [(r["event_id"], r["source_id"], r["start"]) for r in evidence]
    assert keys == sorted(set(keys))
    assert set(keys) == {(m.event_id, e.source_id, e.start) for m in merge_events(events) for e in m.evidence}
    assert {r["event_id"] for r in evidence} == {r["event_id"] for r in tables["events"]}
    for row in evidence:
        report = events[int(row["method"][1:])]
        assert (report.source_id, report.sentence.start, report.sentence.end, report.sentence.text) == (row["source_id"], row["start"], row["end"], row["quote"])
        assert (report.date_text, report.confidence) == (row["date_text"], row["confidence"])


def test_the_merger_keeps_no_report_once_it_has_taken_it_in():
    """A corpus's reports are not held while it merges: only each group's summary and
    where each report's evidence row waits (the bulk of a build's memory before); once
    merged, the events keep what they need of the groups, not the groups."""
    import gc

    from pipeline.events import Event, EventMerger, Group

    class Kept(Event):
        __slots__ = ()

    merger = EventMerger()
    for source in "abc":
        merger.add([Kept(**{f: getattr(e, f) for f in Event.__slots__}) for e in [_report("model_release", source, 0, {"organization:openai"}, {"model:gpt-oss"}, 2025)]])
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Kept]
    (merged,) = merger.merged()
    assert [e.source_id for e in merged.evidence] == ["a", "b", "c"]
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Group]  # nor its groups, once merged


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 10**9), st.booleans()), min_size=1, max_size=12), st.integers(1, 11))
def test_reported_evidence_reads_back_as_kept(reports, cut):
    """A group's evidence kept as numbers gives back each report's Evidence, in order,
    by iteration and by index, after one group takes in another's."""
    from pipeline.events import Reported, Reports

    kept = Reports()
    evidence = [
        kept.keep(_report("model_release", source, start, {"organization:openai"}, {"model:gpt-oss"}, 2025 if dated else None), source)
        for source, start, dated in reports
    ]
    first, second = Reported(kept), Reported(kept)
    for e in evidence[:cut]:
        first.append(e)
    for e in evidence[cut:]:
        second.append(e)
    first.extend(second)
    assert list(first) == evidence and len(first) == len(evidence)
    assert [first[i] for i in range(-len(evidence), len(evidence))] == evidence + evidence
    with pytest.raises(IndexError):
        first[len(evidence)]


def test_groups_share_their_first_sets_of_ids_and_grow_their_own():
    """Two events of one agent hold one object for it; a statement whose objects grow
    report by report changes no other event's set."""
    from pipeline.events import EventMerger

    merger = EventMerger()
    merger.add([_report("model_release", "a", 0, {"organization:openai"}, {"model:gpt-oss"}, 2025)])
    merger.add([_report("model_release", "b", 0, {"organization:openai"}, {"model:gpt-2"}, 2019)])
    merger.add([_report("statement", "c", 0, {"organization:openai"}, {"model:gpt-oss"}, 2025), _report("statement", "c", 5, {"organization:openai"}, {"model:gpt-2"}, 2025)])
    merged = {m.type + str(m.date.edtf): m for m in merger.merged()}
    release, older, said = merged["model_release2025"], merged["model_release2019"], merged["statement2025"]
    assert release.participants["agent"] is older.participants["agent"]
    assert said.participants["object"] == {"model:gpt-oss", "model:gpt-2"}
    assert release.participants["object"] == {"model:gpt-oss"} and older.participants["object"] == {"model:gpt-2"}
