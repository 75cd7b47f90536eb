"""Build the package end to end: corpus → extract → corrections → validate → publish.

Everything is written to a staging folder first and validated there; only a valid
package replaces `data/` and `datapackage.json`. The replacement is a few renames
recorded in a journal (`.build/COMMIT`, written atomically after the staged files are
flushed): if a build is killed before the journal exists, the published files were
never touched; if it is killed after, the next build (or `recover`) rolls the renames
forward before doing anything else, so the published files are never left half-written.
`AOE_KILL_AT=<point>` makes a build SIGKILL itself at a named point, for tests.
One build at a time per checkout (`exclusive`): a second one would delete the first's
staging folder while recovering, or interleave its renames with the first's.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import resource
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Collection, Iterable, Iterator, Mapping

from pipeline import validated
from pipeline.allocation import allocates_in_bulk
from pipeline.atomic import write_text
from pipeline.corpus import Article, bodies, load_corpus
from pipeline.forking import Background, Beside, fork_safe
from pipeline.package import read_descriptor, write_descriptor
from pipeline.paths import ROOT, TABLES
from pipeline.tables import OrderedRows, RenderedTable, load_schema, write_table
from pipeline.texts import SpooledTexts
from pipeline.validate import ReadAhead, Report, validate_package, warm_up

Tables = Mapping[str, Iterable[Mapping[str, Any]]]


class BuildError(Exception):
    """The new package did not validate; the published files were left as they were."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(report.summary())


class BuildBusy(Exception):
    """Another build holds this checkout; nothing was touched."""


# The lock files this process holds open (see `exclusive` and `forget_build_lock`).
_held_locks: list[IO[str]] = []


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold `.build/build.lock` for the block (an flock: the kernel drops it when the
    last descriptor of it closes, so a killed build never leaves a stale lock)."""
    import fcntl

    (root / ".build").mkdir(parents=True, exist_ok=True)
    with open(root / ".build" / "build.lock", "a+", encoding="utf-8") as handle, _holding(handle):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BuildBusy(f"another build is running in {root} (process {holder}); wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _holding(handle: IO[str]) -> Iterator[None]:
    _held_locks.append(handle)
    try:
        yield
    finally:
        _held_locks.remove(handle)


def forget_build_lock() -> None:
    """In a forked child: close the lock file it inherited. The parent keeps the lock;
    a child left running after its parent was killed no longer holds it."""
    while _held_locks:
        _held_locks.pop().close()


@dataclass(frozen=True)
class BuildResult:
    root: Path
    rows: dict[str, int]
    report: Report


def _kill_point(name: str) -> None:
    """Test hook: `AOE_KILL_AT=<name>` makes the build SIGKILL itself at that point
    (from the child that extracts and stages, see `staged_aside`: the build first)."""
    if os.environ.get("AOE_KILL_AT") == name:
        if multiprocessing.parent_process() is not None:
            os.kill(os.getppid(), 9)
        os.kill(os.getpid(), 9)


# In the extraction cache's folder, beside its `<key[:2]>/` folders of results.
FRONT_MATTER_MEMO = "front-matter.json"


# The longest table still to render, if at least this long, is written by a forked
# child while this process writes the others (mentions come rendered; at 2,000
# articles the 30,000 event_evidence rows took 0.37 s, the other tables 0.25 s).
BESIDE_MIN_ROWS = 20_000


# In the build's child (see `staged_aside`): the pipe on which it tells the build
# process how far it is, so that the build process does its own work meanwhile.
_telling: Any = None
TEXTS = "texts"  # some article bodies, (source id, UTF-8) pairs, said as soon as the corpus is read
EXTRACTED = "extracted"  # every article's result is in: the merge alone runs now
WRITTEN = "written"  # a table is written, at the path said
DONE = "done"  # nothing more will be said
TEXTS_AT_ONCE = 256  # article bodies per TEXTS message


def _tell(what: str, said: Any = None) -> None:
    """Say TEXTS (and the texts), EXTRACTED, WRITTEN (and which table, where) or DONE."""
    if _telling is not None:
        _telling.send((what, said))


class TextsTeller:
    """Hands the article bodies to the build process as the corpus is read, a few at a
    time, while it waits: at the end, in one message with the rest of the result, they
    made its peak (at 8,000 articles the pickle and the texts, 41 MB above what it held
    after). The child then keeps no body (`load_corpus(bodies_to=...)`)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[str, bytes]] = []

    def __call__(self, article: Article) -> None:
        # as UTF-8 we encoded: pickling a str leaves its UTF-8 copy cached in it (+50 MB here at 8,000 articles)
        self.waiting.append((article.source_id, article.body.encode("utf-8")))
        if len(self.waiting) == TEXTS_AT_ONCE:
            self.flush()

    def flush(self) -> None:
        if self.waiting:
            _tell(TEXTS, self.waiting)
            self.waiting = []


def texts_teller() -> TextsTeller | None:
    """A `TextsTeller`, or None when nothing is listening: the result then carries the bodies."""
    return TextsTeller() if _telling is not None else None


@allocates_in_bulk
def write_tables(folder: Path, tables: Tables, schemas_dir: Path) -> dict[str, int]:
    """Write each table as `<folder>/<name>.csv` in schema order; return row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {name: _rows(tables[name]) for name in TABLES if name in tables}
    to_render = [name for name in rows if not isinstance(rows[name], RenderedTable)]  # the others are joined
    largest = max(to_render, key=lambda name: len(rows[name]), default=None)
    aside = None
    if largest is not None and len(rows[largest]) >= BESIDE_MIN_ROWS:
        aside = Beside(write_table, folder / f"{largest}.csv", rows[largest], load_schema(largest, schemas_dir))
    for name in rows:
        if name == largest and aside is not None:
            continue
        write_table(folder / f"{name}.csv", rows[name], load_schema(name, schemas_dir))
        _kill_point(f"wrote:{name}")
        _tell(WRITTEN, (name, str(folder / f"{name}.csv")))
    if aside is not None:
        if not aside.join():  # no fork here, or the child failed: write it (and raise) here
            write_table(folder / f"{largest}.csv", rows[largest], load_schema(largest, schemas_dir))
        _kill_point(f"wrote:{largest}")
        _tell(WRITTEN, (largest, str(folder / f"{largest}.csv")))
    return {name: len(table) for name, table in rows.items()}


def _rows(table: Iterable[Mapping[str, Any]]) -> Collection[Mapping[str, Any]]:
    return table if isinstance(table, (RenderedTable, OrderedRows)) else list(table)


def _fsync_tree(folder: Path) -> None:
    """Flush staged files to disk before the journal names them (power loss, not only kill)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def stage(root: Path, tables: Tables) -> tuple[Path, dict[str, int]]:
    """A complete package (data, schemas, descriptor) in a fresh staging folder."""
    staging = root / ".build" / f"stage-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(root / "schemas", staging / "schemas")
    counts = write_tables(staging / "data", tables, root / "schemas")
    write_descriptor(staging, read_descriptor(root / "datapackage.json"))
    return staging, counts


def _swap_in(root: Path, staging: Path) -> None:
    """Move the staged data/ and descriptor into place; safe to repeat after a kill.

    Each step checks what is already done, so publish and recover share this code and
    a kill between any two renames is finished by the next run.
    """
    old = root / ".build" / "old-data"
    if (staging / "data").exists():
        if (root / "data").exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(root / "data", old)
        _kill_point("swap")
        os.replace(staging / "data", root / "data")
    _kill_point("data-replaced")
    if (staging / "datapackage.json").exists():
        os.replace(staging / "datapackage.json", root / "datapackage.json")
    _kill_point("descriptor-replaced")


def recover(root: Path) -> bool:
    """Finish a publish that was interrupted; True when there was one to finish.

    Staging folders of builds killed before their journal was written are removed.
    """
    journal = root / ".build" / "COMMIT"
    pending = journal.exists()
    if pending:
        staging = root / ".build" / journal.read_text(encoding="utf-8").strip()
        _swap_in(root, staging)
        _finish(root, staging)
    for stale in sorted((root / ".build").glob("stage-*")):
        shutil.rmtree(stale, ignore_errors=True)
    (root / ".build" / "COMMIT.tmp").unlink(missing_ok=True)
    return pending


def _finish(root: Path, staging: Path) -> None:
    (root / ".build" / "COMMIT").unlink(missing_ok=True)
    shutil.rmtree(root / ".build" / "old-data", ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def publish(root: Path, staging: Path) -> None:
    """Replace data/ and datapackage.json by the staged ones (journalled renames)."""
    _fsync_tree(staging)
    write_text(root / ".build" / "COMMIT", staging.name, durable=True)
    _kill_point("publish")
    _swap_in(root, staging)
    _finish(root, staging)


def extract_all(articles: list[Article], corrections: bool = True, settings: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Every table of the package from the articles (extraction, then curation).

    `settings` (a `pipeline.executor.Settings`, default: the current ones) choose the
    executor and the cache; neither changes the output.
    """
    from pipeline.executor import current_settings, make_runner
    from pipeline.extract import extract_tables
    from pipeline.registry import load_registry

    settings = settings or current_settings()
    return extract_tables(
        articles,
        registry=load_registry(settings.registry) if settings.registry else None,
        apply_corrections=corrections,
        runner=_telling_when_done(make_runner(settings)),
        cache_dir=settings.cache_dir,
    )


def _telling_when_done(runner: Any) -> Any:
    """`runner`, saying EXTRACTED once it has given its last result (the cache gives
    the others as the merge asks, so then every result is in)."""

    def run(articles: list[Article], registry: Any, flags: Any) -> Iterator[Any]:
        return _then_tell(runner(articles, registry, flags))  # started now, as the runner starts

    return run


def _then_tell(results: Iterator[Any]) -> Iterator[Any]:
    yield from results
    _tell(EXTRACTED)


def build(root: Path = ROOT, corpus: Path | None = None, corrections: bool = True) -> BuildResult:
    """Rebuild and publish the package in `root` from the corpus (default root/corpus)."""
    root = Path(root)
    with exclusive(root):
        return _build(root, Path(corpus) if corpus else root / "corpus", corrections)


def extract_corpus(corpus: Path, corrections: bool = True, settings: Any = None) -> tuple[list[Article], dict[str, list[dict[str, Any]]]]:
    """The corpus's articles and every table from them (`extract_all`), with a forked
    worker loading GiNZA meanwhile, for the few articles an incremental build extracts.
    With a cache, front matter parses are kept in it too (`FrontMatterMemo`)."""
    from pipeline.executor import current_settings, standing_by

    settings = settings or current_settings()
    memo = Path(settings.cache_dir) / FRONT_MATTER_MEMO if settings.cache_dir else None
    with standing_by(settings):  # a worker loads GiNZA while the corpus and the cache are read
        teller = texts_teller()
        articles = load_corpus(corpus, memo, teller)  # CorpusError: nothing written
        if teller is not None:
            teller.flush()
        return articles, extract_all(articles, corrections, settings)


@dataclass(frozen=True)
class Staged:
    """What the extracting half of a build hands to the validating half."""

    staging: Path
    rows: dict[str, int]
    texts: Mapping[str, str] | None  # the article bodies by source id, for validation's text checks (None: told)
    peak_rss_mb: float  # of the process that extracted, merged and staged
    ahead: ReadAhead | None = None  # the tables the validating half has read already


def extract_and_stage(root: Path, corpus: Path, corrections: bool = True, settings: Any = None) -> Staged:
    """corpus → extract → corrections → a staged package in `root/.build`."""
    try:
        articles, tables = extract_corpus(corpus, corrections, settings)
        _kill_point("extracted")
        staging, counts = stage(root, tables)
    finally:
        _tell(DONE)
    return Staged(staging, counts, None if _telling is not None else bodies(articles), peak_rss_mb())


def staged_aside(root: Path, corpus: Path, corrections: bool = True, settings: Any = None) -> Staged:
    """`extract_and_stage` in a forked child that exits before validation starts.

    The merge makes millions of short-lived objects among a few that live on, and
    Python's allocator returns a 1 MiB arena to the system only when nothing in it is
    alive: after staging 2,000 articles in one process, 50 MB of small objects were
    alive in 117 arenas, and validation's buffers came on top. The child's memory goes
    back whole when it exits, so validation starts from a process that only read the
    texts (`make bench`, 2,000 articles: this process's peak 306 MB instead of 412, the
    child's 268). Where a fork is not safe, or the child dies, the step runs here.

    Meanwhile this process takes the article bodies the child has read (a few at a
    time, see `TextsTeller`), does validation's one-time setup (`warm_up`) once the
    child says every result is in (before, the cores are busy extracting; after, the
    child merges on one of them), then reads each table the child has written while
    it writes the next (`ReadAhead`).
    """
    global _telling
    ahead = ReadAhead(baseline=root)
    told, _telling = multiprocessing.get_context("fork").Pipe(duplex=False) if fork_safe() else (None, None)
    try:
        child = Background(extract_and_stage, root, corpus, corrections, settings)
    finally:
        if _telling is not None:
            _telling.close()  # the child has its copy; a run here (no fork) says nothing
        _telling = None
    texts = SpooledTexts()
    if told is not None:
        if child.forked:  # else it runs here, when its result is asked for
            _meanwhile(told, child, ahead, texts)
        told.close()
    staged = child.result()  # from the child, or (no fork, or it died) from a run here, texts included
    return dataclasses.replace(staged, ahead=ahead, texts=texts if staged.texts is None else staged.texts)


def _meanwhile(told: Any, child: Background, ahead: ReadAhead, texts: SpooledTexts) -> None:
    """The texts the child tells into `texts`; validation's setup once it says
    anything else (every result is in, as a rule); then each table it has written,
    read ahead."""
    warmed = False
    for what, said in _told(told, child):
        if what == TEXTS:
            for source_id, body in said:
                texts.add(source_id, body)
            continue
        if not warmed:
            warm_up()
            warmed = True
        if what == WRITTEN:
            table, path = said
            ahead.read(table, Path(path))


def _told(told: Any, child: Background) -> Iterator[tuple[str, Any]]:
    """What the child says, until it says DONE or is gone (what it said before it
    finished is still read)."""
    while True:
        finished = child.done()
        if not told.poll(0 if finished else 0.05):
            if finished:
                return
            continue
        try:
            said = told.recv()
        except EOFError:
            return
        if said[0] == DONE:
            return
        yield said


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory so far of this process, or (`resource.RUSAGE_CHILDREN`) of
    the largest child it waited for, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


@allocates_in_bulk  # the whole build: reading the corpus and publishing made ~260 collections, 0.45 s
def _build(root: Path, corpus: Path, corrections: bool) -> BuildResult:
    recover(root)
    staged = staged_aside(root, corpus, corrections)
    _kill_point("staged")
    report = validate_and_publish(root, staged.staging, staged.texts, staged.ahead)
    return BuildResult(root, staged.rows, report)


def validate_and_publish(root: Path, staging: Path, texts: Mapping[str, str], ahead: ReadAhead | None = None) -> Report:
    """Validate the staged package (sparing the rows the last published one vouches
    for, see `pipeline.validated`); publish it only when valid, and record that."""
    report = validate_package(staging, texts, baseline=root, ahead=ahead)
    if not report.ok:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(report)
    publish(root, staging)
    validated.record(root, texts)
    return report
