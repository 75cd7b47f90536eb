"""Tests of the gold-vs-predicted scoring: every expected count is worked out by hand
from the small gold files and predicted tables built in each test."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path
from typing import Sequence

import pytest

from pipeline.evaluate import OVERALL, Score, evaluate

ENTITY_COLUMNS = ["entity_id", "type", "name", "name_ja"]
MENTION_COLUMNS = ["mention_id", "source_id", "entity_id", "start", "end", "surface", "method"]
EVENT_COLUMNS = ["event_id", "type", "date", "date_start", "date_end", "date_precision", "summary"]
PARTICIPANT_COLUMNS = ["event_id", "entity_id", "role"]
EVIDENCE_COLUMNS = ["event_id", "source_id", "start", "end", "quote", "date_text"]


def write_gold(folder: Path, source_id: str, body: str) -> None:
    """A gold YAML written as text, so unquoted dates and years reach the loader as YAML types."""
    folder.mkdir(parents=True, exist_ok=True)
    text = f"source_id: {source_id}\npublished: 2025-08-21\n" + textwrap.dedent(body)
    (folder / f"{source_id}.yaml").write_text(text, encoding="utf-8")


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: row.get(c, "") for c in columns} for row in rows)


def write_pred(
    folder: Path,
    mentions: list[tuple[str, str, int, int, str]],
    events: list[tuple[str, str, str]] | None = None,
    participants: Sequence[tuple[str, str, str]] = (),
    evidence: Sequence[tuple[str, str]] = (),
) -> None:
    """Predicted tables; entities.csv lists the ids used, typed by their prefix."""
    ids = {m[1] for m in mentions} | {p[1] for p in participants}
    write_csv(
        folder / "entities.csv",
        ENTITY_COLUMNS,
        [{"entity_id": i, "type": i.split(":")[0], "name": i.split(":")[1]} for i in sorted(ids)],
    )
    write_csv(
        folder / "mentions.csv",
        MENTION_COLUMNS,
        [
            {"mention_id": f"{s}:{a}-{b}", "source_id": s, "entity_id": e, "start": a, "end": b, "surface": t, "method": "rule"}
            for s, e, a, b, t in mentions
        ],
    )
    if events is None:
        return
    write_csv(folder / "events.csv", EVENT_COLUMNS, [{"event_id": i, "type": t, "date": d} for i, t, d in events])
    write_csv(
        folder / "event_participants.csv",
        PARTICIPANT_COLUMNS,
        [{"event_id": i, "entity_id": e, "role": r} for i, e, r in participants],
    )
    write_csv(
        folder / "event_evidence.csv",
        EVIDENCE_COLUMNS,
        [{"event_id": i, "source_id": s, "start": 0, "end": 5, "quote": "....."} for i, s in evidence],
    )


def counts(score: Score) -> tuple[int, int, int]:
    return score.tp, score.fp, score.fn


# --- Score conventions -------------------------------------------------------


def test_score_conventions():
    assert (Score(0, 0, 0).precision, Score(0, 0, 0).recall, Score(0, 0, 0).f1) == (1.0, 1.0, 1.0)
    assert (Score(0, 2, 0).precision, Score(0, 2, 0).recall, Score(0, 2, 0).f1) == (0.0, 1.0, 0.0)
    assert (Score(0, 0, 2).precision, Score(0, 0, 2).recall, Score(0, 0, 2).f1) == (1.0, 0.0, 0.0)
    s = Score(2, 1, 1)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    assert Score(1, 2, 3) + Score(4, 5, 6) == Score(5, 7, 9)


# --- perfect and empty -------------------------------------------------------


def test_perfect_prediction_scores_one(tmp_path):
    write_gold(
        tmp_path / "gold",
        "a",
        """
        mentions:
          - {start: 0, end: 6, surface: OpenAI, type: organization, entity: organization:openai}
          - {start: 10, end: 17, surface: gpt-oss, type: model, entity: model:gpt-oss}
        events:
          - key: release
            type: model_release
            date: 2025-08-05
            date_text: "8月5日"
            participants: {agent: [organization:openai], object: [model:gpt-oss]}
            amount: null
            currency: null
            evidence:
              - {start: 0, end: 20, quote: "..."}
        """,
    )
    write_pred(
        tmp_path / "pred",
        [("a", "organization:openai", 0, 6, "OpenAI"), ("a", "model:gpt-oss", 10, 17, "gpt-oss")],
        events=[("ev1", "model_release", "2025-08-05")],
        participants=[("ev1", "organization:openai", "agent"), ("ev1", "model:gpt-oss", "object")],
        evidence=[("ev1", "a")],
    )
    result = evaluate(tmp_path / "gold", tmp_path / "pred")
    for level in ("mentions_untyped", "mentions_typed", "entities_untyped", "entities_typed"):
        assert counts(getattr(result, level)["a"]) == (2, 0, 0)
        assert counts(getattr(result, level)[OVERALL]) == (2, 0, 0)
        assert getattr(result, level)[OVERALL].f1 == 1.0
    assert counts(result.events["a"]) == (1, 0, 0)
    assert result.events[OVERALL].precision == result.events[OVERALL].recall == result.events[OVERALL].f1 == 1.0
    assert result.missed == [] and result.spurious == []


def test_empty_gold_and_empty_prediction_score_one(tmp_path):
    write_gold(tmp_path / "gold", "a", "mentions: []\nevents: []\n")
    write_pred(tmp_path / "pred", [], events=[])
    result = evaluate(tmp_path / "gold", tmp_path / "pred")
    for scores in (result.mentions_untyped, result.mentions_typed, result.entities_untyped, result.entities_typed, result.events):
        for key in ("a", OVERALL):
            assert counts(scores[key]) == (0, 0, 0)
            assert (scores[key].precision, scores[key].recall, scores[key].f1) == (1.0, 1.0, 1.0)


# --- mentions and entities -----------------------------------------------------


@pytest.fixture
def mention_case(tmp_path) -> Path:
    """Gold: OpenAI, gpt-oss, Mistral (a model), Llama. Predicted: OpenAI exact, gpt-oss with
    a short span, Mistral as an organization, Llama missed, Meta extra."""
    write_gold(
        tmp_path / "gold",
        "a",
        """
        mentions:
          - {start: 0, end: 6, surface: OpenAI, type: organization, entity: organization:openai}
          - {start: 10, end: 17, surface: gpt-oss, type: model, entity: model:gpt-oss}
          - {start: 20, end: 27, surface: Mistral, type: model, entity: model:mistral}
          - {start: 30, end: 35, surface: Llama, type: model, entity: model:llama}
        events: []
        """,
    )
    write_pred(
        tmp_path / "pred",
        [
            ("a", "organization:openai", 0, 6, "OpenAI"),
            ("a", "model:gpt-oss", 10, 16, "gpt-os"),
            ("a", "organization:mistral", 20, 27, "Mistral"),
            ("a", "organization:meta", 40, 44, "Meta"),
        ],
    )
    return tmp_path


def test_mentions_exact_wrong_span_wrong_type_extra_and_missed(mention_case):
    result = evaluate(mention_case / "gold", mention_case / "pred")
    # spans: hits 0-6 and 20-27; spurious 10-16 and 40-44; missed 10-17 and 30-35
    assert counts(result.mentions_untyped["a"]) == (2, 2, 2)
    # typed: only OpenAI; Mistral's span is right but its type is not
    assert counts(result.mentions_typed["a"]) == (1, 3, 3)
    assert counts(result.mentions_typed[OVERALL]) == (1, 3, 3)


def test_mention_lines_label_wrong_span_and_wrong_type(mention_case):
    result = evaluate(mention_case / "gold", mention_case / "pred")
    assert "[a] mention 10-17 'gpt-oss' model (wrong span: predicted 10-16)" in result.missed
    assert "[a] mention 10-16 'gpt-os' model (wrong span: gold 10-17)" in result.spurious
    assert "[a] mention 20-27 'Mistral' model (wrong type: predicted organization)" in result.missed
    assert "[a] mention 20-27 'Mistral' organization (wrong type: gold model)" in result.spurious
    assert "[a] mention 30-35 'Llama' model" in result.missed
    assert "[a] mention 40-44 'Meta' organization" in result.spurious


def test_entities_untyped_tolerates_type_prefix_typed_does_not(mention_case):
    result = evaluate(mention_case / "gold", mention_case / "pred")
    # gold {org:openai, model:gpt-oss, model:mistral, model:llama}
    # pred {org:openai, model:gpt-oss, org:mistral, org:meta}
    assert counts(result.entities_typed["a"]) == (2, 2, 2)
    assert counts(result.entities_untyped["a"]) == (3, 1, 1)
    assert "[a] entity model:mistral (wrong type: predicted organization:mistral)" in result.missed
    assert "[a] entity model:llama" in result.missed
    assert "[a] entity organization:meta" in result.spurious


def test_typed_mentions_use_the_entity_table_type(tmp_path):
    """The predicted mention's type is its entity's `type` column, not the id prefix."""
    write_gold(
        tmp_path / "gold",
        "a",
        "mentions:\n  - {start: 0, end: 5, surface: Llama, type: model, entity: model:llama}\n",
    )
    write_pred(tmp_path / "pred", [("a", "model:llama", 0, 5, "Llama")])
    write_csv(tmp_path / "pred" / "entities.csv", ENTITY_COLUMNS, [{"entity_id": "model:llama", "type": "product"}])
    result = evaluate(tmp_path / "gold", tmp_path / "pred")
    assert counts(result.mentions_untyped["a"]) == (1, 0, 0)
    assert counts(result.mentions_typed["a"]) == (0, 1, 1)


def test_predictions_for_sources_without_gold_are_ignored(tmp_path):
    write_gold(
        tmp_path / "gold",
        "a",
        """
        mentions:
          - {start: 0, end: 6, surface: OpenAI, type: organization, entity: organization:openai}
        events:
          - {key: e, type: founding, date: "2015", participants: {agent: [person:sam-altman], object: [organization:openai]}}
        """,
    )
    (tmp_path / "gold" / "README.md").write_text("not a gold file\n", encoding="utf-8")
    write_pred(
        tmp_path / "pred",
        [("a", "organization:openai", 0, 6, "OpenAI"), ("b", "organization:meta", 3, 7, "Meta")],
        events=[("ev1", "founding", "2015"), ("ev2", "funding", "2024")],
        participants=[
            ("ev1", "person:sam-altman", "agent"),
            ("ev1", "organization:openai", "object"),
            ("ev2", "organization:meta", "agent"),
        ],
        evidence=[("ev1", "a"), ("ev2", "b")],
    )
    result = evaluate(tmp_path / "gold", tmp_path / "pred")
    assert set(result.mentions_untyped) == {"a", OVERALL}
    assert counts(result.mentions_untyped[OVERALL]) == (1, 0, 0)
    assert counts(result.entities_typed[OVERALL]) == (1, 0, 0)
    assert set(result.events) == {"a", OVERALL}
    assert counts(result.events[OVERALL]) == (1, 0, 0)
    assert result.missed == [] and result.spurious == []


# --- events ------------------------------------------------------------------


@pytest.fixture
def event_case(tmp_path) -> Path:
    """Article a: r1 matched with objects 2/3, r2 not (objects 1/3), f1 matched (unquoted
    year), s1 missed outright, p1 predicted with the wrong month. Article c reports f1 too,
    and the predicted funding event has evidence in both articles."""
    write_gold(
        tmp_path / "gold",
        "a",
        """
        mentions: []
        events:
          - key: r1
            type: model_release
            date: 2025-08-05
            participants: {agent: [organization:openai], object: [model:a, model:b, model:c]}
          - key: r2
            type: model_release
            date: "2024"
            participants: {agent: [organization:mistral], object: [model:x, model:y, model:z]}
          - key: f1
            type: funding
            date: 2019
            participants: {agent: [organization:microsoft], object: [organization:openai]}
          - key: s1
            type: statement
            date: ""
            participants: {agent: [person:sam-altman], object: []}
          - key: p1
            type: partnership
            date: 2025-08
            participants: {agent: [organization:aws], object: [model:gpt-oss], platform: [product:bedrock]}
        """,
    )
    write_gold(
        tmp_path / "gold",
        "c",
        """
        mentions: []
        events:
          - key: f1
            type: funding
            date: "2019"
            participants: {agent: [organization:microsoft], object: [organization:openai]}
        """,
    )
    write_pred(
        tmp_path / "pred",
        [],
        events=[
            ("ev1", "model_release", "2025-08-05"),
            ("ev2", "model_release", "2024"),
            ("ev3", "funding", "2019"),
            ("ev5", "partnership", "2025-09"),
        ],
        participants=[
            ("ev1", "organization:openai", "agent"),
            ("ev1", "model:a", "object"),
            ("ev1", "model:b", "object"),
            ("ev1", "product:hugging-face", "platform"),
            ("ev2", "organization:mistral", "agent"),
            ("ev2", "model:x", "object"),
            ("ev3", "organization:microsoft", "agent"),
            ("ev3", "organization:openai", "object"),
            ("ev5", "organization:aws", "agent"),
            ("ev5", "model:gpt-oss", "object"),
            ("ev5", "product:bedrock", "platform"),
        ],
        evidence=[("ev1", "a"), ("ev2", "a"), ("ev3", "a"), ("ev3", "c"), ("ev5", "a")],
    )
    return tmp_path


def test_event_counts(event_case):
    result = evaluate(event_case / "gold", event_case / "pred")
    # a: r1~ev1 (Jaccard 2/3) and f1~ev3 match; ev2 (Jaccard 1/3) and ev5 (wrong date) are
    # spurious; r2, s1 and p1 are missed
    assert counts(result.events["a"]) == (2, 2, 3)
    # c: ev3's second evidence row makes it count here as well
    assert counts(result.events["c"]) == (1, 0, 0)
    assert counts(result.events[OVERALL]) == (3, 2, 3)


def test_event_lines(event_case):
    result = evaluate(event_case / "gold", event_case / "pred")
    assert "[a] event statement undated agent=person:sam-altman object=- (gold s1)" in result.missed
    assert "[a] event model_release 2024 agent=organization:mistral object=model:x,model:y,model:z (gold r2)" in result.missed
    assert (
        "[a] event partnership 2025-08 agent=organization:aws object=model:gpt-oss platform=product:bedrock (gold p1)"
        in result.missed
    )
    assert (
        "[a] event partnership 2025-09 agent=organization:aws object=model:gpt-oss platform=product:bedrock (predicted ev5)"
        in result.spurious
    )
    assert "[a] event model_release 2024 agent=organization:mistral object=model:x (predicted ev2)" in result.spurious
    assert len(result.missed) == 3 and len(result.spurious) == 2


def test_event_agents_must_be_equal(tmp_path):
    write_gold(
        tmp_path / "gold",
        "a",
        """
        events:
          - {key: r, type: model_release, date: "2025", participants: {agent: [organization:openai], object: [model:a]}}
        """,
    )
    write_pred(
        tmp_path / "pred",
        [],
        events=[("ev1", "model_release", "2025")],
        participants=[("ev1", "organization:openai", "agent"), ("ev1", "organization:microsoft", "agent"), ("ev1", "model:a", "object")],
        evidence=[("ev1", "a")],
    )
    assert counts(evaluate(tmp_path / "gold", tmp_path / "pred").events["a"]) == (0, 1, 1)


def test_event_matching_is_one_to_one_and_prefers_larger_overlap(tmp_path):
    """g1 matches ev1 and ev2, g2 only ev1. Taking g1~ev1 first would leave g2 unmatched;
    g1~ev2 shares a platform too (4 pairs against 3), so it is taken first and both match.
    A third gold event identical to g1 finds no predicted event left."""
    g1 = "{type: model_release, date: '2025', participants: {agent: [organization:o], object: [model:a, model:b], platform: [product:hub]}}"
    g2 = "{type: model_release, date: '2025', participants: {agent: [organization:o], object: [model:b, model:c]}}"
    write_gold(tmp_path / "gold", "a", f"events:\n  - {g1}\n  - {g2}\n  - {g1}\n")
    write_pred(
        tmp_path / "pred",
        [],
        events=[("ev1", "model_release", "2025"), ("ev2", "model_release", "2025")],
        participants=[
            ("ev1", "organization:o", "agent"),
            ("ev1", "model:a", "object"),
            ("ev1", "model:b", "object"),
            ("ev1", "model:c", "object"),
            ("ev2", "organization:o", "agent"),
            ("ev2", "model:a", "object"),
            ("ev2", "model:b", "object"),
            ("ev2", "product:hub", "platform"),
        ],
        evidence=[("ev1", "a"), ("ev2", "a")],
    )
    result = evaluate(tmp_path / "gold", tmp_path / "pred")
    assert counts(result.events["a"]) == (2, 0, 1)
    assert result.missed == [
        "[a] event model_release 2025 agent=organization:o object=model:a,model:b platform=product:hub (gold #3)"
    ]


def test_events_not_evaluated_without_event_tables(mention_case):
    result = evaluate(mention_case / "gold", mention_case / "pred")
    assert result.events is None
    assert "not evaluated" in result.text()
    assert result.as_dict()["events"] is None


def test_partial_event_tables_are_an_error(event_case):
    (event_case / "pred" / "event_evidence.csv").unlink()
    with pytest.raises(ValueError, match="event_evidence"):
        evaluate(event_case / "gold", event_case / "pred")


# --- gold folder errors and report ----------------------------------------------


def test_missing_gold_folder_is_an_error(tmp_path):
    write_pred(tmp_path / "pred", [])
    with pytest.raises(ValueError, match="gold folder not found"):
        evaluate(tmp_path / "nowhere", tmp_path / "pred")


def test_gold_folder_without_gold_files_is_an_error(tmp_path):
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "README.md").write_text("how to annotate\n", encoding="utf-8")
    write_pred(tmp_path / "pred", [])
    with pytest.raises(ValueError, match="no gold files"):
        evaluate(tmp_path / "gold", tmp_path / "pred")


def test_gold_source_id_must_match_file_name(tmp_path):
    write_gold(tmp_path / "gold", "a", "mentions: []\n")
    (tmp_path / "gold" / "b.yaml").write_text((tmp_path / "gold" / "a.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    write_pred(tmp_path / "pred", [])
    with pytest.raises(ValueError, match="b.yaml"):
        evaluate(tmp_path / "gold", tmp_path / "pred")


def test_text_and_json_reports(event_case):
    write_pred(event_case / "pred2", [("a", "model:x", 0, 3, "abc")], events=[])
    result = evaluate(event_case / "gold", event_case / "pred2")
    text = result.text()
    assert "mentions_typed" in text and "entities_untyped" in text
    assert "missed (6):" in text  # no event predicted: r1 r2 f1 s1 p1 in a, f1 in c
    data = json.loads(json.dumps(result.as_dict()))
    assert data["events"][OVERALL] == {"tp": 0, "fp": 0, "fn": 6, "precision": 1.0, "recall": 0.0, "f1": 0.0}
    assert data["mentions_untyped"]["a"]["fp"] == 1
    assert "[a] mention 0-3 'abc' model" in data["spurious"]
