"""Properties: the id slugger for any text, and a CSV round-trip of every table.

Rows are generated from each Table Schema's own types and constraints (enum, pattern,
minimum/maximum, required), so a schema change is exercised without editing this file.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ids import entity_id, slug
from pipeline.paths import TABLES
from pipeline.tables import OrderedRows, RenderedRun, RenderedTable, Spool, _sort_key, format_value, load_schema, read_table, render_csv, render_run, write_table

ID_PATTERN = re.compile(load_schema("entities")["fields"][0]["constraints"]["pattern"])
PROPS = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow], database=None)
NAMES = st.text(max_size=30) | st.sampled_from(["Tülu 3", "辻\U000e0100", "Clément Delangue", "ß", "Ωmega", "サム・アルトマン", "ＧＰＴ－４", "Привет", "😀", "한국", "", "!!!"])


@PROPS
@given(NAMES)
def test_slug_is_idempotent_and_a_valid_id(name):
    once = slug(name)
    assert slug(once) == once
    assert ID_PATTERN.fullmatch(entity_id("model", name)), entity_id("model", name)


def test_a_variation_selector_picks_a_glyph_not_another_id():
    """辻 with an ideographic variation selector (two-dot 辻) is the same name: pykakasi
    fails on the selector, so it is dropped before romanizing."""
    assert slug("辻\U000e0100") == slug("辻") == "tsuji"
    assert slug("\U000e0100").startswith("x-") and slug("葛\ufe00城") == slug("葛城")


def test_slug_folds_latin_accents():
    assert slug("Tülu 3") == "tulu-3"
    assert slug("Clément Delangue") == "clement-delangue"
    assert slug("Straße") == "strasse"


JAPANESE = st.text(st.sampled_from("リアン・ジアデビッドニコルソンーァィゥェォッャュョヴ雨輝研究所東京大学田中太郎髙﨑辻あいうえおんゃっABC 1-"), max_size=14)


@PROPS
@given(JAPANESE | st.sampled_from(["リアン・ジア", "雨輝ITラボ", "東京大学", "髙橋", "レイチェル・クラーク", "ヴィクトール"]))
def test_romanizing_is_pykakasis_own_conversion(text):
    """`ids.romanize` reads pykakasi's kanji dictionary on first use rather than at
    start; what it returns must be what the stock converter returns."""
    import pykakasi

    from pipeline.ids import romanize

    assert romanize(text) == " ".join(part["hepburn"] for part in pykakasi.kakasi().convert(text))


def test_names_in_kana_alone_never_read_the_kanji_dictionary():
    import subprocess
    import sys

    probe = (
        "from pykakasi.kanji import Kanwa\n"
        "from pipeline.ids import romanize\n"
        "assert romanize('レイチェル・クラーク') == 'reicheru・kuraaku', romanize('レイチェル・クラーク')\n"
        "print(Kanwa._shared_state['_jisyo_table'] is None)\n"
        "assert romanize('雨輝') == 'ame teru', romanize('雨輝')\n"
        "print(Kanwa._shared_state['_jisyo_table'] is None)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


def field_values(field: dict) -> st.SearchStrategy:
    """Values one Table Schema field accepts, from its type and constraints."""
    c = field.get("constraints", {})
    kind = field.get("type", "string")
    if "enum" in c:
        values = st.sampled_from(c["enum"])
    elif "pattern" in c:
        values = st.from_regex(c["pattern"], fullmatch=True)
    elif kind == "integer":
        values = st.integers(min_value=c.get("minimum", -(2**53)), max_value=c.get("maximum", 2**53))
    elif kind == "number":
        values = st.floats(min_value=c.get("minimum"), max_value=c.get("maximum"), allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        values = st.booleans()
    elif kind == "date":
        values = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2999, 12, 31))
    else:
        # no NUL or CR: tables.render_csv leaves a lone CR unquoted (reported; the validator rejects any CR)
        values = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), min_size=1, max_size=40)
    return values if c.get("required") else st.none() | values


def table_rows(name: str) -> st.SearchStrategy:
    schema = load_schema(name)
    row = st.fixed_dictionaries({f["name"]: field_values(f) for f in schema["fields"]})
    return st.lists(row, max_size=5)


@pytest.mark.parametrize("name", TABLES)
def test_csv_round_trip(name):
    schema = load_schema(name)
    names = [f["name"] for f in schema["fields"]]

    @settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(table_rows(name))
    def round_trip(rows):
        with tempfile.TemporaryDirectory(prefix="aoe-props-") as tmp:
            path = Path(tmp) / f"{name}.csv"
            write_table(path, rows, schema)
            frame = read_table(path)
            assert list(frame.columns) == names
            back = [{k: ("" if v is None or v != v else v) for k, v in r.items()} for r in frame.to_dict("records")]
            wanted = sorted(([format_value(r[n]) for n in names] for r in rows))
            assert sorted([r[n] for n in names] for r in back) == wanted
            assert render_csv(back, schema) == path.read_text(encoding="utf-8")  # written again: the same bytes

    round_trip()


@pytest.mark.parametrize("name", TABLES)
def test_rendered_runs_write_the_table_render_csv_writes(name):
    """A table made of rendered runs (how an article's mentions reach the file) is the
    same bytes as its rows rendered together: joined when the runs' key ranges follow
    each other, rendered from its rows (read back from the runs) when they do not."""
    schema = load_schema(name)
    key = _sort_key(schema)

    @settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(table_rows(name), st.lists(st.integers(0, 5), max_size=4), st.booleans(), st.booleans())
    def same_bytes(rows, cuts, in_key_order, spooled):
        rows = list({key(r): r for r in reversed(rows)}.values())  # one row per primary key, as in a valid table
        if in_key_order:
            rows.sort(key=key)
        bounds = [0, *sorted(c for c in cuts if c <= len(rows)), len(rows)]
        runs = [render_run(rows[a:b], schema) for a, b in zip(bounds, bounds[1:])]
        if spooled:  # as the merge keeps them: on disk until written
            spool = Spool()
            runs = [spool.keep(run) for run in runs]
        table = RenderedTable(runs)
        assert len(table) == len(rows)
        assert render_csv(table, schema) == render_csv(rows, schema)
        assert render_csv(list(table), schema) == render_csv(rows, schema)  # rows read back from the runs
        with tempfile.TemporaryDirectory(prefix="aoe-props-") as tmp:
            write_table(Path(tmp) / "t.csv", table, schema)  # written a run at a time: the same bytes
            assert (Path(tmp) / "t.csv").read_bytes() == render_csv(rows, schema).encode("utf-8")
        if in_key_order:
            assert table.in_order(schema) is not None  # consecutive runs of the sorted table: joined

    same_bytes()


@pytest.mark.parametrize("name", TABLES)
def test_rows_made_as_they_are_written_write_what_render_csv_writes(name):
    """How the event tables reach their files: made in key order as they are written
    (`OrderedRows`), the bytes `render_csv` gives the same rows in any order."""
    schema = load_schema(name)
    key = _sort_key(schema)

    @settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(table_rows(name))
    def same_bytes(rows):
        rows = list({key(r): r for r in rows}.values())  # one row per primary key, as in a valid table
        ordered = sorted(rows, key=key)
        made = OrderedRows(iter, (ordered,), len(ordered))
        assert render_csv(made, schema) == render_csv(rows, schema)
        with tempfile.TemporaryDirectory(prefix="aoe-props-") as tmp:
            write_table(Path(tmp) / "t.csv", made, schema)
            assert (Path(tmp) / "t.csv").read_bytes() == render_csv(rows, schema).encode("utf-8")
        assert list(made) == list(made) == ordered  # made again each time it is read
        assert copy.deepcopy(made) is made and pickle.loads(pickle.dumps(made)) == ordered

    same_bytes()


def test_rows_made_out_of_key_order_or_count_are_refused():
    schema = load_schema("event_participants")
    a = {"event_id": "e-1", "entity_id": "model:a", "role": "object"}
    b = {"event_id": "e-1", "entity_id": "model:b", "role": "object"}
    for rows, count, message in [([b, a], 2, "comes after"), ([a, a], 2, "comes after"), ([a, b], 3, "2 rows made, 3 announced")]:
        with pytest.raises(ValueError, match=message):
            render_csv(OrderedRows(iter, (rows,), count), schema)


def test_a_spooled_run_reads_back_what_was_kept_and_pickles_as_its_rows():
    schema = load_schema("mentions")
    rows = [
        {"mention_id": f"a:{i}-{i + 2}", "source_id": "a", "entity_id": "model:x", "start": i, "end": i + 2, "surface": "ジェミニ,\"x\"", "method": "rule"}
        for i in range(3)
    ]
    kept = [render_run(rows[:1], schema), render_run(rows[1:], schema)]
    spool = Spool()
    spooled = [spool.keep(run) for run in kept]
    for run, back in zip(kept, spooled):
        assert (back.text, back.data(), back.rows(), len(back)) == (run.text, run.data(), run.rows(), len(run))
        assert copy.deepcopy(back) is back  # read-only: a deep copy of a table shares it
        thawed = pickle.loads(pickle.dumps(back))  # to another process: the rows themselves
        assert type(thawed) is RenderedRun and thawed == run


def test_runs_rendered_for_another_layout_are_rendered_again():
    schema = load_schema("mentions")
    rows = [{"mention_id": "a:0-2", "source_id": "a", "entity_id": "model:x", "start": 0, "end": 2, "surface": "xy", "method": "rule"}]
    moved = {**schema, "fields": [schema["fields"][1], schema["fields"][0], *schema["fields"][2:]]}
    table = RenderedTable([render_run(rows, moved)])
    assert table.in_order(schema) is None
    assert render_csv(table, schema) == render_csv(rows, schema)
