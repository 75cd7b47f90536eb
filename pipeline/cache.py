"""On-disk cache of per-article extraction results, for incremental builds.

A result is filed under a key that covers everything the per-article step reads: the
article (id, published date, sha256 of the body), the registry's sha256, the step's
flags, the pipeline version and a hash of the pipeline's source files, so editing the
code, the registry or an article invalidates exactly the results it could change.

Stored as JSON, not pickle: loading a pickle runs whatever code the file names, and a
cache folder is easy to share or tamper with. The JSON codec below rebuilds only the
types `ArticleResult` declares, so a hostile or corrupt file can at worst be ignored. Files are written to a temp file and renamed;
a file that cannot be read back (truncated, edited, from another key) counts as a
miss and is rewritten. Deleting the folder is always safe.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools
import json
import sys
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import orjson

import pipeline
from pipeline.atomic import write_bytes
from pipeline.corpus import Article
from pipeline.dates import DateValue
from pipeline.extract import ArticleResult, Flags, Runner, extract_article
from pipeline.registry import Registry

FORMAT = 6  # bump when the file layout below changes


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
        "body": article.text_sha256,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


# --- JSON codec -------------------------------------------------------------------
# A value is written as the JSON its type gives: a dataclass as the list of its init
# fields, a set as a sorted list, a tuple as a list, a date as ISO text, a dict with
# string keys as an object and any other dict as a list of [key, value] pairs. The
# file names no class: reading rebuilds each value from the type its field declares
# (`typing.get_type_hints`), so nothing but the declared types can come out of it, and
# a value of another shape is a ValueError. orjson parses a file in half the time of
# the json module, which cannot be given the types (its object hook sees every dict).


def _encode(value: Any) -> Any:
    kind = type(value)  # exact types first: this runs for every value of every result
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        return [_encode(v) for v in value]
    fields = _init_fields(kind)
    if fields is not None:
        return [_encode(getattr(value, f)) for f in fields]
    if isinstance(value, (set, frozenset)):
        return sorted((_encode(v) for v in value), key=_order)
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return [[_encode(k), _encode(v)] for k, v in value.items()]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, _SCALARS):  # subclasses (an IntEnum, a str subclass)
        return value
    raise TypeError(f"cannot cache a {kind.__name__}")


_SCALARS = (str, int, float, bool, type(None))


def _order(value: Any) -> Any:
    """Set members in one order whatever their hashes: strings as themselves, the rest by their JSON."""
    return (0, value, "") if type(value) is str else (1, "", json.dumps(value, sort_keys=True))


@lru_cache(maxsize=None)
def _init_fields(kind: type) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind) if f.init)


def dumps(value: Any) -> bytes:
    """The JSON of a value (dataclasses, containers, dates, scalars), as UTF-8."""
    return orjson.dumps(_encode(value))


def loads(data: bytes | str, kind: Any) -> Any:
    """The inverse of `dumps` for a value of type `kind`; ValueError on any other shape."""
    decode = _decoder(kind)  # TypeError for a type it cannot read: a bug, not a bad file
    try:
        return decode(orjson.loads(data))
    except TypeError as err:  # a member that cannot be hashed or interned
        raise ValueError(str(err)) from None


Decode = Callable[[Any], Any]


def _fail(kind: Any, value: Any) -> ValueError:
    return ValueError(f"expected {kind}, found {type(value).__name__}")


@lru_cache(maxsize=None)
def _decoder(kind: Any) -> Decode:
    """A function from parsed JSON to a value of `kind` (a type as annotated)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return lambda value: value
    if kind in _SCALARS:
        return _scalar(kind)
    if origin in (typing.Union, types.UnionType):
        return _optional(kind, args)
    if kind is tuple or origin is tuple:
        return _tuple(kind, args)
    if origin is list:
        return _list(kind, _decoder(args[0]))
    if origin in (set, frozenset):
        return _set(kind, origin, _decoder(args[0]))
    if origin is dict:
        return _dict(kind, args[0], _decoder(args[0]), _decoder(args[1]))
    if kind is datetime.date:
        return _date
    if kind in SHARED:
        return _shared(_dataclass(kind))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind)
    raise TypeError(f"cannot read a cached {kind}")


# Immutable values that repeat across results: 30,764 event dates at 2,000 articles,
# 1,345 of them distinct. Each distinct one is decoded once (a date costs two
# `fromisoformat` calls and a check) and shared, up to SHARED_LIMIT values of a type.
SHARED = frozenset({DateValue})
SHARED_LIMIT = 100_000


def _shared(decode: Decode) -> Decode:
    seen: dict[tuple, Any] = {}

    def shared(value: Any) -> Any:
        if type(value) is list:  # of scalars when valid
            try:
                return seen[tuple(value)]
            except (KeyError, TypeError):  # new, or a member that cannot be hashed (decode says why)
                pass
        decoded = decode(value)
        if len(seen) < SHARED_LIMIT:
            seen[tuple(value)] = decoded
        return decoded

    return shared


def _allowed(kind: Any) -> tuple[type, ...] | None:
    """The JSON types a scalar field may hold (`float`: ints too; `X | None`: None too),
    or None for a field that is no scalar. Dataclass fields are checked inline: most
    fields are scalars, and a call per field would cost more than the rest of a read."""
    if kind in _SCALARS:
        return (int, float) if kind is float else (kind,)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = typing.get_args(kind)
        inner = [a for a in args if a is not type(None)]
        if len(args) == 2 and len(inner) == 1 and inner[0] in _SCALARS:
            return (*_allowed(inner[0]), type(None))
    return None


def _scalar(kind: type) -> Decode:
    allowed = _allowed(kind)

    def decode(value: Any) -> Any:
        if type(value) not in allowed:
            raise _fail(kind, value)
        return value

    return decode


def _optional(kind: Any, args: tuple) -> Decode:
    others = [a for a in args if a is not type(None)]
    if len(others) != 1 or len(args) != 2:
        raise TypeError(f"cannot read a cached {kind}: only X | None unions")
    inner = _decoder(others[0])
    return lambda value: None if value is None else inner(value)


def _frozen(value: Any) -> tuple:
    """A bare `tuple`: of scalars, and of such tuples (written as lists)."""
    if type(value) is not list:
        raise _fail(tuple, value)
    out = []
    for v in value:
        if type(v) is list:
            out.append(_frozen(v))
        elif type(v) in _SCALARS:
            out.append(v)
        else:
            raise _fail("a scalar", v)
    return tuple(out)


def _tuple(kind: Any, args: tuple) -> Decode:
    if not args:
        return _frozen
    if len(args) == 2 and args[1] is Ellipsis:
        each = _decoder(args[0])
        return lambda value: tuple(each(v) for v in _listed(kind, value))
    parts = [_decoder(a) for a in args]

    def decode(value: Any) -> tuple:
        if type(value) is not list or len(value) != len(parts):
            raise _fail(kind, value)
        return tuple(part(v) for part, v in zip(parts, value))

    return decode


def _listed(kind: Any, value: Any) -> list:
    if type(value) is not list:
        raise _fail(kind, value)
    return value


def _list(kind: Any, each: Decode) -> Decode:
    return lambda value: [each(v) for v in _listed(kind, value)]


def _set(kind: Any, origin: type, each: Decode) -> Decode:
    if typing.get_args(kind) == (str,):  # sets of ids, repeated across results: shared, not copied
        return lambda value: origin(map(sys.intern, _listed(kind, value)))  # intern refuses a non-str
    return lambda value: origin(each(v) for v in _listed(kind, value))


def _dict(kind: Any, key_type: Any, key: Decode, each: Decode) -> Decode:
    if key_type is str:

        def decode(value: Any) -> dict:
            if type(value) is not dict:
                raise _fail(kind, value)
            return {sys.intern(k): each(v) for k, v in value.items()}

        return decode

    def pairs(value: Any) -> dict:
        out = {}
        for pair in _listed(kind, value):
            if type(pair) is not list or len(pair) != 2:
                raise _fail(kind, pair)
            out[key(pair[0])] = each(pair[1])
        return out

    return pairs


def _date(value: Any) -> datetime.date:
    if type(value) is not str:
        raise _fail(datetime.date, value)
    return datetime.date.fromisoformat(value)


def _json_types(kind: Any) -> tuple[type, ...]:
    """The JSON types a value of `kind` is written as."""
    allowed = _allowed(kind)
    if allowed is not None:
        return allowed
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for a in args for t in _json_types(a))
    if kind is datetime.date:
        return (str,)
    if origin is dict:
        return (dict,) if args[0] is str else (list,)
    return (list,)


def _dataclass(kind: type) -> Decode:
    """Fields are checked all at once: the tuple of their JSON types must be one the
    declared types allow (most fields are scalars, and a call per field would cost more
    than the rest of a read); the others are then decoded by their own decoders."""
    fields = _init_fields(kind)
    shapes: set[tuple[type, ...]] = set()
    parts: list[tuple[int, Decode]] = []

    def decode(value: Any) -> Any:
        if not shapes:  # filled on first use: a field may name this class again
            hints = [typing.get_type_hints(kind)[name] for name in fields]
            shapes.update(itertools.product(*map(_json_types, hints)))
            parts.extend((i, _decoder(h)) for i, h in enumerate(hints) if _allowed(h) is None)
        if type(value) is not list or tuple(map(type, value)) not in shapes:
            raise _fail(kind.__name__, value)
        if not parts:
            return kind(*value)
        args = list(value)
        for i, part in parts:
            args[i] = part(args[i])
        return kind(*args)

    return decode


# --- the store ------------------------------------------------------------------------


Stored = tuple[str, ArticleResult]  # what a file holds: its key, and the result


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
            stored_key, result = loads(self.path(key).read_bytes(), Stored)
        except (OSError, ValueError, TypeError):
            return None
        return result if stored_key == key else None

    def put(self, key: str, result: ArticleResult) -> None:
        """Store atomically: a reader sees the old file, the new one, or none."""
        write_bytes(self.path(key), dumps((key, result)))


READ_AHEAD = 256  # stored results read while a miss is computed: a bound, so a rebuild's memory does not grow with the corpus


def cached_results(
    cache: Cache, ordered: Sequence[Article], registry: Registry, flags: Flags, runner: Runner
) -> Iterator[ArticleResult]:
    """Per-article results in `ordered`'s order: from the cache, else from `runner`.

    Only the misses go to the runner; new results are stored as they arrive. While
    the runner works on a miss (a worker process loading GiNZA, say), up to
    `READ_AHEAD` of the stored results that follow it are read, so that neither waits
    for the other (reading every one ahead made a 2,000-article rebuild hold them all).
    A stored file found unreadable when its turn comes is recomputed here and rewritten.
    """
    keys = [article_key(a, registry, flags) for a in ordered]
    missed = [not cache.has(k) for k in keys]
    computed = runner([a for a, miss in zip(ordered, missed) if miss], registry, flags)
    ahead: dict[int, ArticleResult | None] = {}  # by position in `ordered`
    unread = 0  # the first position not yet read ahead or passed
    for position, (article, key) in enumerate(zip(ordered, keys)):
        unread = max(unread, position + 1)
        if missed[position]:
            while unread < len(ordered) and len(ahead) < READ_AHEAD:
                if not missed[unread]:
                    ahead[unread] = cache.get(keys[unread])
                unread += 1
            result = next(computed)
            cache.put(key, result)
        else:
            result = ahead.pop(position) if position in ahead else cache.get(key)
            if result is None:
                result = extract_article(article, registry, flags)
                cache.put(key, result)
        yield result
    if next(computed, None) is not None:  # running it to its end also shuts its workers down
        raise RuntimeError("the runner returned more results than it was given articles")
