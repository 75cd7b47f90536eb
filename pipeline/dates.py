"""Japanese date expressions -> EDTF strings with strict, inclusive day bounds.

Events are dated by what an article says, so each expression keeps its own precision
(`2025年初頭` is not a day) and its bounds are the days it can mean, nothing wider.
EDTF parsing and bounds come from the `edtf` library (plain calendar dates take a
`datetime` shortcut, property-tested against edtf: its parser costs ~10 ms a call); the
few places where edtf 5.0.2 is wrong or too lax for us are corrected in `parse_edtf`,
each with its reason.

Mapping (anchor = the article's published date; context = the latest earlier date in
the same text that has the needed field, else `previous`, else the anchor):

| written                                  | EDTF                     | precision |
|------------------------------------------|--------------------------|-----------|
| 2025年8月5日, 2025/8/5, 2025-08-05, 2025.8.5 | 2025-08-05            | day       |
| 2025年8月                                | 2025-08                  | month     |
| 2025年, 令和7年, 平成31年, 二〇二五年, 二千二十五年 | 2025 (2019 for 平成31年) | year |
| 8月5日 / 8月 (no year)                   | anchor year              | day/month |
| 8月上旬・初旬・初め / 中旬 / 下旬・末    | 2025-08-01/2025-08-10, -11/-20, -21/last day | month |
| 2025年初頭・初め・初                     | 2025-33 (Jan-Mar)        | season    |
| 2025年前半・上半期 / 後半・下半期        | 2025-40 / 2025-41        | season    |
| 2025年末                                 | 2025-36 (Oct-Dec)        | season    |
| 2025年春 / 夏 / 秋 / 冬                  | 2025-21 / 22 / 23 / 24   | season    |
| 今夏 今春 今秋 今冬 / 昨夏… / 来春… / 翌春… | anchor year (昨 -1, 来 +1), 翌 context +1 | season |
| 今年・本年 / 昨年・去年 / 一昨年 / 来年 / 再来年 | anchor year +0 / -1 / -2 / +1 / +2 | year |
| 同年 / 前年 / 翌年                       | context year +0 / -1 / +1 | year     |
| 同月, 同月5日, 同日                      | context month / day      | month/day |
| (any year form above)+春, +末, +8月…     | combined, e.g. 昨年末 -> 2024-36 | as above |
| 2000年代                                 | 200X                     | decade    |
| 2010年代前半 / 後半                      | 2010/2014 / 2015/2019    | year      |
| …ごろ / 頃 / 前後 after a year, month, day | 2025~, 2025-08~, 2025-08-05~ | as the date |

Design decisions:
- Interval precision is one step coarser than its endpoints, never past year: day
  endpoints (8月上旬) -> month, month endpoints -> season, year endpoints -> year. This
  keeps precision a function of the EDTF string, so values round-trip.
- Winter `Y-24` is Dec Y .. end of Feb Y+1. 今冬 in January or February means the
  winter that began the previous December.
- A year is 1000-2999 written with four digits or two-plus kanji numerals (二千, not
  千), or an era year: `3年`, `3年間`, `千年`, `年間`, `数ヶ月` are durations.
  `年度` (fiscal year), `年代` outside decades, `前年比` and `同年代` are not dates.
- An impossible day (2025年2月30日) falls back to the month (2025年2月); an impossible
  month falls back to the year; an impossible ISO-like date is not matched.
- `(現地時間)` is left outside the mention: it does not change the day.
- Where neither context nor anchor gives the needed field, the expression is still
  returned, with value UNKNOWN.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import edtf

PRECISIONS = ("day", "month", "season", "year", "decade", "unknown")


@dataclass(frozen=True, slots=True)
class DateValue:
    """An EDTF date and the inclusive day range it strictly denotes."""

    edtf: str
    start: datetime.date | None
    end: datetime.date | None
    precision: str

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {PRECISIONS}")


UNKNOWN = DateValue("", None, None, "unknown")


@dataclass(frozen=True)
class DateMention:
    """A date expression as written at text[start:end], and what it resolves to."""

    start: int
    end: int
    text: str
    value: DateValue


# --- EDTF -------------------------------------------------------------------------

_DATE = r"\d{4}(?:-\d{2}){0,2}"
# Only the shapes the dataset uses; everything else edtf accepts (sets, times,
# unspecified digits, hemisphere seasons 25-32...) is refused rather than half-handled.
# Checked against edtf 5.0.2: its strict bounds are right for quarters (33 = Jan-Mar,
# 36 = Oct-Dec), halves (40, 41), YYYX and intervals; what it gets wrong is fixed below.
_EDTF_SHAPE = re.compile(
    rf"(?P<season>\d{{4}}-(?:2[1-4]|3[3-6]|4[01]))"
    rf"|(?P<decade>\d{{3}}X)"
    rf"|(?P<lo>{_DATE})/(?P<hi>{_DATE})"
    rf"|(?P<date>{_DATE})[~?%]?",
    re.ASCII,
)
_INTERVAL_PRECISION = {"day": "month", "month": "season", "year": "year"}


_CALENDAR = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _calendar_bounds(value: str) -> tuple[datetime.date, datetime.date] | None:
    """Plain calendar dates (2025, 2025-08, 2025-08-05), the bulk of the values, without
    edtf's parser (~10 ms a call); None for anything else, which edtf handles."""
    match = _CALENDAR.fullmatch(value)
    if match is None:
        return None
    year, month, day = (int(part) if part else None for part in match.groups())
    if month is not None and not 1 <= month <= 12:
        return None  # seasons (2025-21, 2025-33) and invalid months: edtf decides
    try:
        if day is not None:
            return (datetime.date(year, month, day),) * 2
        if month is not None:
            return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    except ValueError as err:
        raise ValueError(f"invalid EDTF date {value!r}: {err}") from None


def _bounds(value: str) -> tuple[datetime.date, datetime.date]:
    plain = _calendar_bounds(value)
    if plain is not None:
        return plain
    try:
        parsed = edtf.parse_edtf(value)
    except (edtf.EDTFParseException, ValueError) as err:  # edtf raises both
        raise ValueError(f"invalid EDTF date {value!r}: {err}") from None
    return (
        edtf.struct_time_to_date(parsed.lower_strict()),
        edtf.struct_time_to_date(parsed.upper_strict()),
    )


def _date_precision(value: str) -> str:
    return ("year", "month", "day")[value.count("-")]


@functools.lru_cache(maxsize=4096)  # edtf's parser takes ~5 ms a call; values repeat a lot
def parse_edtf(value: str) -> DateValue:
    """EDTF string -> DateValue; raises ValueError naming the problem when invalid."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"empty or non-string EDTF date: {value!r}")
    shape = _EDTF_SHAPE.fullmatch(value)
    if shape is None:
        raise ValueError(
            f"unsupported EDTF date {value!r}: expected YYYY, YYYY-MM, YYYY-MM-DD (optionally "
            "followed by ~ ? %), YYYY-21..24/33..36/40..41, YYYX, or DATE/DATE"
        )
    if shape["season"]:
        start, end = _bounds(value)
        if value.endswith("-24"):
            # edtf 5.0.2 maps winter to December only; winter runs to the end of February.
            end = datetime.date(start.year + 1, 3, 1) - datetime.timedelta(days=1)
        return DateValue(value, start, end, "season")
    if shape["decade"]:
        return DateValue(value, *_bounds(value), "decade")
    if shape["lo"]:
        start, end = _bounds(value)
        if start > end:  # edtf 5.0.2 accepts reversed intervals (2025-03/2025-01)
            raise ValueError(f"invalid EDTF interval {value!r}: it ends before it starts")
        coarsest = max(_date_precision(shape["lo"]), _date_precision(shape["hi"]), key=PRECISIONS.index)
        return DateValue(value, start, end, _INTERVAL_PRECISION[coarsest])
    date = shape["date"]
    if "-" in date and not 1 <= int(date[5:7]) <= 12:  # edtf would read 2025-25 as a season
        raise ValueError(f"invalid EDTF date {value!r}: month {date[5:7]} is not 01-12")
    # Bounds come from the unqualified date: edtf 5.0.2 does not check the calendar of a
    # qualified one (2025-02-29~ parses), and a qualifier leaves the strict bounds as is.
    return DateValue(value, *_bounds(date), _date_precision(date))


# --- Japanese expressions ------------------------------------------------------------

_AD = "0-9０-９"
_KD = "〇一二三四五六七八九"
_KN = _KD + "十百千"
_NUM_START = rf"(?<![{_AD}{_KN}A-Za-zＡ-Ｚａ-ｚ.．/／\-－])"
_SMALL = rf"(?:[{_AD}]{{1,2}}|[{_KD}十]{{1,3}})"
_YEAR = rf"(?:[{_AD}]{{4}}|[{_KN}]{{2,}})"
_MONTH = rf"(?P<m>{_SMALL})月(?!曜|雨|間)"
_SEP = "/／.．\\-－"

_HEAD = re.compile(
    rf"{_NUM_START}(?P<iy>[{_AD}]{{4}})(?P<sep>[{_SEP}])(?P<im>[{_AD}]{{1,2}})(?P=sep)"
    rf"(?P<id>[{_AD}]{{1,2}})(?![{_AD}]|[{_SEP}][{_AD}])"
    rf"|{_NUM_START}(?P<dec>{_YEAR})年代"
    r"|(?P<rs>今|昨|去|来|翌)(?P<rss>[春夏秋冬])"
    rf"|{_NUM_START}(?P<y>{_YEAR})年(?!間|度|代)"
    rf"|(?P<era>令和|平成|昭和)(?P<ey>{_SMALL}|元)年(?!間|度)"
    r"|(?P<rel>一昨|再来|昨|去|前|今|本|来|翌|同)年(?!間|度|代|齢|比|同)"
    r"|(?P<same>同月|同日)"
    rf"|(?<!年){_NUM_START}{_MONTH}"
)
_YEAR_TAIL = re.compile(
    rf"の?(?:{_MONTH}|(?P<per>初頭|初め|初(?!の)|前半|後半|上半期|下半期|末|春|夏|秋|冬))"
)
_DAY_TAIL = re.compile(rf"(?P<d>{_SMALL})日(?!間)|(?P<sub>上旬|初旬|初め|中旬|下旬|末)")
_DECADE_TAIL = re.compile(r"の?(?P<half>前半|後半)")
_APPROX = re.compile(r"ごろ|頃|前後")

_PERIOD = {
    "初頭": "33", "初め": "33", "初": "33", "前半": "40", "上半期": "40",
    "後半": "41", "下半期": "41", "末": "36", "春": "21", "夏": "22", "秋": "23", "冬": "24",
}
_SUB_MONTH = {
    "上旬": (1, 10), "初旬": (1, 10), "初め": (1, 10), "中旬": (11, 20), "下旬": (21, 31), "末": (21, 31),
}
_ANCHOR_SHIFT = {"一昨": -2, "昨": -1, "去": -1, "今": 0, "本": 0, "来": 1, "再来": 2}
_CONTEXT_SHIFT = {"前": -1, "同": 0, "翌": 1}
_ERA_BASE = {"令和": 2018, "平成": 1988, "昭和": 1925}
_KANJI_DIGIT = {c: i for i, c in enumerate(_KD)}
_KANJI_UNIT = {"十": 10, "百": 100, "千": 1000}


def _number(written: str) -> int:
    """Arabic (any width: int() reads full-width digits), positional kanji (二〇二五)
    or additive kanji (二千二十五) numeral -> int."""
    if written[0] not in _KANJI_DIGIT and written[0] not in _KANJI_UNIT:
        return int(written)
    if not any(c in _KANJI_UNIT for c in written):
        return int("".join(str(_KANJI_DIGIT[c]) for c in written))
    total = digit = 0
    for c in written:
        if c in _KANJI_UNIT:
            total += (digit or 1) * _KANJI_UNIT[c]
            digit = 0
        else:
            digit = _KANJI_DIGIT[c]
    return total + digit


def _valid_day(y: int, m: int, d: int) -> bool:
    try:
        datetime.date(y, m, d)
    except ValueError:
        return False
    return True


def _fields(value: DateValue) -> tuple[int, ...]:
    """(year, month, day) as far as `value` pins them down; used for 同年/同月/同日."""
    s, e = value.start, value.end
    if s is None or e is None or value.precision in ("decade", "unknown"):
        return ()
    if s.year != e.year and value.precision != "season":  # winter keeps its year
        return ()
    if value.precision == "day":
        return (s.year, s.month, s.day)
    if value.precision == "month" and s.month == e.month:
        return (s.year, s.month)
    return (s.year,)


def _recall(values: Iterable[DateValue], size: int) -> tuple[int, ...] | None:
    """The first `size` fields of the first value that has them."""
    return next((f[:size] for f in map(_fields, values) if len(f) >= size), None)


def _shift(year: int | None, by: int) -> int | None:
    return None if year is None else year + by


class _Resolver:
    """Resolves one match at a time; remembers earlier values for 同年/前年/同月."""

    def __init__(self, text: str, anchor: DateValue, previous: DateValue | None) -> None:
        self.text = text
        self.anchor = _fields(anchor)
        self.fallback = [v for v in (previous, anchor) if v is not None]
        self.seen: list[DateValue] = []

    def context(self, size: int) -> tuple[int, ...] | None:
        return _recall([*reversed(self.seen), *self.fallback], size)

    def context_year(self) -> int | None:
        found = self.context(1)
        return found[0] if found else None

    def anchor_year(self) -> int | None:
        return self.anchor[0] if self.anchor else None

    def resolve(self, m: re.Match[str]) -> tuple[int, str] | None:
        """(end offset, EDTF or '' when unknown) of the expression at m, None if no date."""
        if m["iy"]:
            y, mo, d = _number(m["iy"]), _number(m["im"]), _number(m["id"])
            return (m.end(), f"{y:04d}-{mo:02d}-{d:02d}") if _valid_day(y, mo, d) else None
        if m["dec"]:
            return self.decade(m)
        if m["rs"]:
            return m.end(), self.season_word(m["rs"], m["rss"])
        if m["same"] == "同日":
            day = self.context(3)
            return m.end(), (f"{day[0]:04d}-{day[1]:02d}-{day[2]:02d}" if day else "")
        if m["same"]:
            known = self.context(2)
            return self.month(m.end(), *(known or (None, None)))
        if m["m"]:
            return self.month(m.end(), self.anchor_year(), _number(m["m"]))
        return self.year(m)

    def decade(self, m: re.Match[str]) -> tuple[int, str] | None:
        y = _number(m["dec"])
        if not 1000 <= y <= 2999 or y % 10:
            return None
        half = _DECADE_TAIL.match(self.text, m.end())
        if half:
            lo = y + (5 if half["half"] == "後半" else 0)
            return half.end(), f"{lo:04d}/{lo + 4:04d}"
        return m.end(), f"{y // 10:03d}X"

    def season_word(self, word: str, season: str) -> str:
        if word == "翌":
            year = _shift(self.context_year(), 1)
        else:
            year = _shift(self.anchor_year(), _ANCHOR_SHIFT[word])
            if season == "冬" and year is not None and len(self.anchor) > 1 and self.anchor[1] <= 2:
                year -= 1  # 今冬 in Jan/Feb is the winter that began last December
        return f"{year:04d}-{_PERIOD[season]}" if year is not None else ""

    def year(self, m: re.Match[str]) -> tuple[int, str] | None:
        if m["y"]:
            year: int | None = _number(m["y"])
            if not 1000 <= year <= 2999:
                return None
        elif m["era"]:
            year = _ERA_BASE[m["era"]] + (1 if m["ey"] == "元" else _number(m["ey"]))
        elif m["rel"] in _CONTEXT_SHIFT:
            year = _shift(self.context_year(), _CONTEXT_SHIFT[m["rel"]])
        else:
            year = _shift(self.anchor_year(), _ANCHOR_SHIFT[m["rel"]])
        tail = _YEAR_TAIL.match(self.text, m.end())
        if tail and tail["per"]:
            return tail.end(), (f"{year:04d}-{_PERIOD[tail['per']]}" if year is not None else "")
        if tail and 1 <= _number(tail["m"]) <= 12:
            return self.month(tail.end(), year, _number(tail["m"]))
        return self.approx(m.end(), f"{year:04d}" if year is not None else "")

    def month(self, end: int, year: int | None, month: int | None) -> tuple[int, str] | None:
        """The month ending at `end` (None: unknown), with its day or 上旬-style part."""
        if month is not None and not 1 <= month <= 12:
            return None
        tail = _DAY_TAIL.match(self.text, end)
        if year is None or month is None:
            return (tail.end() if tail else end), ""
        if tail and tail["sub"]:
            first, last = _SUB_MONTH[tail["sub"]]
            while not _valid_day(year, month, last):
                last -= 1
            return tail.end(), f"{year:04d}-{month:02d}-{first:02d}/{year:04d}-{month:02d}-{last:02d}"
        if tail and _valid_day(year, month, _number(tail["d"])):
            return self.approx(tail.end(), f"{year:04d}-{month:02d}-{_number(tail['d']):02d}")
        return self.approx(end, f"{year:04d}-{month:02d}")

    def approx(self, end: int, value: str) -> tuple[int, str]:
        """Extend over ごろ/頃/前後, marking the date approximate (EDTF ~)."""
        qualifier = _APPROX.match(self.text, end)
        if qualifier is None:
            return end, value
        return qualifier.end(), (value + "~" if value else "")


def find_dates(text: str, anchor: DateValue, previous: DateValue | None = None) -> list[DateMention]:
    """Every date expression in `text`, in order, resolved against anchor and context."""
    resolver = _Resolver(text, anchor, previous)
    mentions: list[DateMention] = []
    pos = 0
    while match := _HEAD.search(text, pos):
        found = resolver.resolve(match)
        if found is None:
            pos = match.start() + 1
            continue
        end, value = found
        resolved = parse_edtf(value) if value else UNKNOWN
        mentions.append(DateMention(match.start(), end, text[match.start():end], resolved))
        if value:
            resolver.seen.append(resolved)
        pos = end
    return mentions
