"""How the pipeline allocates: no cyclic garbage collection while it builds large
object graphs, and freed C heap handed back to the system between large tables.

CPython's cyclic collector scans every container object it tracks at least once, and
rescans the survivors of earlier passes as new ones accumulate. Reading 2,000 cached
results, merging their events or checking a million rows creates millions of
long-lived objects with no reference cycles: with the default thresholds (700, 10, 10)
the passes took over a quarter of an incremental build, and with raised thresholds
(100,000, 50, 100) they still took 0.45-0.5 s of a 6.5 s one (measured with
`gc.callbacks`), as each object is scanned anyway. So the collector is off for such a
phase (plain reference counting still frees everything that is not in a cycle) and
back on afterwards, when the few cycles made meanwhile are collected as usual; the
build's peak memory did not change (measured at 500 to 2,000 articles).

Reading a table for validation (pyarrow's parse, the text it decodes, the frame) frees
most of what it allocates, but glibc's allocator keeps freed memory it got in smaller
pieces for later: validating the 2,000-article package grew the process by 81 MB for
31 MB of frames. `release_free_memory` gives those pages back (`malloc_trim`), after
each table and before the checks: validation's peak at 2,000 articles fell from 295 to
262 MB (a full check) and from 305 to 261 MB (a rebuild's). Where the C library has
no `malloc_trim` (macOS, musl) it does nothing.

The checks' arrow computations (pandas' text columns, `pyarrow.compute`) draw on
arrow's default memory pool, mimalloc, which keeps what they free for arrow's own
later use; the pandas and Python objects validation makes next cannot use it. So
validation runs with the system allocator as arrow's default (`arrow_on_system_heap`):
validating the 8,000-article package peaked at 447-475 MB instead of 509-516, in
the same time (3.2-3.4 s, alternating).
"""

from __future__ import annotations

import ctypes
import gc
from contextlib import contextmanager
from functools import lru_cache, wraps
from typing import Callable, Iterator, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """The cyclic collector off for the block; on again after it if it was on before."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def allocates_in_bulk(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` under `bulk_allocation`."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with bulk_allocation():
            return function(*args, **kwargs)

    return wrapper


@contextmanager
def arrow_on_system_heap() -> Iterator[None]:
    """pyarrow's default memory pool is the system allocator for the block (each
    buffer keeps the pool it came from, so switching back is safe)."""
    import pyarrow

    before = pyarrow.default_memory_pool()
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    try:
        yield
    finally:
        pyarrow.set_memory_pool(before)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc; elsewhere a no-op)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
