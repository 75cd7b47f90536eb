"""On-disk cache of per-article extraction results, for incremental builds.

A result is filed under a key that covers everything the per-article step reads: the
article (id, published date, sha256 of the body), the registry's sha256, the step's
flags, the pipeline version and a hash of the pipeline's source files, so editing the
code, the registry or an article invalidates exactly the results it could change.

Stored as JSON, not pickle: loading a pickle runs whatever code the file names, and a
cache folder is easy to share or tamper with. The JSON codec below rebuilds only
dataclasses defined in `pipeline` (plus sets, tuples and dates), so a hostile or
corrupt file can at worst be ignored. Files are written to a temp file and renamed;
a file that cannot be read back (truncated, edited, from another key) counts as a
miss and is rewritten. Deleting the folder is always safe.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import pipeline
from pipeline.atomic import write_text
from pipeline.corpus import Article, body_sha256
from pipeline.extract import ArticleResult, Flags, Runner, extract_article
from pipeline.registry import Registry

FORMAT = 4  # bump when the file layout below changes


@lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 over the pipeline's source files: any code change invalidates the cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(pipeline.__file__).parent.glob("*.py")):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def article_key(article: Article, registry: Registry, flags: Flags) -> str:
    """The cache key of one article's per-article result."""
    parts = {
        "format": FORMAT,
        "version": pipeline.__version__,
        "code": code_hash(),
        "registry": registry.sha256,
        "flags": dataclasses.asdict(flags),
        "source_id": article.source_id,
        "published": article.published,
        "body": body_sha256(article.body),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


# --- JSON codec -------------------------------------------------------------------
# Compact, as a build reads and writes one file per article: a dataclass is
# {"@": "module:Class", "v": [its fields in order]}, and a list of two or more of one
# class (an article's events) is {"@rows": "module:Class", "v": [[fields
# of one], ...]}, so reading builds them in one loop instead of one object-hook call
# each; sets, tuples, dates and dicts whose keys are not plain strings are
# {"@set": [...]}, {"@tuple": [...]}, {"@date": "..."}, {"@dict": [[k, v], ...]}; other
# dicts, lists and scalars are themselves. Reading rebuilds bottom-up in
# `json.loads`'s object hook.


_SCALARS = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    kind = type(value)  # exact types first: this runs for every value of every result
    if kind in _SCALARS:
        return value
    if kind is list:
        rows = _dataclass_fields(type(value[0])) if len(value) > 1 else None
        if rows is not None and all(type(v) is type(value[0]) for v in value):
            return {"@rows": rows[0], "v": [[_encode(getattr(v, f)) for f in rows[1]] for v in value]}
        return [_encode(v) for v in value]
    fields = _dataclass_fields(kind)
    if fields is not None:
        return {"@": fields[0], "v": [_encode(getattr(value, f)) for f in fields[1]]}
    if isinstance(value, (set, frozenset)):
        items = [_encode(v) for v in value]
        return {"@set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))}
    if isinstance(value, tuple):
        return {"@tuple": [_encode(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("@") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"@dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, datetime.date):
        return {"@date": value.isoformat()}
    if isinstance(value, _SCALARS):  # subclasses (an IntEnum, a str subclass)
        return value
    raise TypeError(f"cannot cache a {kind.__name__}")


@lru_cache(maxsize=None)
def _dataclass_fields(kind: type) -> tuple[str, tuple[str, ...]] | None:
    """("module:Class", its init fields) for a dataclass type, else None."""
    if not dataclasses.is_dataclass(kind):
        return None
    fields = tuple(f.name for f in dataclasses.fields(kind) if f.init)
    return f"{kind.__module__.removeprefix('pipeline.')}:{kind.__qualname__}", fields


def dumps(value: Any) -> str:
    """JSON text of a result (dataclasses of `pipeline`, containers, dates, scalars)."""
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=None)  # a few classes, asked for ~100 times per article
def _dataclass(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.isidentifier():
        raise ValueError(f"refusing to build {name}: not a pipeline class")
    try:
        cls = getattr(importlib.import_module(f"pipeline.{module}"), qualname)
    except (ImportError, AttributeError):
        raise ValueError(f"refusing to build {name}: not a pipeline class") from None
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"refusing to build {name}: not a dataclass")
    return cls


def _decode_object(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:  # a tagged value (mostly a set of ids) or a plain one-key dict
        ((tag, payload),) = obj.items()
        if tag == "@set":
            return _set(payload)
        if tag == "@tuple":
            return tuple(payload)
        if tag == "@dict":
            return {_hashable(k): v for k, v in payload}
        if tag == "@date":
            return datetime.date.fromisoformat(payload)
        if tag.startswith("@"):
            raise ValueError(f"unknown tag {tag!r}")
        return obj
    if "@" in obj:
        if len(obj) != 2 or not isinstance(obj.get("v"), list):
            raise ValueError(f"not an encoded dataclass: {sorted(obj)}")
        return _dataclass(obj["@"])(*obj["v"])
    if "@rows" in obj:
        rows = obj.get("v")
        if len(obj) != 2 or not isinstance(rows, list) or not all(type(row) is list for row in rows):
            raise ValueError(f"not encoded rows: {sorted(obj)}")
        cls = _dataclass(obj["@rows"])
        return [cls(*row) for row in rows]
    if any(k.startswith("@") for k in obj):
        raise ValueError(f"not an encoded value: {sorted(obj)}")
    return obj


def _set(payload: list[Any]) -> set[Any]:
    if not isinstance(payload, list):
        raise ValueError("an encoded set holds a list of its members")
    try:  # members are mostly entity ids, repeated across results: shared, not copied
        return {sys.intern(v) if type(v) is str else v for v in payload}
    except TypeError:  # a list or dict among the members
        raise ValueError("a set member or dict key must be hashable") from None


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        raise ValueError("a set member or dict key must be hashable")
    return value


def loads(text: str) -> Any:
    """The inverse of `dumps`; raises ValueError on anything it did not write."""
    return json.loads(text, object_hook=_decode_object)


# --- the store ------------------------------------------------------------------------


class Cache:
    """A folder of `<key[:2]>/<key>.json` files, each holding one ArticleResult."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> ArticleResult | None:
        """The stored result, or None when missing or unreadable (then it is a miss)."""
        try:
            stored = loads(self.path(key).read_text(encoding="utf-8"))
            if stored.get("key") != key:
                return None
            result = stored["result"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError):
            return None
        return result if isinstance(result, ArticleResult) else None

    def put(self, key: str, result: ArticleResult) -> None:
        """Store atomically: a reader sees the old file, the new one, or none."""
        path = self.path(key)
        write_text(path, dumps({"key": key, "result": result}))


def cached_results(
    cache: Cache, ordered: Sequence[Article], registry: Registry, flags: Flags, runner: Runner
) -> Iterator[ArticleResult]:
    """Per-article results in `ordered`'s order: from the cache, else from `runner`.

    Only the misses go to the runner; new results are stored as they arrive. While
    the runner works on the misses (a worker process loading GiNZA, say), the stored
    results are read ahead, so that neither waits for the other. A stored file found
    unreadable when its turn comes is recomputed here and rewritten.
    """
    keys = [article_key(a, registry, flags) for a in ordered]
    misses = [a for a, k in zip(ordered, keys) if not cache.has(k)]
    missed = {a.source_id for a in misses}
    computed = runner(misses, registry, flags)
    stored = {a.source_id: cache.get(k) for a, k in zip(ordered, keys) if a.source_id not in missed} if misses else {}
    for article, key in zip(ordered, keys):
        if article.source_id in missed:
            result = next(computed)
            cache.put(key, result)
        else:
            result = stored.pop(article.source_id) if stored else cache.get(key)
            if result is None:
                result = extract_article(article, registry, flags)
                cache.put(key, result)
        yield result
    if next(computed, None) is not None:  # running it to its end also shuts its workers down
        raise RuntimeError("the runner returned more results than it was given articles")
