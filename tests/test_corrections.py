"""Curated corrections: load-time validation, each action, cascades, and stale entries."""

from __future__ import annotations

import copy
import datetime
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pipeline import paths
from pipeline.corrections import CorrectionError, apply_corrections, load_corrections

SRC = "zenn-2025-04-01-x"
META, META_P, LLAMA, OPENAI, MIT = (
    "organization:meta",
    "organization:meta-platforms",
    "model:llama",
    "organization:openai",
    "license:mit",
)
RELEASE, STATEMENT = "model_release-000000000001", "statement-000000000002"


def _entity(entity_id: str, name: str) -> dict[str, Any]:
    return {"entity_id": entity_id, "type": entity_id.split(":")[0], "name": name, "name_ja": None, "method": "registry"}


def _mention(entity_id: str, start: int, surface: str) -> dict[str, Any]:
    end = start + len(surface)
    return {
        "mention_id": f"{SRC}:{start}-{end}",
        "source_id": SRC,
        "entity_id": entity_id,
        "start": start,
        "end": end,
        "surface": surface,
        "method": "ner",
    }


def _event(event_id: str, kind: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "date": "2025-04",
        "date_start": datetime.date(2025, 4, 1),
        "date_end": datetime.date(2025, 4, 30),
        "date_precision": "month",
        "date_conflict": False,
        "amount": None,
        "currency": None,
        "summary": "Something happened.",
    }


@pytest.fixture()
def tables() -> dict[str, list[dict[str, Any]]]:
    return {
        "sources": [{"source_id": SRC, "title": "t", "publisher": "p", "published": "2025-04-01"}],
        "entities": [_entity(META, "Meta"), _entity(META_P, "Meta Platforms"), _entity(LLAMA, "Llama"),
                     _entity(OPENAI, "OpenAI"), _entity(MIT, "MIT License")],
        "mentions": [_mention(META, 0, "Meta"), _mention(META_P, 10, "Meta Platforms"), _mention(LLAMA, 30, "Llama"),
                     _mention(OPENAI, 40, "OpenAI")],
        "events": [_event(RELEASE, "model_release"), _event(STATEMENT, "statement")],
        "event_participants": [
            {"event_id": RELEASE, "entity_id": META, "role": "agent"},
            {"event_id": RELEASE, "entity_id": META_P, "role": "agent"},
            {"event_id": RELEASE, "entity_id": LLAMA, "role": "object"},
            {"event_id": STATEMENT, "entity_id": OPENAI, "role": "agent"},
        ],
        "event_evidence": [
            {"event_id": RELEASE, "source_id": SRC, "start": 0, "end": 35, "quote": "q", "date_text": None,
             "method": "parse", "confidence": 0.9},
            {"event_id": STATEMENT, "source_id": SRC, "start": 40, "end": 60, "quote": "q", "date_text": None,
             "method": "rule", "confidence": 0.5},
        ],
        "models": [{"model_id": LLAMA, "name": "Llama", "developer_id": META, "openness": "open_weights",
                    "license_id": MIT, "first_release_date": "2025-04", "developer_sources": SRC,
                    "openness_sources": SRC, "license_sources": SRC, "release_sources": SRC}],
    }


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corrections.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _apply(tmp_path: Path, tables: dict[str, list[dict[str, Any]]], text: str) -> dict[str, list[dict[str, Any]]]:
    return apply_corrections(tables, load_corrections(_write(tmp_path, text)))


def _ids(rows: list[dict[str, Any]], *fields: str) -> set[tuple[Any, ...]]:
    return {tuple(row[f] for f in fields) for row in rows}


def _load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(CorrectionError) as info:
        load_corrections(_write(tmp_path, text))
    return str(info.value)


# --- shipped file and defaults --------------------------------------------------------


def test_shipped_file_loads_as_empty_list():
    assert (paths.CURATION / "corrections.yaml").is_file()
    assert load_corrections() == []


def test_missing_file_means_no_corrections(tmp_path):
    assert load_corrections(tmp_path / "absent.yaml") == []


# --- actions ----------------------------------------------------------------------------


def test_drop_entity_cascades_along_foreign_keys(tmp_path, tables):
    before = copy.deepcopy(tables)
    out = _apply(tmp_path, tables, f"""
        corrections:
          - table: entities
            key: {{entity_id: "{META}"}}
            action: drop
            reason: not a separate company
          - table: entities
            key: {{entity_id: "{LLAMA}"}}
            action: drop
            reason: not a model
        """)
    assert tables == before, "inputs must not be mutated"
    assert _ids(out["entities"], "entity_id") == {(META_P,), (OPENAI,), (MIT,)}
    assert {m["entity_id"] for m in out["mentions"]} == {META_P, OPENAI}
    assert _ids(out["event_participants"], "entity_id") == {(META_P,), (OPENAI,)}
    assert out["models"] == []
    assert len(out["events"]) == 2 and len(out["event_evidence"]) == 2


def test_drop_developer_clears_reference_and_its_sources(tmp_path, tables):
    out = _apply(tmp_path, tables, f"""
        corrections:
          - {{table: entities, key: {{entity_id: "{META}"}}, action: drop, reason: wrong}}
          - {{table: entities, key: {{entity_id: "{MIT}"}}, action: drop, reason: wrong}}
        """)
    (model,) = out["models"]
    assert model["developer_id"] is None and model["developer_sources"] is None
    assert model["license_id"] is None and model["license_sources"] is None
    assert model["openness_sources"] == SRC


def test_drop_event_drops_participants_and_evidence(tmp_path, tables):
    out = _apply(tmp_path, tables, f"""
        corrections:
          - {{table: events, key: {{event_id: {RELEASE}}}, action: drop, reason: not a release}}
        """)
    assert _ids(out["events"], "event_id") == {(STATEMENT,)}
    assert _ids(out["event_participants"], "event_id") == {(STATEMENT,)}
    assert _ids(out["event_evidence"], "event_id") == {(STATEMENT,)}
    assert len(out["entities"]) == 5 and len(out["mentions"]) == 4


def test_drop_mention_removes_that_row_only(tmp_path, tables):
    out = _apply(tmp_path, tables, f"""
        corrections:
          - table: mentions
            key: {{mention_id: "{SRC}:40-46"}}
            action: drop
            reason: GiNZA tagged a job title as a person
        """)
    assert [m["mention_id"] for m in out["mentions"]] == [f"{SRC}:0-4", f"{SRC}:10-24", f"{SRC}:30-35"]
    assert len(out["entities"]) == 5


def test_set_changes_fields_and_marks_curated(tmp_path, tables):
    out = _apply(tmp_path, tables, f"""
        corrections:
          - table: entities
            key: {{entity_id: "{OPENAI}"}}
            action: set
            set: {{name: "OpenAI, Inc.", name_ja: オープンエーアイ}}
            reason: official name
          - table: event_evidence
            key: {{event_id: {RELEASE}, source_id: {SRC}, start: 0}}
            action: set
            set: {{date_text: 4月, confidence: 1}}
            reason: date expression missed
          - table: event_evidence
            key: {{event_id: {STATEMENT}, source_id: {SRC}, start: "40"}}
            action: set
            set: {{quote: better}}
            reason: keys compare as strings
          - table: events
            key: {{event_id: {STATEMENT}}}
            action: set
            set: {{date: 2025-04-02, date_start: 2025-04-02, date_end: "2025-04-02", date_precision: day}}
            reason: the article dates it
        """)
    openai = next(e for e in out["entities"] if e["entity_id"] == OPENAI)
    assert openai == {**_entity(OPENAI, "OpenAI, Inc."), "name_ja": "オープンエーアイ", "method": "curated"}
    assert next(e for e in out["entities"] if e["entity_id"] == META)["method"] == "registry"
    evidence = {row["event_id"]: row for row in out["event_evidence"]}
    assert evidence[RELEASE]["date_text"] == "4月" and evidence[RELEASE]["confidence"] == 1
    assert evidence[RELEASE]["method"] == evidence[STATEMENT]["method"] == "curated"
    assert evidence[STATEMENT]["quote"] == "better"
    event = next(e for e in out["events"] if e["event_id"] == STATEMENT)
    assert event["date"] == "2025-04-02"  # a string column stays a string
    assert event["date_start"] == event["date_end"] == datetime.date(2025, 4, 2)
    assert "method" not in event


def test_add_fills_missing_optional_fields_and_marks_curated(tmp_path, tables):
    out = _apply(tmp_path, tables, f"""
        corrections:
          - table: mentions
            action: add
            row: {{mention_id: "{SRC}:50-56", source_id: {SRC}, entity_id: "{OPENAI}", start: 50, end: 56, surface: OpenAI}}
            reason: registry misses this spelling
          - table: entities
            action: add
            row: {{entity_id: "person:sam-altman", type: person, name: Sam Altman}}
            reason: missed by NER
        """)
    assert out["mentions"][-1] == {**_mention(OPENAI, 50, "OpenAI"), "method": "curated"}
    assert out["entities"][-1] == {**_entity("person:sam-altman", "Sam Altman"), "method": "curated"}
    assert len(tables["mentions"]) == 4


def test_add_of_an_existing_row_fails(tmp_path, tables):
    with pytest.raises(CorrectionError, match=r"entry 1: .*already exists"):
        _apply(tmp_path, tables, f"""
            corrections:
              - table: entities
                action: add
                row: {{entity_id: "{OPENAI}", type: organization, name: OpenAI}}
                reason: duplicate
            """)


MERGE_META = f"""
    corrections:
      - table: entities
        key: {{entity_id: "{META}"}}
        action: merge
        into: "{META_P}"
        reason: same company
    """


def test_merge_moves_references_and_collapses_duplicates(tmp_path, tables):
    out = _apply(tmp_path, tables, MERGE_META)
    assert META not in {e["entity_id"] for e in out["entities"]}
    moved = next(m for m in out["mentions"] if m["mention_id"] == f"{SRC}:0-4")
    assert moved["entity_id"] == META_P and moved["method"] == "curated"
    untouched = next(m for m in out["mentions"] if m["mention_id"] == f"{SRC}:30-35")
    assert untouched["method"] == "ner"
    agents = [p for p in out["event_participants"] if p["event_id"] == RELEASE and p["role"] == "agent"]
    assert agents == [{"event_id": RELEASE, "entity_id": META_P, "role": "agent"}]
    assert len(out["event_participants"]) == 3
    assert out["models"][0]["developer_id"] == META_P
    assert next(e for e in tables["mentions"] if e["mention_id"] == f"{SRC}:0-4")["entity_id"] == META


def test_merge_collapses_models_keeping_the_targets_row(tmp_path, tables):
    tables["entities"].append(_entity("model:llama-3", "Llama 3"))
    tables["models"].append({**tables["models"][0], "model_id": "model:llama-3", "name": "Llama 3"})
    out = _apply(tmp_path, tables, """
        corrections:
          - {table: entities, key: {entity_id: "model:llama"}, action: merge, into: "model:llama-3", reason: same}
        """)
    assert [(m["model_id"], m["name"]) for m in out["models"]] == [("model:llama-3", "Llama 3")]


def test_entries_apply_in_file_order(tmp_path, tables):
    out = _apply(tmp_path, tables, f"""
        corrections:
          - {{table: entities, key: {{entity_id: "{META}"}}, action: merge, into: "{META_P}", reason: same}}
          - {{table: entities, key: {{entity_id: "{META_P}"}}, action: set, set: {{name: Meta}}, reason: short}}
        """)
    assert next(e for e in out["entities"] if e["entity_id"] == META_P)["name"] == "Meta"


# --- stale entries ----------------------------------------------------------------------


def test_every_stale_entry_is_reported(tmp_path, tables):
    text = f"""
        corrections:
          - {{table: mentions, key: {{mention_id: "{SRC}:0-4"}}, action: drop, reason: fine}}
          - {{table: mentions, key: {{mention_id: "{SRC}:99-100"}}, action: drop, reason: stale}}
          - {{table: entities, key: {{entity_id: "person:nobody"}}, action: set, set: {{name: X}}, reason: stale}}
          - {{table: entities, key: {{entity_id: "{META}"}}, action: merge, into: "organization:gone", reason: stale}}
          - {{table: mentions, key: {{mention_id: "{SRC}:0-4"}}, action: drop, reason: already dropped by entry 1}}
        """
    with pytest.raises(CorrectionError) as info:
        _apply(tmp_path, tables, text)
    message = str(info.value)
    assert "entry 1:" not in message
    assert f"entry 2: mentions {{mention_id: '{SRC}:99-100'}}: matches no row: remove or update this correction" in message
    assert "entry 3: entities {entity_id: 'person:nobody'}: matches no row" in message
    assert "entry 4: " in message and "merge target 'organization:gone' matches no row" in message
    assert "entry 5: " in message
    assert info.value.problems and len(info.value.problems) == 4


# --- load-time validation ---------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(tmp_path):
    message = _load_error(tmp_path, "corrections:\n  - table: entities\n    key: {entity_id: [\n")
    assert "corrections.yaml:4" in message and "YAML syntax error" in message


@pytest.mark.parametrize("text", ["", "- table: entities\n", "corrections: {}\n", "correction: []\n"])
def test_document_must_hold_a_corrections_list(tmp_path, text):
    assert "must be a mapping with a `corrections` list" in _load_error(tmp_path, text)


def test_unknown_top_level_key(tmp_path):
    assert "top level: extra: unknown key" in _load_error(tmp_path, "corrections: []\nextra: 1\n")


BAD_ENTRIES = [
    ("table: nonsense\nkey: {x: 1}\naction: drop\nreason: r", "table", "unknown table 'nonsense'"),
    ("table: entities\nkey: {entity_id: a:b}\naction: delete\nreason: r", "action", "unknown action 'delete'"),
    ("table: entities\nkey: {entity_id: a:b}\naction: drop", "reason", "required"),
    ("table: entities\nkey: {entity_id: a:b}\naction: drop\nreason: '  '", "reason", "required"),
    ("table: entities\naction: drop\nreason: r", "key", "required for action drop"),
    ("table: entities\nkey: {name: x}\naction: drop\nreason: r", "key", "exactly the primary key fields entity_id"),
    ("table: event_evidence\nkey: {event_id: e, source_id: s}\naction: drop\nreason: r", "key",
     "exactly the primary key fields event_id, source_id, start"),
    ("table: entities\nkey: {entity_id: null}\naction: drop\nreason: r", "key.entity_id", "non-empty"),
    ("table: entities\nkey: a:b\naction: drop\nreason: r", "key", "must be a mapping"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nset: {colour: red}\nreason: r", "set.colour",
     "not a field of this table"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nset: {entity_id: c:d}\nreason: r", "set.entity_id",
     "primary key field"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nset: {method: ner}\nreason: r", "set.method",
     "set to curated automatically"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nset: {}\nreason: r", "set", "non-empty mapping"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nreason: r", "set", "required for action set"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nset: {name: null}\nreason: r", "set.name",
     "cannot be empty"),
    ("table: mentions\nkey: {mention_id: a:1-2}\naction: set\nset: {start: one}\nreason: r", "set.start",
     "must be an integer"),
    ("table: entities\nkey: {entity_id: a:b}\naction: set\nset: {name: yes}\nreason: r", "set.name", "quote it"),
    ("table: events\nkey: {event_id: e}\naction: set\nset: {date_start: soon}\nreason: r", "set.date_start",
     "ISO date"),
    ("table: entities\naction: add\nrow: {entity_id: a:b, type: person, name: A, colour: red}\nreason: r",
     "row.colour", "not a field"),
    ("table: entities\naction: add\nrow: {type: person, name: A}\nreason: r", "row.entity_id",
     "required field missing (primary key field)"),
    ("table: entities\naction: add\nrow: {entity_id: a:b, type: person}\nreason: r", "row.name",
     "required field missing"),
    ("table: entities\naction: add\nrow: [a]\nreason: r", "row", "must be a mapping"),
    ("table: entities\nkey: {entity_id: a:b}\naction: add\nrow: {entity_id: a:b, type: person, name: A}\nreason: r",
     "key", "not used by action add"),
    ("table: mentions\nkey: {mention_id: a:1-2}\naction: merge\ninto: b\nreason: r", "table",
     "entities table only"),
    ("table: entities\nkey: {entity_id: a:b}\naction: merge\nreason: r", "into", "required for action merge"),
    ("table: entities\nkey: {entity_id: a:b}\naction: merge\ninto: a:b\nreason: r", "into", "itself"),
    ("table: entities\nkey: {entity_id: a:b}\naction: drop\ninto: c:d\nreason: r", "into", "not used by action drop"),
    ("table: entities\nkey: {entity_id: a:b}\naction: drop\nreason: r\nnote: x", "note", "unknown field"),
    ("just a string", "entry", "must be a mapping"),
]


@pytest.mark.parametrize(("entry", "field", "what"), BAD_ENTRIES)
def test_each_load_fault_names_entry_and_field(tmp_path, entry, field, what):
    good = "table: entities\nkey: {entity_id: a:b}\naction: drop\nreason: fine"
    body = "".join("  - " + textwrap.indent(e, "    ").lstrip() + "\n" for e in (good, entry))
    message = _load_error(tmp_path, "corrections:\n" + body)
    assert f"corrections.yaml: entry 2: {field}: " in message
    assert what in message.split(f"entry 2: {field}: ", 1)[1]
    assert "entry 1" not in message


def test_all_faults_are_listed_together(tmp_path):
    message = _load_error(tmp_path, """
        corrections:
          - {table: nonsense, key: {x: 1}, action: drop, reason: r}
          - {table: entities, key: {entity_id: a:b}, action: drop}
          - {table: entities, key: {entity_id: a:b}, action: explode, reason: r}
        """)
    assert "entry 1: table:" in message and "entry 2: reason:" in message and "entry 3: action:" in message
    assert message.startswith("3 problem(s)")


def test_loaded_entries_carry_number_key_and_values(tmp_path):
    (drop, add) = load_corrections(_write(tmp_path, f"""
        corrections:
          - {{table: event_evidence, key: {{event_id: e, source_id: s, start: 120}}, action: drop, reason: " why "}}
          - table: mentions
            action: add
            row: {{mention_id: "{SRC}:1-5", source_id: {SRC}, entity_id: "{OPENAI}", start: 1, end: 5, surface: Open}}
            reason: r
        """))
    assert (drop.index, drop.table, drop.action, drop.key, drop.reason) == (
        1, "event_evidence", "drop", {"event_id": "e", "source_id": "s", "start": 120}, "why")
    assert add.index == 2 and add.key == {"mention_id": f"{SRC}:1-5"} and add.into is None
    assert set(add.values) == {"mention_id", "source_id", "entity_id", "start", "end", "surface"}


def test_rendered_mentions_pass_through_unless_an_entry_reaches_them(tmp_path, tables):
    """Extraction hands mentions over as rendered runs: an entry no cascade takes to
    mentions leaves them as they are; a merge of an entity rewrites them as rows."""
    from pipeline.tables import RenderedTable, load_schema, render_run

    rendered = {**tables, "mentions": RenderedTable([render_run(tables["mentions"], load_schema("mentions"))])}
    kept = _apply(tmp_path, rendered, f"""
        corrections:
          - table: events
            key: {{event_id: "{STATEMENT}"}}
            action: set
            set: {{summary: "Meta spoke."}}
            reason: clearer
        """)
    assert kept["mentions"] is rendered["mentions"]
    merged = _apply(tmp_path, rendered, MERGE_META)
    moved = next(m for m in merged["mentions"] if m["mention_id"] == f"{SRC}:0-4")
    assert moved["entity_id"] == META_P and moved["method"] == "curated"
    assert len(merged["mentions"]) == len(tables["mentions"])
