"""Which rows of a new package were validated already: incremental validation.

After a build publishes a package that passed validation, it records what was checked
in `.build/validated.json`: the sha256 of each published table and its schema, the
sha256 of each article body, and a hash of the pipeline's code. When the next build
validates its staged package against that record (the baseline), a row whose CSV
line is byte-identical to a line of the table that was checked, under the same schema
and code, needs none of the checks that look at that row alone again; checks that
also read its article (offsets against the text, hashes) run again for the rows of
articles whose text or `sources` row changed; and every check that compares rows
(keys, foreign keys, sort order, every event evidenced, …) still runs on every row.

A published table whose bytes no longer match the record (edited by hand, restored
from elsewhere), another schema or other code: nothing of that table is known, and it
is validated in full. The record is a speed-up only; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from pipeline.atomic import write_text
from pipeline.corpus import body_sha256
from pipeline.package import file_sha256
from pipeline.paths import path_problem

RECORD = Path(".build") / "validated.json"
FORMAT = 1


@dataclass(frozen=True)
class Known:
    """What the baseline vouches for in the package being validated."""

    rows: dict[str, np.ndarray]  # table -> one bool per row: its line was validated before
    bodies: Mapping[str, str]  # source id -> sha256 of the body it was validated against

    def unchanged_sources(self, source_ids: Sequence[Any], bodies: Mapping[str, str] | None) -> frozenset[str]:
        """Ids (of the `sources` rows given in order) whose row is a known line and whose
        article hashes as recorded: their rows' text checks need not run again."""
        known = self.rows.get("sources")
        if bodies is None or known is None or len(known) != len(source_ids):
            return frozenset()
        return frozenset(
            sid
            for sid, seen in zip(source_ids, known)
            if seen and sid in bodies and self.bodies.get(sid) == body_sha256(bodies[sid])
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _code() -> str:
    from pipeline.cache import code_hash

    return code_hash()


def record(root: Path, bodies: Mapping[str, str]) -> None:
    """Note the package published in `root` as validated, with the texts it was checked against."""
    meta = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    tables = {
        resource["name"]: {
            "path": resource["path"],
            "data": file_sha256(root / resource["path"]),
            "schema": file_sha256(root / resource["schema"]),
        }
        for resource in meta["resources"]
    }
    content = {"format": FORMAT, "code": _code(), "tables": tables, "bodies": {k: body_sha256(bodies[k]) for k in sorted(bodies)}}
    write_text(root / RECORD, json.dumps(content, sort_keys=True) + "\n")


def load_record(root: Path) -> dict[str, Any] | None:
    """The record of the package last validated in `root`; None when there is none, or
    it is unreadable, of another format or of other code."""
    try:
        content = json.loads((root / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("format") != FORMAT or content.get("code") != _code():
        return None
    if not isinstance(content.get("tables"), dict) or not isinstance(content.get("bodies"), dict):
        return None
    return content


def record_names(record: Mapping[str, Any] | None, table: str) -> bool:
    """Whether `record` (`load_record`) has an entry for `table`: lines of it may be vouched for."""
    return record is not None and isinstance(record["tables"].get(table), dict)


def vouched(baseline: Path, record: Mapping[str, Any], table: str) -> tuple[bytes, str] | None:
    """The bytes of `baseline`'s `table` and their sha256, when they are those its
    `record` (`load_record`) names."""
    stamp = record["tables"].get(table)
    if not isinstance(stamp, dict) or path_problem(stamp.get("path")):
        return None
    try:
        before = (baseline / stamp["path"]).read_bytes()
    except OSError:
        return None
    return (before, stamp["data"]) if sha256(before) == stamp.get("data") else None


# (table, the sha256 the record gives its validated bytes, the sha256 of the new bytes)
# -> their `known_lines` if worked out already (see `pipeline.validate.ReadAhead`), else None
Ahead = Callable[[str, str, str], "np.ndarray | None"]


class Vouching:
    """What `baseline`'s record (`load_record`) vouches for in the package in `base`,
    worked out a table at a time as each is read, so that no table's bytes are kept
    after its own turn. Lines matched ahead (`ahead`) are taken as they are: the
    baseline's table is then not read again."""

    def __init__(self, baseline: Path, base: Path, ahead: Ahead | None = None):
        self.baseline, self.base, self.ahead = baseline, base, ahead
        self.content = load_record(baseline)
        self.rows: dict[str, np.ndarray] = {}

    def table(self, resource: Mapping[str, Any], raw: bytes, row_count: int, digest: str | None = None) -> None:
        """Note the known lines of the table `resource` names, its bytes `raw` (their
        sha256 `digest`, if known) read into `row_count` rows without a problem."""
        name = resource["name"]
        stamp = self.content["tables"].get(name) if self.content is not None else None
        if not isinstance(stamp, dict):
            return
        try:
            same_schema = file_sha256(self.base / resource["schema"]) == stamp.get("schema")
        except OSError:
            return
        if not same_schema:
            return
        if not raw.endswith(b"\n") or raw.count(b"\n") - 1 != row_count:
            return  # not one record per line: every row is checked
        if self.ahead is not None:
            found = self.ahead(name, stamp.get("data"), digest or sha256(raw))
            if found is not None:
                self.rows[name] = found
                return
        before = vouched(self.baseline, self.content, name)
        if before is not None:
            self.rows[name] = known_lines(before[0], raw)

    def covers(self, table: str) -> bool:
        """Whether the record may vouch for lines of `table` (else it is new to it)."""
        return record_names(self.content, table)

    def known(self) -> Known | None:
        """None when it vouches for nothing."""
        return Known(self.rows, self.content["bodies"]) if self.rows and self.content is not None else None


def _common_prefix(one: bytes, other: bytes) -> int:
    """The length of the longest common start of two byte strings (binary search: each
    step compares the next half of what is left, so ~one pass over the bytes in C)."""
    low, high = 0, min(len(one), len(other))
    while low < high:  # one[:low] == other[:low]
        middle = (low + high + 1) // 2
        if one[low:middle] == other[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(one: bytes, other: bytes, limit: int) -> int:
    """The length of the longest common end of two byte strings, at most `limit`."""
    low, high = 0, limit
    while low < high:  # one[len(one) - low:] == other[len(other) - low:]
        middle = (low + high + 1) // 2
        if one[len(one) - middle : len(one) - low] == other[len(other) - middle : len(other) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _middle(data: bytes, prefix: int, suffix: int) -> tuple[int, int, list[bytes]]:
    """The lines of a file (ending in a line break) between its first `prefix` and its
    last `suffix` bytes: the index of the first, the index after the last, the lines.

    A line counts as in the common start when its line break is, and in the common end
    when the line break before it is, so such a line is the same whole line in both files.
    """
    first = data.count(b"\n", 0, prefix)
    start = data.rfind(b"\n", 0, prefix) + 1
    end = data.find(b"\n", len(data) - suffix) + 1 or len(data)  # after the break that starts the common end
    return first, first + data.count(b"\n", start, end), data[start:end].split(b"\n")[:-1]


def known_lines(before: bytes, raw: bytes) -> np.ndarray:
    """For each line after the header of `raw`: whether it is a line after the header
    of `before` (both files end with a line break).

    A rebuild changes a few runs of lines in tables sorted by key, so the lines in the
    common start and end of the two files are known at once, and only the lines between
    are looked up among the lines between in `before`. A line found only elsewhere in
    `before` (a repeated line, which the key checks reject anyway) is left unknown:
    it is checked again, never skipped wrongly.
    """
    prefix = _common_prefix(raw, before)
    suffix = _common_suffix(raw, before, min(len(raw), len(before)) - prefix)
    count = raw.count(b"\n") - 1
    first, after, middle = _middle(raw, prefix, suffix)
    old_first, _, old_middle = _middle(before, prefix, suffix)
    known = np.ones(count, dtype=bool)
    if first == 0:  # the header is not a data line
        first, middle = 1, middle[1:]
    seen = set(old_middle[1:] if old_first == 0 else old_middle)
    known[first - 1 : after - 1] = np.fromiter((line in seen for line in middle), dtype=bool, count=len(middle))
    return known
