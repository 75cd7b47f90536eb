"""`docs/timeline.png` and `docs/timeline.html`: the dated events by organization.

Each dated event is drawn in the lane of the organization that acts in it: its `agent`
participants, a person being replaced by the organizations the participants name as
their `affiliation` (in that event, else in any event). An event without an agent goes
to the organizations among its other participants, else to the developers (models.csv)
of the models it is about, else to a lane of its own. Day-precise dates are points;
coarser ones are bars over every day the date can denote. Colour and marker shape come
from the event type's position in the schema's enum; model releases are filled when
every released model is open (weights or source), hollow when every one is closed,
half-filled otherwise. Labels are packed into rows so that no two overlap.

The HTML page embeds the same PNG (base64) and a table of every event, undated ones
included, with no external resource. Output is byte-identical for the same data.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from pipeline.atomic import write_bytes, write_text
from pipeline.codebook import read_json
from pipeline.schemas import typed_column
from pipeline.tables import read_table

PNG = "timeline.png"
HTML = "timeline.html"
NO_LANE = "(no organization named)"
RELEASE = "model_release"
OPEN = ("open_weights", "open_source")
CLOSED = ("closed",)
OPENNESS_STYLE = {"open": "full", "closed": "none", "mixed": "bottom"}
OPENNESS_LABEL = {
    "open": "release, all models open (weights or source)",
    "closed": "release, all models closed",
    "mixed": "release, openness unknown or mixed",
}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "h", "<")

WIDTH_IN = 11.0
DPI = 150
FONT_PT = 9.0
LABEL_CHARS = 46
LANE_CHARS = 24
ROW_IN = 0.40
GAP_PX = 7.0
MARKER_PT = 8.0
RIGHT_IN = 0.3
MARGIN_IN = 0.12
TOP_IN = 0.75
AXIS_LABELS_IN = 0.45
BAR_ALPHA = 0.28
GREY = "#555555"


class TimelineError(Exception):
    """The tables cannot be read: the message names the file, row and field."""


@dataclass(frozen=True)
class TimelineEvent:
    event_id: str
    type: str
    date: str
    start: date | None
    end: date | None
    precision: str
    summary: str
    lanes: tuple[str, ...]
    models: tuple[tuple[str, str], ...]  # (name, openness) of the models it is about

    @property
    def dated(self) -> bool:
        return self.start is not None

    @property
    def openness(self) -> str | None:
        """open / closed / mixed for model releases, None for other events."""
        if self.type != RELEASE:
            return None
        values = {openness for _, openness in self.models}
        if values and values <= set(OPEN):
            return "open"
        if values and values <= set(CLOSED):
            return "closed"
        return "mixed"

    @property
    def when(self) -> str:
        """The date for a reader: EDTF as is, sub-year periods as months (Jan–Mar 2025)."""
        if self.start is None or self.end is None:
            return ""
        if self.precision in ("day", "month", "year"):
            return self.date
        first, last = MONTHS[self.start.month - 1], MONTHS[self.end.month - 1]
        if self.start.year == self.end.year:
            return f"{first}–{last} {self.end.year}"
        return f"{first} {self.start.year}–{last} {self.end.year}"

    @property
    def label(self) -> str:
        what = ", ".join(name for name, _ in self.models) if self.type == RELEASE and self.models else self.summary.rstrip(".")
        return f"{self.when}: {what}" if self.when else what


# --- reading -------------------------------------------------------------------------

_NEEDED = {
    "events": ("event_id", "type", "date", "date_start", "date_end", "date_precision", "summary"),
    "event_participants": ("event_id", "entity_id", "role"),
    "entities": ("entity_id", "type", "name"),
    "models": ("model_id", "name", "developer_id", "openness"),
}


def read_frames(root: Path) -> dict[str, pd.DataFrame]:
    """The four tables the timeline needs, as strings, with their columns checked."""
    frames = {}
    for name, columns in _NEEDED.items():
        path = Path(root) / "data" / f"{name}.csv"
        try:
            frame = read_table(path)
        except FileNotFoundError:
            raise TimelineError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
            raise TimelineError(f"{path}: cannot be read as CSV: {err}") from None
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise TimelineError(f"{path}: missing column(s) {', '.join(missing)}")
        frames[name] = frame
    return frames


def _dates(frame: pd.DataFrame, field: str, path: str) -> list[date | None]:
    """A date column typed via the schema's rules; a cell that is not a date is an error."""
    typed = typed_column(frame[field], "date")
    for i, (raw, value) in enumerate(zip(frame[field], typed)):
        if isinstance(raw, str) and raw and pd.isna(value):
            raise TimelineError(f"{path}: row {i + 2}, field {field}: not a date (YYYY-MM-DD): {raw!r}")
    return [None if pd.isna(value) else value for value in typed]


# --- lanes ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA else str(value)


def timeline_events(frames: Mapping[str, pd.DataFrame]) -> list[TimelineEvent]:
    """Every event with its lanes and released models; pure, in event_id order."""
    entities = frames["entities"]
    names = dict(zip(entities["entity_id"], entities["name"].fillna(entities["entity_id"])))
    kinds = dict(zip(entities["entity_id"], entities["type"]))
    models = frames["models"]
    openness = dict(zip(models["model_id"], models["openness"].fillna("unknown")))
    developer = {m: _text(d) for m, d in zip(models["model_id"], models["developer_id"])}

    by_event: dict[str, list[tuple[str, str]]] = {}
    person_orgs: dict[str, set[str]] = {}
    for event_id, entity_id, role in frames["event_participants"][["event_id", "entity_id", "role"]].itertuples(index=False):
        by_event.setdefault(event_id, []).append((_text(entity_id), _text(role)))
    for rows in by_event.values():
        speakers = [e for e, r in rows if r == "agent" and kinds.get(e) == "person"]
        for org in (e for e, r in rows if r == "affiliation"):
            for person in speakers:
                person_orgs.setdefault(person, set()).add(org)

    def name(entity_id: str) -> str:
        return _text(names.get(entity_id)) or entity_id

    def lanes(rows: list[tuple[str, str]]) -> tuple[str, ...]:
        own_orgs = sorted(name(e) for e, r in rows if r == "affiliation")
        found: set[str] = set()
        for entity_id, role in rows:
            if role != "agent":
                continue
            if kinds.get(entity_id) == "person":
                orgs = own_orgs or sorted(name(o) for o in person_orgs.get(entity_id, ()))
                found.add(" / ".join(orgs) if orgs else name(entity_id))
            else:
                found.add(name(entity_id))
        if not found:
            found = {name(e) for e, r in rows if kinds.get(e) == "organization"}
        if not found:
            found = {name(developer[e]) for e, r in rows if developer.get(e)}
        return tuple(sorted(found)) or (NO_LANE,)

    events = frames["events"]
    path = "data/events.csv"
    starts, ends = _dates(events, "date_start", path), _dates(events, "date_end", path)
    out = []
    for i, row in enumerate(events.itertuples(index=False)):
        rows = by_event.get(row.event_id, [])
        object_models = tuple(sorted((name(e), _text(openness[e])) for e, r in rows if r == "object" and e in openness))
        start = starts[i]
        out.append(
            TimelineEvent(
                event_id=row.event_id,
                type=_text(row.type),
                date=_text(row.date),
                start=start,
                end=(ends[i] or start) if start else None,
                precision=_text(row.date_precision),
                summary=_text(row.summary),
                lanes=lanes(rows),
                models=object_models,
            )
        )
    return sorted(out, key=lambda e: e.event_id)


def chronological(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    """Dated events by start, end and id, then undated ones by id."""
    return sorted(events, key=lambda e: (not e.dated, e.start or date.min, e.end or date.min, e.event_id))


# --- layout --------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    event: TimelineEvent
    lane: str
    row: int  # row inside the lane
    label_left: bool  # label drawn to the left of the mark


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def pack_lane(
    items: Sequence[tuple[TimelineEvent, tuple[float, float], float]], right_edge: float
) -> list[tuple[TimelineEvent, int, bool]]:
    """Rows for one lane, so that nothing overlaps.

    Each item is (event, mark span in px, label width in px). It goes to the first row
    where its mark plus its label collides with nothing, the label right of the mark or
    else left of it; a side that would leave the plot (0..right_edge) is not used
    unless neither fits, and then the label goes where it leaves the plot least.
    """
    rows: list[list[tuple[float, float]]] = []
    out = []
    for event, (x0, x1), width in items:
        sides = {False: (x0, x1 + GAP_PX + width), True: (x0 - GAP_PX - width, x1)}
        inside = [left for left, (a, b) in sides.items() if a >= 0 and b <= right_edge]
        if not inside:
            inside = [min(sides, key=lambda left: max(0.0, -sides[left][0]) + max(0.0, sides[left][1] - right_edge))]
        choice = next(
            ((index, left) for index, taken in enumerate(rows) for left in inside
             if not any(_overlaps(sides[left], other) for other in taken)),
            None,
        )
        if choice is None:
            rows.append([])
            choice = (len(rows) - 1, inside[0])
        index, left = choice
        a, b = sides[left]
        rows[index].append((a - GAP_PX, b + GAP_PX))
        out.append((event, index, left))
    return out


def lane_order(events: Iterable[TimelineEvent]) -> list[str]:
    """Lanes by their first event, then name; the lane of unattributed events last."""
    first: dict[str, date] = {}
    for event in events:
        for lane in event.lanes:
            first[lane] = min(first.get(lane, date.max), event.start or date.max)
    return sorted(first, key=lambda lane: (lane == NO_LANE, first[lane], lane))


# --- drawing -------------------------------------------------------------------------


def _style(event_types: Sequence[str], kind: str) -> tuple[str, str]:
    """Colour and marker of an event type: by its position in the schema's enum."""
    index = event_types.index(kind) if kind in event_types else len(event_types)
    return COLOURS[index % len(COLOURS)], MARKERS[index % len(MARKERS)]


def _wrap(text: str, width: int, lines: int) -> str:
    wrapped = textwrap.wrap(text, width=width, max_lines=lines, placeholder=" …", break_on_hyphens=False)
    return "\n".join(wrapped) or text


def _legend_handles(dated: Sequence[TimelineEvent], event_types: Sequence[str]) -> list[Any]:
    """One entry per event type shown (schema order), per openness shown, and the mark kinds."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    kinds = [k for k in event_types if any(e.type == k for e in dated)]
    kinds += sorted({e.type for e in dated} - set(kinds))
    shown = {e.openness for e in dated if e.openness}
    handles: list[Any] = []
    for kind in kinds:
        colour, marker = _style(event_types, kind)
        handles.append(Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=MARKER_PT,
                              label=kind.replace("_", " ")))
    for openness in (o for o in OPENNESS_STYLE if o in shown):
        handles.append(Line2D([], [], marker="o", color=GREY, fillstyle=OPENNESS_STYLE[openness],
                              markerfacecoloralt="white", markeredgewidth=1.4, linestyle="none",
                              markersize=MARKER_PT, label=OPENNESS_LABEL[openness]))
    handles.append(Line2D([], [], marker="|", color=GREY, linestyle="none", markersize=MARKER_PT,
                          label="point: date known to the day"))
    handles.append(Patch(facecolor=GREY, alpha=BAR_ALPHA, edgecolor=GREY, label="bar: month, season or year"))
    return handles


def render_png(events: Sequence[TimelineEvent], event_types: Sequence[str]) -> bytes:
    """The timeline picture as PNG bytes (Agg, no software or time metadata)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib_fontja  # noqa: F401  (registers IPAexGothic, for Japanese names)
    from matplotlib import pyplot as plt
    from matplotlib.patches import Rectangle

    dated = chronological(e for e in events if e.dated)
    with matplotlib.rc_context({"font.family": ["DejaVu Sans", "IPAexGothic"], "font.size": FONT_PT}):
        fig = plt.figure(figsize=(WIDTH_IN, 4), dpi=DPI)
        renderer = fig.canvas.get_renderer()

        def width_px(text: str, size: float = FONT_PT) -> float:
            probe = fig.text(0, 0, text, fontsize=size)
            width = probe.get_window_extent(renderer).width
            probe.remove()
            return width

        # Horizontal geometry: the lane names fix the left margin, dates the scale.
        lanes = lane_order(dated)
        lane_text = {lane: _wrap(lane, LANE_CHARS, 3) for lane in lanes}
        left_in = max([width_px(t, FONT_PT + 0.5) for t in lane_text.values()] + [60.0]) / DPI + 0.25
        axis_px = (WIDTH_IN - left_in - RIGHT_IN) * DPI
        lo = min((e.start for e in dated), default=date(2000, 1, 1))
        hi = max((e.end for e in dated), default=date(2000, 12, 31)) + timedelta(days=1)
        pad = max((hi - lo).days * 0.02, 20)
        x_min, x_max = mdates.date2num(lo) - pad, mdates.date2num(hi) + pad
        per_day = axis_px / (x_max - x_min)
        half = MARKER_PT / 72 * DPI / 2 / per_day

        def mark(event: TimelineEvent) -> tuple[float, float, float, float, float]:
            """Marker x, first and last day + 1 of the date, and the mark's left and right, in days."""
            a = mdates.date2num(event.start)
            b = mdates.date2num(event.end + timedelta(days=1))
            x = (a + b) / 2
            if event.precision == "day":
                return x, a, b, x - half, x + half
            return x, a, b, min(a, x - half), max(b, x + half)

        # Vertical geometry: rows packed per lane, the legend's height.
        labels = {e.event_id: _wrap(e.label, LABEL_CHARS, 2) for e in dated}
        placed: list[Placed] = []
        lane_rows: dict[str, int] = {}
        for lane in lanes:
            items = []
            for event in (e for e in dated if lane in e.lanes):
                *_, left, right = mark(event)
                items.append((event, ((left - x_min) * per_day, (right - x_min) * per_day), width_px(labels[event.event_id])))
            packed = pack_lane(items, axis_px)
            placed += [Placed(e, lane, row, left) for e, row, left in packed]
            lane_rows[lane] = max(row for _, row, _ in packed) + 1
        total_rows = max(sum(lane_rows.values()), 1)
        legend = None
        for columns in (4, 3, 2, 1):
            legend = fig.legend(handles=_legend_handles(dated, event_types), loc="lower left", ncol=columns,
                                bbox_to_anchor=(MARGIN_IN, 0.1), bbox_transform=fig.dpi_scale_trans,
                                frameon=False, fontsize=FONT_PT, handletextpad=0.4, columnspacing=1.5)
            if legend.get_window_extent(renderer).width <= (WIDTH_IN - 2 * MARGIN_IN) * DPI or columns == 1:
                break
            legend.remove()
        bottom_in = legend.get_window_extent(renderer).height / DPI + AXIS_LABELS_IN
        plot_in = total_rows * ROW_IN
        height_in = TOP_IN + plot_in + bottom_in
        fig.set_size_inches(WIDTH_IN, height_in)

        ax = fig.add_axes((left_in / WIDTH_IN, bottom_in / height_in, axis_px / DPI / WIDTH_IN, plot_in / height_in))
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(total_rows, 0)
        ax.xaxis_date()
        locator = mdates.AutoDateLocator(minticks=5, maxticks=14)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)

        offsets, ticks, offset = {}, [], 0
        for i, lane in enumerate(lanes):
            offsets[lane] = offset
            if i % 2 == 0:
                ax.axhspan(offset, offset + lane_rows[lane], color="#f3f3f3", zorder=0, linewidth=0)
            ticks.append(offset + lane_rows[lane] / 2)
            offset += lane_rows[lane]
        ax.set_yticks(ticks, [lane_text[lane] for lane in lanes], fontsize=FONT_PT + 0.5)
        if not dated:
            ax.text(0.5, 0.5, "no dated events", transform=ax.transAxes, ha="center", va="center")

        gap = GAP_PX / per_day
        for item in placed:
            event = item.event
            colour, marker = _style(event_types, event.type)
            y = offsets[item.lane] + item.row + 0.5
            x, a, b, left, right = mark(event)
            if event.precision != "day":
                ax.add_patch(Rectangle((a, y - 0.16), b - a, 0.32, facecolor=colour, alpha=BAR_ALPHA,
                                       edgecolor=colour, linewidth=0.8, zorder=2))
            fill = "full" if event.openness is None else OPENNESS_STYLE[event.openness]
            ax.plot([x], [y], marker=marker, markersize=MARKER_PT, color=colour, fillstyle=fill,
                    markerfacecoloralt="white", markeredgewidth=1.4, linestyle="none", zorder=3)
            ax.text(left - gap if item.label_left else right + gap, y, labels[event.event_id],
                    ha="right" if item.label_left else "left", va="center", color="#222222",
                    linespacing=1.15, zorder=4)

        undated = sum(1 for e in events if not e.dated)
        fig.text(MARGIN_IN / WIDTH_IN, 1 - 0.28 / height_in, "AI openness events by organization", fontsize=13,
                 weight="bold", family="DejaVu Sans", va="center")
        fig.text(MARGIN_IN / WIDTH_IN, 1 - 0.56 / height_in,
                 f"{len(dated)} dated events from data/events.csv, each in the lane of the organization that acts; "
                 f"{undated} undated events are listed in timeline.html only.",
                 fontsize=FONT_PT + 0.5, color="#444444", va="center")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        plt.close(fig)
    return buffer.getvalue()


# --- HTML ----------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.undated td { color: #666; }
code { font-size: 0.85rem; }
""".strip()


def render_html(events: Sequence[TimelineEvent], png: bytes, title: str) -> str:
    """A self-contained page: the PNG inline and a table of every event."""
    rows = []
    for event in chronological(events):
        models = ", ".join(f"{name} ({openness})" for name, openness in event.models)
        cells = [
            (event.when if event.when == event.date else f"{event.when} ({event.date})") if event.dated else "undated (not plotted)",
            event.precision,
            event.type.replace("_", " "),
            "; ".join(event.lanes),
            event.summary,
            models,
            f"<code>{html.escape(event.event_id)}</code>",
        ]
        escaped = [html.escape(c) for c in cells[:-1]] + [cells[-1]]
        klass = "" if event.dated else ' class="undated"'
        rows.append(f"<tr{klass} id=\"{html.escape(event.event_id)}\">" + "".join(f"<td>{c}</td>" for c in escaped) + "</tr>")
    dated = sum(1 for e in events if e.dated)
    picture = base64.b64encode(png).decode("ascii")
    head = ["date", "precision", "type", "organization (lane)", "summary", "models (openness from models.csv)", "event_id"]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(title)}: timeline</title>",
            f"<style>\n{_CSS}\n</style>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}: timeline</h1>",
            f"<p>{dated} of {len(events)} events are dated and plotted; the others are listed below "
            "as undated. Generated by <code>python -m pipeline timeline</code> from data/.</p>",
            f'<img alt="Timeline of the dated events by organization" src="data:image/png;base64,{picture}">',
            "<h2>Events</h2>",
            "<table>",
            "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead>",
            "<tbody>",
            *rows,
            "</tbody>",
            "</table>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_timeline(root: Path, out: Path) -> tuple[Path, Path]:
    """Render `<out>/timeline.png` and `<out>/timeline.html` from `<root>/data` (atomic)."""
    root, out = Path(root), Path(out)
    descriptor = read_json(root / "datapackage.json")
    fields = read_json(root / "schemas" / "events.json").get("fields", [])
    enum = next((f.get("constraints", {}).get("enum", []) for f in fields if f.get("name") == "type"), [])
    events = timeline_events(read_frames(root))
    png = render_png(events, list(enum))
    write_bytes(out / PNG, png)
    write_text(out / HTML, render_html(events, png, str(descriptor.get("title") or descriptor.get("name", ""))))
    return out / PNG, out / HTML
