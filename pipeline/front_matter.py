"""Parse an article's YAML front matter strictly, and remember the parses between builds.

PyYAML builds the mapping in Python, and that is most of what reading the corpus
costs: 0.15 of 0.29 s for 2,000 articles, on the path of every incremental build. A
front matter whose text is the one parsed before gives the same mapping, so
`FrontMatterMemo` files each plain mapping (text, integer, true/false and empty
values) under the sha256 of its text in one JSON file beside the extraction cache.
Everything after the parse (required fields, the id, the EDTF date, warnings) runs
again on every read. A parse that failed, or gave anything else, is never stored: it
is parsed again, and its problem reported again, each time. The file is a speed-up
only: written atomically, ignored when unreadable or written by other code or another
PyYAML, and always safe to delete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import orjson
import yaml

from pipeline.atomic import write_bytes

FORMAT = 1  # bump when the file layout below changes


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~8x faster
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value, not {type(key).__name__}", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)
# Dates stay text: the contract's `published` is EDTF, which YAML's timestamps do not
# cover (2025-04, 2025~), and YAML would crash on an impossible date like 2025-13-01.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_front_matter(front: str) -> Any:
    """The front matter's YAML value; yaml.YAMLError or ValueError when it is not valid."""
    return yaml.load(front, Loader=_StrictLoader)


def _plain(value: Any) -> bool:
    """A mapping that JSON gives back exactly: text keys; text, bool, null or 64-bit
    integer values (orjson writes no larger integer)."""
    return type(value) is dict and all(
        type(k) is str and (v is None or type(v) in (str, bool) or (type(v) is int and -(2**63) <= v < 2**63))
        for k, v in value.items()
    )


def _stamp() -> dict[str, Any]:
    """What a stored parse depends on besides its text: the loader's code and PyYAML."""
    from pipeline.cache import code_hash

    return {"format": FORMAT, "code": code_hash(), "yaml": yaml.__version__, "libyaml": _StrictLoader is not yaml.SafeLoader}


class FrontMatterMemo:
    """Parsed front matter by the sha256 of its text, kept in one file between builds.

    `save()` keeps the parses used since the memo was opened: an article removed from
    the corpus takes its entry with it, so the file holds one entry per article.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stored = self._read()
        self._used: dict[str, dict[str, Any]] = {}

    def _read(self) -> dict[str, Any]:
        try:
            content = orjson.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(content, dict) or content.get("stamp") != _stamp() or not isinstance(content.get("parses"), dict):
            return {}
        return content["parses"]

    def parse(self, front: str) -> Any:
        """`parse_front_matter(front)`, from the memo when this text was parsed before."""
        key = hashlib.sha256(front.encode("utf-8")).hexdigest()
        stored = self._stored.get(key)
        if _plain(stored):
            self._used[key] = stored
            return dict(stored)
        value = parse_front_matter(front)  # errors propagate, and are not stored
        if _plain(value):
            self._used[key] = value
            return dict(value)
        return value

    def save(self) -> None:
        """Write the parses used, when they differ from the file's (atomically)."""
        if self._used != self._stored:
            content = {"stamp": _stamp(), "parses": dict(sorted(self._used.items()))}
            write_bytes(self.path, orjson.dumps(content))
            self._stored = dict(self._used)
