"""The timeline: PNG and self-contained HTML from the package's events, byte-stable."""

from __future__ import annotations

import base64
import csv
import re
import shutil
import struct
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import paths
from pipeline.cli import cli
from pipeline.timeline import (
    GAP_PX,
    NO_LANE,
    TimelineError,
    TimelineEvent,
    pack_lane,
    read_frames,
    timeline_events,
    write_timeline,
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[bytes, bytes]]]:
    """The committed package copied once, rendered twice into two folders."""
    root = tmp_path_factory.mktemp("package")
    for name in ("data", "schemas"):
        shutil.copytree(paths.ROOT / name, root / name)
    shutil.copy(paths.DATAPACKAGE, root / "datapackage.json")
    runs = []
    for out in ("one", "two"):
        png, page = write_timeline(root, root / out)
        runs.append((png.read_bytes(), page.read_bytes()))
    return root, runs


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def test_png_and_html_are_written_and_identical_across_runs(rendered) -> None:
    _, ((png1, html1), (png2, html2)) = rendered
    assert png1 == png2
    assert html1 == html2
    kinds = [kind for kind, _ in _png_chunks(png1)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", _png_chunks(png1)[0][1][:8])
    assert width >= 1200 and height >= 500
    assert b"tIME" not in kinds
    assert all(b"Software" not in body for kind, body in _png_chunks(png1) if kind in (b"tEXt", b"iTXt", b"zTXt"))


def test_html_is_self_contained(rendered) -> None:
    _, runs = rendered
    png, page = runs[0]
    text = page.decode("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", text, re.I)
    assert not re.search(r"<(script|link|iframe)\b", text, re.I)
    assert "url(" not in text
    (embedded,) = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert base64.b64decode(embedded) == png


def test_every_event_is_in_the_html_table(rendered) -> None:
    root, ((_, page), _) = rendered
    text = page.decode("utf-8")
    with (root / "data" / "events.csv").open(encoding="utf-8", newline="") as handle:
        events = list(csv.DictReader(handle))
    dated = [e for e in events if e["date_start"]]
    assert dated, "the committed package has dated events"
    for event in events:
        (row,) = re.findall(rf'<tr[^>]* id="{re.escape(event["event_id"])}">(.*?)</tr>', text)
        first_cell = re.match(r"<td>(.*?)</td>", row).group(1)
        if event["date_start"]:
            assert event["date"] in first_cell
        else:
            assert first_cell == "undated (not plotted)"
    assert f"{len(dated)} of {len(events)} events are dated" in text


def _frames(events: list[dict], participants: list[tuple], entities: list[tuple], models: list[tuple]) -> dict:
    columns = ("event_id", "type", "date", "date_start", "date_end", "date_precision", "summary")
    return {
        "events": pd.DataFrame([{c: e.get(c) for c in columns} for e in events], columns=columns),
        "event_participants": pd.DataFrame(participants, columns=["event_id", "entity_id", "role"]),
        "entities": pd.DataFrame(entities, columns=["entity_id", "type", "name"]),
        "models": pd.DataFrame(models, columns=["model_id", "name", "developer_id", "openness"]),
    }


def test_lanes_and_openness_follow_the_participants() -> None:
    day = {"date": "2025-08-05", "date_start": "2025-08-05", "date_end": "2025-08-05", "date_precision": "day"}
    frames = _frames(
        [
            {"event_id": "statement-1", "type": "statement", "summary": "s", **day},
            {"event_id": "statement-2", "type": "statement", "summary": "s"},
            {"event_id": "model_release-1", "type": "model_release", "summary": "s", **day},
            {"event_id": "model_release-2", "type": "model_release", "summary": "s"},
            {"event_id": "model_release-3", "type": "model_release", "summary": "s"},
            {"event_id": "conference-1", "type": "conference", "summary": "s"},
            {"event_id": "founding-1", "type": "founding", "summary": "s"},
        ],
        [
            ("statement-1", "person:ann", "agent"),
            ("statement-1", "organization:acme", "affiliation"),
            ("statement-2", "person:ann", "agent"),  # affiliation known from statement-1
            ("model_release-1", "organization:acme", "agent"),
            ("model_release-1", "model:open", "object"),
            ("model_release-2", "model:open", "object"),  # no agent: the developer
            ("model_release-2", "model:shut", "object"),
            ("model_release-3", "model:shut", "object"),
            ("model_release-3", "person:bob", "agent"),  # no affiliation anywhere
            ("conference-1", "event_name:con", "object"),
            ("founding-1", "organization:beta", "object"),
        ],
        [
            ("person:ann", "person", "Ann"),
            ("person:bob", "person", "Bob"),
            ("organization:acme", "organization", "Acme"),
            ("organization:beta", "organization", "Beta"),
            ("model:open", "model", "Open-1"),
            ("model:shut", "model", "Shut-1"),
            ("event_name:con", "event_name", "Con"),
        ],
        [
            ("model:open", "Open-1", "organization:beta", "open_weights"),
            ("model:shut", "Shut-1", None, "closed"),
        ],
    )
    events = {e.event_id: e for e in timeline_events(frames)}
    assert events["statement-1"].lanes == ("Acme",)
    assert events["statement-2"].lanes == ("Acme",)
    assert events["model_release-1"].lanes == ("Acme",)
    assert events["model_release-2"].lanes == ("Beta",)
    assert events["model_release-3"].lanes == ("Bob",)
    assert events["conference-1"].lanes == (NO_LANE,)
    assert events["founding-1"].lanes == ("Beta",)
    assert events["model_release-1"].openness == "open"
    assert events["model_release-2"].openness == "mixed"
    assert events["model_release-3"].openness == "closed"
    assert events["statement-1"].openness is None
    assert events["model_release-1"].start == date(2025, 8, 5)
    assert events["model_release-1"].label == "2025-08-05: Open-1"
    assert not events["statement-2"].dated


spans = st.lists(
    st.tuples(st.floats(0, 1500), st.floats(1, 200), st.floats(10, 500)),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(spans)
def test_packed_labels_never_overlap(items: list[tuple[float, float, float]]) -> None:
    edge = 1600.0
    event = TimelineEvent("e", "statement", "", None, None, "day", "", (), ())
    boxes = [(event, (x, x + w), label) for x, w, label in items]
    packed = pack_lane(boxes, edge)
    assert len(packed) == len(boxes)
    placed: dict[int, list[tuple[float, float]]] = {}
    for (_, (x0, x1), width), (_, row, left) in zip(boxes, packed):
        right_span = (x0, x1 + GAP_PX + width)
        span = (x0 - GAP_PX - width, x1) if left else right_span
        for other in placed.get(row, []):
            assert span[1] <= other[0] or other[1] <= span[0], (span, other)
        if left and right_span[1] <= edge:  # right of the mark is preferred where it is free
            assert any(not (right_span[1] + GAP_PX <= a or b <= right_span[0] - GAP_PX) for a, b in placed[row])
        placed.setdefault(row, []).append(span)
    assert sorted(placed) == list(range(len(placed)))


def test_bad_date_names_file_row_and_field(package_copy: Path) -> None:
    path = package_copy / "data" / "events.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    dated = next(i for i, line in enumerate(lines) if i and line.split(",")[3])
    fields = next(csv.reader([lines[dated]]))
    fields[3] = "2025-13-45"
    lines[dated] = ",".join(f'"{f}"' if "," in f else f for f in fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = CliRunner().invoke(cli, ["timeline", "--root", str(package_copy), "--out", str(package_copy / "out")])
    assert result.exit_code == 1
    assert f"events.csv: row {dated + 1}, field date_start: not a date" in result.output
    assert not (package_copy / "out").exists()


def test_missing_column_is_a_message(package_copy: Path) -> None:
    frame = pd.read_csv(package_copy / "data" / "models.csv", dtype=str)
    frame.drop(columns=["openness"]).to_csv(package_copy / "data" / "models.csv", index=False)
    with pytest.raises(TimelineError, match=r"models.csv: missing column\(s\) openness"):
        read_frames(package_copy)
