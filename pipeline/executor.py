"""Where the per-article step runs: here, in a process pool, or on a Dask cluster.

Every runner yields results in the order of the articles it was given, whatever order
they finish in, so the cross-article step (and the output) never depends on timing.
Work is submitted in chunks of articles (whose GiNZA work is batched together) through
a bounded window, so memory stays flat however large the corpus: at most `window`
chunks and their results are in flight at once.

- `local`: this process (no start-up cost; best for a handful of articles);
- `process`: a pool of worker processes (default: one per core), each loading the
  registry and the NLP models once, in its initializer;
- `dask`: `dask.distributed`, a LocalCluster by default or an existing scheduler
  (`--scheduler tcp://host:8786`) to scale out across machines. Dask rather than Ray:
  pure-Python wheels of a few MB, no separate daemon, a scheduler address is all a
  remote run needs, and its futures behave like `concurrent.futures`.
- `auto`: `process` when there are at least `POOL_MIN_ARTICLES` articles to extract
  and more than one core; for fewer (an incremental build), one worker forked from
  this process (`pipeline.forking`: it starts without importing anything again, and
  loads GiNZA and extracts while this process reads the cache), or `local` where a
  fork is not safe (other threads, not Linux) or there is one core. A build forks
  that worker before it reads the corpus (`standing_by`): loading GiNZA (~1.5 s) took
  longer than reading the corpus and 2,000 cached results, so an incremental build
  waited for it; the worker is killed at once when the build needs none.

Runners start their work when called, not when their first result is asked for.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from pipeline import paths
from pipeline.corpus import Article
from pipeline.extract import CHUNK, ArticleResult, Flags, Runner, chunks, extract_articles, run_local
from pipeline.forking import ChildLost, Standby, fork_safe, quiet_on_interrupt
from pipeline.progress import bar, progress_on
from pipeline.registry import Registry

EXECUTORS = ("auto", "local", "process", "dask")
DEFAULT_CACHE = paths.ROOT / ".build" / "cache"
POOL_MIN_ARTICLES = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """How to run extraction: chosen on the command line, defaults for everything else."""

    executor: str = "auto"
    workers: int | None = None  # default: the number of cores
    scheduler: str | None = None  # dask only: address of an existing scheduler
    progress: bool | None = None  # None: on when stderr is a terminal and not in CI
    cache_dir: Path | None = DEFAULT_CACHE  # None: no cache
    registry: Path | None = None  # None: curation/registry.yaml


class ExecutorError(Exception):
    """The executor itself failed (a worker died, the scheduler cannot be reached)."""


_current: ContextVar[Settings] = ContextVar("extract_settings", default=Settings())


def current_settings() -> Settings:
    """The settings `build.extract_all` uses when it is given none (see `using`)."""
    return _current.get()


@contextmanager
def using(settings: Settings) -> Iterator[Settings]:
    """Make `settings` current for the block: how the CLI reaches `build.build`."""
    token = _current.set(settings)
    try:
        yield settings
    finally:
        _current.reset(token)


def cores() -> int:
    """Cores this process may use (respects CPU affinity, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def with_progress(results: Iterable[ArticleResult], total: int, enabled: bool) -> Iterator[ArticleResult]:
    """A bar on stderr counting articles (a no-op when disabled)."""
    with bar(total, "article", "extract", enabled) as shown:
        for result in results:
            yield result
            shown.update(1)


def ordered_window(items: list[T], submit: Callable[[T], Any], window: int) -> Iterator[Any]:
    """Submit at most `window` items ahead of the one being waited for; yield in order.

    The first `window` items are submitted at once, before the first result is asked
    for, so the work starts while the caller does something else (reads the cache).
    """
    queue = iter(items)
    pending = deque(submit(a) for a in islice(queue, window))

    def results() -> Iterator[Any]:
        while pending:
            result = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(submit(following))
            yield result

    return results()


# --- process pool -------------------------------------------------------------------

_worker: dict[str, Any] = {}


def warm(flags: Flags) -> None:
    """Load the models the step will need, once per process, before the first article."""
    from pipeline.nlp import ginza, sudachi

    if flags.use_ner:
        sudachi()
    if flags.use_ner or flags.parse:
        ginza()


def _init_worker(registry: Registry, flags: Flags) -> None:
    quiet_on_interrupt()
    _worker["registry"], _worker["flags"] = registry, flags
    warm(flags)


def _work(chunk: list[Article]) -> list[ArticleResult]:
    return extract_articles(chunk, _worker["registry"], _worker["flags"])


def pool_chunks(articles: list[Article], workers: int) -> list[list[Article]]:
    """Chunks for `workers` processes: up to `CHUNK` articles (their GiNZA work is
    batched), but small enough that every worker gets several."""
    return chunks(articles, max(1, min(CHUNK, math.ceil(len(articles) / (4 * workers)))))


def run_process(
    articles: list[Article], registry: Registry, flags: Flags, workers: int
) -> Iterator[ArticleResult]:
    """The per-article step in `workers` processes, started (and their first chunks
    submitted) before this returns.

    Spawned: a fork would copy whatever threads this process runs (a few articles go
    to one forked worker instead, see `run_forked`).
    """
    if not articles:
        return iter(())
    workers = max(1, min(workers, len(articles)))
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(registry, flags))
    try:
        results = ordered_window(pool_chunks(articles, workers), lambda c: pool.submit(_work, c), window=2 * workers)
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    return _drained(pool, chain.from_iterable(results))


def _drained(pool: ProcessPoolExecutor, results: Iterator[ArticleResult]) -> Iterator[ArticleResult]:
    """Yield the pool's results, then shut it down (also when the caller stops early)."""
    try:
        yield from results
    except BrokenProcessPool as err:
        raise ExecutorError(f"extraction: a worker process died ({err}); try --executor local") from None
    finally:
        pool.shutdown(cancel_futures=True)


# --- one forked worker, made ready early ----------------------------------------------

_standby: ContextVar[Standby | None] = ContextVar("standby", default=None)


def _get_ready() -> None:
    warm(Flags())


def _standby_work(job: tuple[list[Article], Registry, Flags]) -> list[ArticleResult]:
    chunk, registry, flags = job
    return extract_articles(chunk, registry, flags)


@contextmanager
def standing_by(settings: Settings | None = None) -> Iterator[None]:
    """For the block, a forked worker loading the models, for the few articles an
    incremental build may have to extract (`auto` only, with more than one core, where
    a fork is safe). It is stopped when the runner needs no such worker, and at the end
    of the block, used or not."""
    settings = settings or current_settings()
    wanted = settings.executor == "auto" and (settings.workers or cores()) >= 2
    worker = Standby(_get_ready, _standby_work) if wanted else None
    token = _standby.set(worker)
    try:
        yield
    finally:
        _standby.reset(token)
        if worker is not None:
            worker.stop()


def current_standby() -> Standby | None:
    """The worker `standing_by` readied for this build, if any."""
    return _standby.get()


def _stop_standby() -> None:
    worker = _standby.get()
    if worker is not None:
        worker.stop()


def run_forked(articles: list[Article], registry: Registry, flags: Flags) -> Iterator[ArticleResult]:
    """A few articles in one forked worker, the one `standing_by` readied if there is
    one, all sent to it before this returns; whatever the worker cannot do (it died, or
    no fork was possible) is done in this process, with the same results."""
    worker = _standby.get()
    if worker is None or not worker.ready:
        worker = Standby(partial(warm, flags), _standby_work)
    jobs = chunks(articles)
    sent = 0
    try:
        for chunk in jobs:
            worker.send((chunk, registry, flags))
            sent += 1
    except ChildLost:
        pass
    return _forked_results(worker, jobs, sent, registry, flags)


def _forked_results(worker: Standby, jobs: list[list[Article]], sent: int, registry: Registry, flags: Flags) -> Iterator[ArticleResult]:
    lost = False
    try:
        for i, chunk in enumerate(jobs):
            if i < sent and not lost:
                try:
                    yield from worker.receive()
                    continue
                except ChildLost:
                    lost = True
            yield from extract_articles(chunk, registry, flags)
    finally:
        worker.stop()


# --- dask ------------------------------------------------------------------------------


def _dask_work(chunk: list[Article], registry: Registry, flags: Flags) -> list[ArticleResult]:
    return extract_articles(chunk, registry, flags)


def run_dask(
    articles: list[Article], registry: Registry, flags: Flags, workers: int, scheduler: str | None
) -> Iterator[ArticleResult]:
    """The per-article step on a Dask cluster: a LocalCluster, or the one at `scheduler`.

    Workers must be able to import this `pipeline` package (on a remote cluster: start
    `dask worker ADDRESS` from a checkout with the same code and environment).
    """
    if not articles:
        return
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as err:
            raise ExecutorError(f"extraction: cannot reach the Dask scheduler at {scheduler}: {err}") from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        client.run(warm, flags)
        shared = client.scatter(registry, broadcast=True)
        workers = max(1, len(client.scheduler_info()["workers"]))
        yield from chain.from_iterable(
            ordered_window(
                pool_chunks(articles, workers),
                # with their bodies: a worker of a remote cluster cannot read this machine's files
                lambda c: client.submit(_dask_work, [a.with_body() for a in c], shared, flags, key=f"extract-{c[0].source_id}", pure=False),
                2 * workers,
            )
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def auto_executor(articles: int, workers: int) -> str:
    """What `auto` runs `articles` misses on: a pool for many; for a few (an
    incremental build), one forked worker when it is safe, so that loading GiNZA and
    extracting them overlaps with reading the cache; else this process."""
    if not articles or workers < 2:
        return "local"
    if articles >= POOL_MIN_ARTICLES:
        return "process"
    return "fork" if fork_safe() else "local"


def make_runner(settings: Settings) -> Runner:
    """The runner `extract_tables` calls with the articles left to extract."""
    if settings.executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {settings.executor!r}")
    workers = settings.workers or cores()
    show = progress_on(settings.progress)

    def runner(articles: list[Article], registry: Registry, flags: Flags) -> Iterator[ArticleResult]:
        kind = settings.executor
        if kind == "auto":
            kind = auto_executor(len(articles), workers)
        if kind != "fork":
            _stop_standby()  # no use for it: give its core back now
        if kind == "local":
            results = run_local(articles, registry, flags)
        elif kind == "process":
            results = run_process(articles, registry, flags, workers)
        elif kind == "fork":
            results = run_forked(articles, registry, flags)
        else:
            results = run_dask(articles, registry, flags, workers, settings.scheduler)
        return with_progress(results, len(articles), show)

    return runner
