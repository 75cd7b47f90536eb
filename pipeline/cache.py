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
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import pipeline
from pipeline.atomic import write_text
from pipeline.corpus import Article, body_sha256
from pipeline.extract import ArticleResult, Flags, Runner, extract_article
from pipeline.registry import Registry

FORMAT = 1  # bump when the file layout below changes


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


def encode(value: Any) -> Any:
    """A JSON-ready form of a result: dataclasses, sets, tuples and dates are tagged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {"$dc": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    if isinstance(value, (set, frozenset)):
        items = [encode(v) for v in value]
        return {"$set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


@lru_cache(maxsize=None)  # a few classes, asked for ~100 times per article
def _dataclass(name: str) -> type:
    module, _, qualname = name.partition(":")
    if module != "pipeline" and not module.startswith("pipeline."):
        raise ValueError(f"refusing to build {name}: not a pipeline class")
    cls = getattr(importlib.import_module(module), qualname)
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"refusing to build {name}: not a dataclass")
    return cls


def decode(value: Any) -> Any:
    """The inverse of `encode`; raises ValueError on anything it did not write."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$dc" in value:
        cls = _dataclass(value["$dc"])
        return cls(**{k: decode(v) for k, v in value["fields"].items()})
    if len(value) != 1:
        raise ValueError(f"not an encoded value: {sorted(value)}")
    ((tag, payload),) = value.items()
    if tag == "$set":
        return {decode(v) for v in payload}
    if tag == "$tuple":
        return tuple(decode(v) for v in payload)
    if tag == "$dict":
        return {decode(k): decode(v) for k, v in payload}
    if tag == "$date":
        return datetime.date.fromisoformat(payload)
    raise ValueError(f"unknown tag {tag!r}")


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
            stored = json.loads(self.path(key).read_text(encoding="utf-8"))
            if stored.get("key") != key:
                return None
            result = decode(stored["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError):
            return None
        return result if isinstance(result, ArticleResult) else None

    def put(self, key: str, result: ArticleResult) -> None:
        """Store atomically: a reader sees the old file, the new one, or none."""
        path = self.path(key)
        write_text(path, json.dumps({"key": key, "result": encode(result)}, ensure_ascii=False, separators=(",", ":")))


def cached_results(
    cache: Cache, ordered: Sequence[Article], registry: Registry, flags: Flags, runner: Runner
) -> Iterator[ArticleResult]:
    """Per-article results in `ordered`'s order: from the cache, else from `runner`.

    Only the misses go to the runner; new results are stored as they arrive. A stored
    file found unreadable when its turn comes is recomputed here and rewritten.
    """
    keys = [article_key(a, registry, flags) for a in ordered]
    misses = [a for a, k in zip(ordered, keys) if not cache.has(k)]
    missed = {a.source_id for a in misses}
    computed = runner(misses, registry, flags)
    for article, key in zip(ordered, keys):
        if article.source_id in missed:
            result = next(computed)
            cache.put(key, result)
        else:
            result = cache.get(key)
            if result is None:
                result = extract_article(article, registry, flags)
                cache.put(key, result)
        yield result
