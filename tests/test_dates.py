"""Tests for pipeline.dates: expected values are written by hand from the calendar."""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dates import PRECISIONS, UNKNOWN, DateMention, DateValue, find_dates, parse_edtf

D = datetime.date
ANCHOR = "2025-08-21"


def case(text: str, surface: str | None, edtf: str = "", start: D | None = None,
         end: D | None = None, precision: str = "unknown", anchor: str = ANCHOR) -> object:
    """One row: the last mention found in `text` must be `surface` with this value."""
    return pytest.param(text, surface, DateValue(edtf, start, end, precision), anchor, id=text)


TABLE = [
    # absolute forms
    case("2025年8月5日", "2025年8月5日", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("2025年8月", "2025年8月", "2025-08", D(2025, 8, 1), D(2025, 8, 31), "month"),
    case("2025年", "2025年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("8月5日に", "8月5日", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("8月に", "8月", "2025-08", D(2025, 8, 1), D(2025, 8, 31), "month"),
    case("2月に", "2月", "2024-02", D(2024, 2, 1), D(2024, 2, 29), "month", anchor="2024-06-01"),
    case("公開日は2025/8/5。", "2025/8/5", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("公開日は2025-08-05。", "2025-08-05", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("公開日は2025.8.5。", "2025.8.5", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("２０２５年８月５日", "２０２５年８月５日", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("二〇二五年八月五日", "二〇二五年八月五日", "2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("二千二十五年", "二千二十五年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("十二月", "十二月", "2025-12", D(2025, 12, 1), D(2025, 12, 31), "month"),
    case("令和7年", "令和7年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("令和元年", "令和元年", "2019", D(2019, 1, 1), D(2019, 12, 31), "year"),
    case("平成31年4月30日", "平成31年4月30日", "2019-04-30", D(2019, 4, 30), D(2019, 4, 30), "day"),
    case("平成元年", "平成元年", "1989", D(1989, 1, 1), D(1989, 12, 31), "year"),
    case("2024年2月29日", "2024年2月29日", "2024-02-29", D(2024, 2, 29), D(2024, 2, 29), "day"),
    # sub-year periods
    case("2025年初頭に", "2025年初頭", "2025-33", D(2025, 1, 1), D(2025, 3, 31), "season"),
    case("2025年初めに", "2025年初め", "2025-33", D(2025, 1, 1), D(2025, 3, 31), "season"),
    case("2025年前半", "2025年前半", "2025-40", D(2025, 1, 1), D(2025, 6, 30), "season"),
    case("2025年後半", "2025年後半", "2025-41", D(2025, 7, 1), D(2025, 12, 31), "season"),
    case("2025年末まで", "2025年末", "2025-36", D(2025, 10, 1), D(2025, 12, 31), "season"),
    case("2025年春", "2025年春", "2025-21", D(2025, 3, 1), D(2025, 5, 31), "season"),
    case("2025年夏", "2025年夏", "2025-22", D(2025, 6, 1), D(2025, 8, 31), "season"),
    case("2025年秋", "2025年秋", "2025-23", D(2025, 9, 1), D(2025, 11, 30), "season"),
    case("2025年冬", "2025年冬", "2025-24", D(2025, 12, 1), D(2026, 2, 28), "season"),
    case("2027年冬", "2027年冬", "2027-24", D(2027, 12, 1), D(2028, 2, 29), "season"),
    case("8月上旬", "8月上旬", "2025-08-01/2025-08-10", D(2025, 8, 1), D(2025, 8, 10), "month"),
    case("8月中旬", "8月中旬", "2025-08-11/2025-08-20", D(2025, 8, 11), D(2025, 8, 20), "month"),
    case("2025年2月下旬", "2025年2月下旬", "2025-02-21/2025-02-28", D(2025, 2, 21), D(2025, 2, 28), "month"),
    case("2000年代", "2000年代", "200X", D(2000, 1, 1), D(2009, 12, 31), "decade"),
    case("2010年代後半", "2010年代後半", "2015/2019", D(2015, 1, 1), D(2019, 12, 31), "year"),
    case("2025年ごろ", "2025年ごろ", "2025~", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("2025年頃", "2025年頃", "2025~", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("2025年前後", "2025年前後", "2025~", D(2025, 1, 1), D(2025, 12, 31), "year"),
    # relative to the anchor
    case("昨年", "昨年", "2024", D(2024, 1, 1), D(2024, 12, 31), "year"),
    case("去年", "去年", "2024", D(2024, 1, 1), D(2024, 12, 31), "year"),
    case("今年", "今年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("本年", "本年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("来年", "来年", "2026", D(2026, 1, 1), D(2026, 12, 31), "year"),
    case("昨年末", "昨年末", "2024-36", D(2024, 10, 1), D(2024, 12, 31), "season"),
    case("今年春", "今年春", "2025-21", D(2025, 3, 1), D(2025, 5, 31), "season"),
    case("来年初頭", "来年初頭", "2026-33", D(2026, 1, 1), D(2026, 3, 31), "season"),
    case("今夏", "今夏", "2025-22", D(2025, 6, 1), D(2025, 8, 31), "season"),
    case("昨夏", "昨夏", "2024-22", D(2024, 6, 1), D(2024, 8, 31), "season"),
    case("今春", "今春", "2025-21", D(2025, 3, 1), D(2025, 5, 31), "season"),
    case("来春", "来春", "2026-21", D(2026, 3, 1), D(2026, 5, 31), "season"),
    case("今秋", "今秋", "2025-23", D(2025, 9, 1), D(2025, 11, 30), "season"),
    case("今冬", "今冬", "2025-24", D(2025, 12, 1), D(2026, 2, 28), "season"),
    case("今冬", "今冬", "2024-24", D(2024, 12, 1), D(2025, 2, 28), "season", anchor="2025-01-15"),
    case("昨年", "昨年", "2024", D(2024, 1, 1), D(2024, 12, 31), "year", anchor="2025"),
    # relative to the context
    case("2019年に設立。同年", "同年", "2019", D(2019, 1, 1), D(2019, 12, 31), "year"),
    case("2019年に設立。同年春", "同年春", "2019-21", D(2019, 3, 1), D(2019, 5, 31), "season"),
    case("2019年に設立。同年8月", "同年8月", "2019-08", D(2019, 8, 1), D(2019, 8, 31), "month"),
    case("2019年5月に発表。同月", "同月", "2019-05", D(2019, 5, 1), D(2019, 5, 31), "month"),
    case("2019年5月に発表。同月10日", "同月10日", "2019-05-10", D(2019, 5, 10), D(2019, 5, 10), "day"),
    case("2019年5月3日に発表。同日", "同日", "2019-05-03", D(2019, 5, 3), D(2019, 5, 3), "day"),
    case("2020年にA。前年", "前年", "2019", D(2019, 1, 1), D(2019, 12, 31), "year"),
    case("2020年にA。翌年", "翌年", "2021", D(2021, 1, 1), D(2021, 12, 31), "year"),
    case("同年", "同年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("前年", "前年", "2024", D(2024, 1, 1), D(2024, 12, 31), "year"),
    case("同日", "同日", "2025-08-21", D(2025, 8, 21), D(2025, 8, 21), "day"),
    case("同月", "同月", anchor="2025"),
    case("8月5日", "8月5日", anchor="200X"),
    # invalid calendar dates: day falls back to the month, ISO-like is not matched
    case("2025年2月30日", "2025年2月", "2025-02", D(2025, 2, 1), D(2025, 2, 28), "month"),
    case("2025年13月", "2025年", "2025", D(2025, 1, 1), D(2025, 12, 31), "year"),
    case("2025/2/30", None),
    # must not match
    case("年間70〜80億ドルの損失", None),
    case("数ヶ月以内に", None),
    case("3年間", None),
    case("3年", None),
    case("3か月後", None),
    case("10億ドル", None),
    case("300億ドル", None),
    case("2種類", None),
    case("GPT-2", None),
    case("gpt-oss-120b", None),
    case("1. セキュリティ", None),
    case("前年比20%増", None),
    case("今年度の予算", None),
    case("同年代の研究者", None),
    case("千年", None),
    # real sentences from the corpus
    case("2025年8月5日(現地時間)、OpenAIは大規模言語モデル", "2025年8月5日", "2025-08-05",
         D(2025, 8, 5), D(2025, 8, 5), "day"),
    case("中国のDeepSeekは2025年初頭にオープンウエートなLLM", "2025年初頭", "2025-33",
         D(2025, 1, 1), D(2025, 3, 31), "season"),
    case("gpt-oss-20bの公開に先立つ2025年7月30日(現地時間)、Meta Platforms", "2025年7月30日",
         "2025-07-30", D(2025, 7, 30), D(2025, 7, 30), "day"),
    case("『LlamaCon』が次回開催される2025年9月までに、OpenAIが", "2025年9月", "2025-09",
         D(2025, 9, 1), D(2025, 9, 30), "month"),
    case("OpenAIが2019年のGPT-2以来初めて", "2019年", "2019", D(2019, 1, 1), D(2019, 12, 31), "year",
         anchor="2025-04-01"),
    case("OpenAIは2015年、非営利団体として設立され", "2015年", "2015", D(2015, 1, 1), D(2015, 12, 31),
         "year", anchor="2025-04-01"),
    case("10億ドルの投資を受け、2023年にはついに500億ドル規模", "2023年", "2023", D(2023, 1, 1),
         D(2023, 12, 31), "year", anchor="2025-04-01"),
    case("2025年4月1日、OpenAIのCEO、Sam Altmanは", "2025年4月1日", "2025-04-01", D(2025, 4, 1),
         D(2025, 4, 1), "day", anchor="2025-04-01"),
]


@pytest.mark.parametrize(("text", "surface", "expected", "anchor"), TABLE)
def test_table(text: str, surface: str | None, expected: DateValue, anchor: str) -> None:
    mentions = find_dates(text, parse_edtf(anchor))
    if surface is None:
        assert mentions == []
        return
    last = mentions[-1]
    assert last.text == surface == text[last.start:last.end]
    assert last.value == expected


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("2025年8月5日(現地時間)、OpenAIは", [(0, 9)]),
        ("2025年8月5日（現地時間）、OpenAIは", [(0, 9)]),
        ("開に先立つ2025年7月30日(現地時間)、M", [(5, 15)]),
        ("開催される2025年9月までに、Open", [(5, 12)]),
        ("OpenAIが2019年のGPT-2以来", [(7, 12)]),
        ("2019年、OpenAIはGPT-2を開発。GPT-3が2020年に登場", [(0, 5), (28, 33)]),
        ("年間70〜80億ドルの損失。2015年、設立。gpt-oss-120bを公開", [(14, 19)]),
    ],
)
def test_exact_spans(text: str, spans: list[tuple[int, int]]) -> None:
    assert [(m.start, m.end) for m in find_dates(text, parse_edtf(ANCHOR))] == spans


def test_context_chain_and_previous() -> None:
    text = "2019年5月に発表。同年秋に公開。翌年には同月10日に"
    values = [m.value.edtf for m in find_dates(text, parse_edtf(ANCHOR))]
    assert values == ["2019-05", "2019-23", "2020", "2019-05-10"]
    mentions = find_dates("同年8月に", parse_edtf(ANCHOR), previous=parse_edtf("2021-03-04"))
    assert mentions[0].value == DateValue("2021-08", D(2021, 8, 1), D(2021, 8, 31), "month")


def test_unknown_anchor_keeps_mention() -> None:
    mentions = find_dates("昨年、発表", UNKNOWN)
    assert mentions == [DateMention(0, 2, "昨年", UNKNOWN)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-08-05", DateValue("2025-08-05", D(2025, 8, 5), D(2025, 8, 5), "day")),
        ("2025-08", DateValue("2025-08", D(2025, 8, 1), D(2025, 8, 31), "month")),
        ("2025", DateValue("2025", D(2025, 1, 1), D(2025, 12, 31), "year")),
        ("2025-21", DateValue("2025-21", D(2025, 3, 1), D(2025, 5, 31), "season")),
        ("2023-24", DateValue("2023-24", D(2023, 12, 1), D(2024, 2, 29), "season")),
        ("2025-33", DateValue("2025-33", D(2025, 1, 1), D(2025, 3, 31), "season")),
        ("2025-36", DateValue("2025-36", D(2025, 10, 1), D(2025, 12, 31), "season")),
        ("2025-40", DateValue("2025-40", D(2025, 1, 1), D(2025, 6, 30), "season")),
        ("2025-41", DateValue("2025-41", D(2025, 7, 1), D(2025, 12, 31), "season")),
        ("200X", DateValue("200X", D(2000, 1, 1), D(2009, 12, 31), "decade")),
        ("2025~", DateValue("2025~", D(2025, 1, 1), D(2025, 12, 31), "year")),
        ("2025-01/2025-03", DateValue("2025-01/2025-03", D(2025, 1, 1), D(2025, 3, 31), "season")),
        ("2015/2019", DateValue("2015/2019", D(2015, 1, 1), D(2019, 12, 31), "year")),
    ],
)
def test_parse_edtf(value: str, expected: DateValue) -> None:
    assert parse_edtf(value) == expected


@pytest.mark.parametrize(
    "value",
    ["2025-13-01", "2025-02-30", "2025-02-29", "", "soon", "2025-02-29~", "2025-03/2025-01",
     "2025-25", "2025-42", "2025-08-XX", "0000", " 2025", "2025年", None],
)
def test_parse_edtf_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_edtf(value)


# --- properties --------------------------------------------------------------------

KANJI = "〇一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def kanji_positional(n: int) -> str:
    return "".join(KANJI[int(c)] for c in str(n))


def kanji_additive(n: int) -> str:
    """二千二十五 style: 1 is omitted before 十 百 千 (十二, not 一十二)."""
    out = ""
    for unit, name in ((1000, "千"), (100, "百"), (10, "十")):
        digit, n = divmod(n, unit)
        if digit:
            out += ("" if digit == 1 else KANJI[digit]) + name
    return out + (KANJI[n] if n else "")


# edtf's parser takes milliseconds a call, so the first examples of a run can pass
# hypothesis's default 200 ms deadline; the time is not what these tests measure.
slow = settings(deadline=None)
YEARS = st.integers(1000, 2999)
DATES = st.dates(D(1001, 1, 1), D(2999, 12, 31))  # 1000 in kanji is 千: read as a duration


@slow
@given(DATES, st.sampled_from(["arabic", "full", "positional", "additive"]))
def test_any_day_in_any_script(day: D, script: str) -> None:
    write = {
        "arabic": str,
        "full": lambda n: str(n).translate(FULL_WIDTH),
        "positional": kanji_positional,
        "additive": kanji_additive,
    }[script]
    text = f"{write(day.year)}年{write(day.month)}月{write(day.day)}日、"
    [mention] = find_dates(text, parse_edtf(ANCHOR))
    assert mention.text == text[:-1]
    assert mention.value == DateValue(day.isoformat(), day, day, "day")


@slow
@given(YEARS, st.integers(1, 12))
def test_year_and_month_bounds(year: int, month: int) -> None:
    for text in (f"{year}年", f"{year}年{month}月"):
        value = find_dates(text, parse_edtf(ANCHOR))[0].value
        assert value.start is not None and value.end is not None
        assert value.start <= value.end and value.start.day == 1
        assert (value.end + datetime.timedelta(days=1)).day == 1


FRAGMENTS = ["2025年8月5日", "同年", "同月", "同日", "前年", "翌年", "昨年末", "今冬", "8月上旬", "2010年代後半",
             "2000年代", "令和元年", "2025年ごろ", "3年間", "GPT-2", "、", "に", "年", "月", "日", "12", "2025",
             "二〇二〇", "春", "同", "(現地時間)", "来春", "翌春", "2月30日", "2024/2/29", "上旬", "前後"]


@slow
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12), DATES)
def test_mentions_round_trip(parts: list[str], anchor: D) -> None:
    text = "".join(parts)
    mentions = find_dates(text, parse_edtf(anchor.isoformat()))
    assert all(a.end <= b.start for a, b in zip(mentions, mentions[1:]))
    for m in mentions:
        assert text[m.start:m.end] == m.text and "現地時間" not in m.text
        assert m.value.precision in PRECISIONS
        if m.value.edtf:
            assert parse_edtf(m.value.edtf) == m.value


@slow
@given(YEARS, st.sampled_from(["21", "22", "23", "24", "33", "34", "35", "36", "40", "41"]))
def test_seasons_nest_in_year(year: int, code: str) -> None:
    value = parse_edtf(f"{year}-{code}")
    assert value.start is not None and value.end is not None
    assert D(year, 1, 1) <= value.start <= value.end
    if code == "24":
        assert value.start == D(year, 12, 1)
        assert value.end == D(year + 1, 3, 1) - datetime.timedelta(days=1)
    else:
        assert value.end <= D(year, 12, 31)


@slow
@given(st.text(alphabet="0123456789０１２年月日同前翌今昨来春冬代頃上旬初頭末/.-二〇十千令和元平成", max_size=30))
def test_never_crashes_and_spans_hold(text: str) -> None:
    for m in find_dates(text, parse_edtf(ANCHOR)):
        assert text[m.start:m.end] == m.text
        assert re.search(r"\S", m.text)


@given(st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(2999, 12, 31)), st.sampled_from(["day", "month", "year"]))
def test_calendar_fast_path_agrees_with_edtf(day, precision):
    """Plain calendar dates skip edtf's slow parser; their bounds must be edtf's."""
    import edtf

    from pipeline.dates import _calendar_bounds

    value = {"day": day.isoformat(), "month": day.isoformat()[:7], "year": day.isoformat()[:4]}[precision]
    parsed = edtf.parse_edtf(value)
    expected = (edtf.struct_time_to_date(parsed.lower_strict()), edtf.struct_time_to_date(parsed.upper_strict()))
    assert _calendar_bounds(value) == expected
