"""`python -m pipeline bench`: throughput, memory, validation and incremental figures.

Each build runs in its own subprocess (`python -m pipeline.bench build …`), so its
peak RSS is its own: the main process's (it validates), the build child's (it extracts,
merges and stages, see `pipeline.build.staged_aside`) and the largest of all its
children's (workers included) are reported. All
figures come from one run on the scale corpus (`pipeline.scale_corpus`) and are
printed with their ratios; nothing here asserts a timing.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pipeline import paths
from pipeline.allocation import allocates_in_bulk
from pipeline.nlp import NO_SHARING

Echo = Callable[[str], None]

# Added to the registry's first alias list for the "registry changed" step: a new name,
# found in no article, that still makes every article's cached result stale.
BENCH_ALIAS = '"ベンチマーク用の別名"'


@dataclass(frozen=True)
class Plan:
    articles: int
    sizes: tuple[int, ...]
    ginza_sample_chars: int
    validation_rows: int
    workers: int
    repeats: int  # full build of n articles and the one-article rebuild: runs, median reported


def plan(articles: int, quick: bool, workers: int) -> Plan:
    """Full: memory at n/4, n/2, n articles, 200k-character GiNZA sample, 1M mention
    rows, the n-article build and the incremental one three times each (timings here
    move by 10-20 % from run to run)."""
    if quick:
        return Plan(articles, (max(1, articles // 4), max(1, articles // 2), articles), 20_000, 100_000, workers, 1)
    return Plan(articles, (articles // 4, articles // 2, articles), 200_000, 1_000_000, workers, 3)


# --- one build, in a subprocess ----------------------------------------------------------


@allocates_in_bulk  # as `build` does
def build_once(root: Path, corpus: Path, cache: Path | None, workers: int, registry: Path | None) -> dict[str, Any]:
    """extract → stage → validate → publish into `root`, timing each step."""
    from pipeline.build import BuildError, peak_rss_mb, staged_aside, validate_and_publish
    from pipeline.executor import Settings

    if not (root / "schemas").exists():
        shutil.copytree(paths.SCHEMAS, root / "schemas")
    (root / ".build").mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    start = time.perf_counter()
    settings = Settings("auto", workers, None, False, cache, registry)
    staged = staged_aside(root, corpus, corrections=False, settings=settings)  # as `build` does
    times["extract"] = time.perf_counter() - start  # extraction and staging (each table read meanwhile)
    mark = time.perf_counter()
    try:
        validate_and_publish(root, staged.staging, staged.texts, staged.ahead)
    except BuildError as err:
        raise SystemExit(err.report.text()) from None
    times["validate"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return {
        "articles": len(staged.texts),
        "chars": sum(map(len, staged.texts.values())),
        "rows": staged.rows,
        "seconds": times,
        "peak_rss_mb": peak_rss_mb(),
        "peak_build_rss_mb": staged.peak_rss_mb,
        "peak_worker_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
    }


def _memory(result: dict[str, Any]) -> str:
    return (
        f"main (validates) {result['peak_rss_mb']:,.0f} MB, build child (extracts, merges, stages) {result['peak_build_rss_mb']:,.0f} MB,"
        f" largest child or worker {result['peak_worker_rss_mb']:,.0f} MB"
    )


def _subprocess(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.bench", *args], capture_output=True, text=True, cwd=paths.ROOT, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench step {args[0]} failed:\n{done.stderr[-3000:]}{done.stdout[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _build(root: Path, corpus: Path, cache: Path, workers: int, registry: Path | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    args = ["build", str(root), str(corpus), str(cache), str(workers)] + ([str(registry)] if registry else [])
    return _subprocess(args, env)


# --- bare passes on the same text ---------------------------------------------------------


def _lines(corpus: Path, limit: int | None) -> list[str]:
    from pipeline.corpus import load_corpus

    lines, size = [], 0
    for article in load_corpus(corpus):
        for line in article.body.splitlines():
            if line.strip():
                lines.append(line)
                size += len(line)
        if limit is not None and size >= limit:
            break
    return lines


def bare_ginza(corpus: Path, limit: int, processes: int, backend: str) -> dict[str, Any]:
    """GiNZA `nlp.pipe` over the first `limit` characters, line by line, `processes`
    processes; `backend` "blis": as `spacy.load` gives it, "openblas": as the pipeline
    runs it (`pipeline.nlp.ginza`)."""
    if backend == "blis":
        import spacy

        nlp = spacy.load("ja_ginza")
    else:
        from pipeline.nlp import ginza

        nlp = ginza()
    lines = _lines(corpus, limit)
    start = time.perf_counter()
    for _ in nlp.pipe(lines, batch_size=4, n_process=processes):
        pass
    seconds = time.perf_counter() - start
    return {"chars": sum(map(len, lines)), "seconds": seconds}


def bare_sudachi(corpus: Path, runs: int = 3) -> dict[str, Any]:
    """SudachiPy tokenization (mode C, with part of speech) of the whole corpus, one
    process; the median of `runs` passes (single passes varied by ±15 % here)."""
    from pipeline.nlp import sudachi_tokens

    lines = _lines(corpus, None)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for line in lines:
            sudachi_tokens(line)
        times.append(time.perf_counter() - start)
    return {"chars": sum(map(len, lines)), "seconds": statistics.median(times), "runs": times}


def _same_data(one: Path, other: Path) -> bool:
    """Whether two built packages hold byte-identical tables."""
    names = sorted(p.name for p in (one / "data").glob("*.csv"))
    return names == sorted(p.name for p in (other / "data").glob("*.csv")) and all(
        (one / "data" / n).read_bytes() == (other / "data" / n).read_bytes() for n in names
    )


def repeated_sentences(corpus: Path, workers: int) -> dict[str, Any]:
    """How many sentences repeat within the batches a full build hands GiNZA, which
    runs a repeated text once (`pipeline.nlp.ginza_docs`): the scale corpus reuses its
    sources' lines, so this says how far its figures flatter a corpus of distinct text."""
    from pipeline.corpus import load_corpus
    from pipeline.executor import pool_chunks
    from pipeline.extract import sorted_articles
    from pipeline.text import split_sentences

    total = distinct = 0
    for chunk in pool_chunks(sorted_articles(load_corpus(corpus)), workers):
        texts = [s.text for article in chunk for s in split_sentences(article.body)]
        total += len(texts)
        distinct += len(set(texts))
    return {"sentences": total, "distinct_within_batch": distinct}


# --- validation at scale ------------------------------------------------------------------


def replicate(package: Path, corpus: Path, out: Path, copies: int) -> int:
    """A valid package `copies` times larger: each article again under a new id.

    Mentions and evidence are repeated for each copy (new source and mention ids);
    entities, events and models are shared, as for articles reporting the same news.
    """
    from pipeline.build import write_tables
    from pipeline.ids import mention_id
    from pipeline.package import write_descriptor
    from pipeline.paths import TABLES
    from pipeline.tables import read_table

    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(package / "schemas", out / "schemas")
    (out / "corpus").mkdir(parents=True)
    tables = {name: read_table(package / "data" / f"{name}.csv").to_dict("records") for name in TABLES}
    tables = {name: [{k: v for k, v in row.items() if isinstance(v, str)} for row in rows] for name, rows in tables.items()}
    grown: dict[str, list[dict[str, Any]]] = {name: list(rows) for name, rows in tables.items()}
    for path in sorted(corpus.glob("*.md")):
        shutil.copy(path, out / "corpus" / path.name)
    for copy in range(1, copies):
        rename = {row["source_id"]: f"{row['source_id']}-r{copy}" for row in tables["sources"]}
        for old, new in rename.items():
            text = (corpus / f"{old}.md").read_text(encoding="utf-8")
            (out / "corpus" / f"{new}.md").write_text(text.replace(f"id: {old}\n", f"id: {new}\n", 1), encoding="utf-8", newline="")
        grown["sources"] += [{**row, "source_id": rename[row["source_id"]]} for row in tables["sources"]]
        grown["mentions"] += [
            {**row, "source_id": rename[row["source_id"]], "mention_id": mention_id(rename[row["source_id"]], int(row["start"]), int(row["end"]))}
            for row in tables["mentions"]
        ]
        grown["event_evidence"] += [{**row, "source_id": rename[row["source_id"]]} for row in tables["event_evidence"]]
    write_tables(out / "data", grown, out / "schemas")
    write_descriptor(out, None)
    return len(grown["mentions"])


def validate_once(package: Path, corpus: Path, profile: bool) -> dict[str, Any]:
    """Our two-layer validation, timed (with the top of a profile when asked)."""
    import cProfile
    import io
    import pstats

    from pipeline.validate import validate_package

    profiler = cProfile.Profile()
    start = time.perf_counter()
    if profile:
        profiler.enable()
    report = validate_package(package, corpus)
    profiler.disable()
    seconds = time.perf_counter() - start
    top = ""
    if profile:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(12)
        top = buffer.getvalue()
    return {"seconds": seconds, "ok": report.ok, "summary": report.summary(), "profile": top}


def frictionless_once(package: Path) -> dict[str, Any]:
    """`frictionless validate` alone (its Python API, as its CLI runs it)."""
    import frictionless

    start = time.perf_counter()
    report = frictionless.validate(str(package / "datapackage.json"))
    return {"seconds": time.perf_counter() - start, "ok": report.valid}


# --- the whole run ----------------------------------------------------------------------


def _median_of(label: str, runs: list[dict[str, Any]], digits: int, echo: Echo, rate: bool = False) -> dict[str, Any]:
    """The run whose total time is the median (the lower one of an even count); with
    several runs, a line listing each (and the median's throughput, with `rate`)."""
    median = sorted(runs, key=lambda r: r["seconds"]["total"])[(len(runs) - 1) // 2]
    if len(runs) > 1:
        times = ", ".join(f"{r['seconds']['total']:.{digits}f} s" for r in runs)
        total = median["seconds"]["total"]
        throughput = f" = {_rate(median['chars'], total)}" if rate else ""
        echo(f"{label}, {len(runs)} runs: {times}; median {total:.{digits}f} s{throughput}")
    return median


def _rate(chars: float, seconds: float) -> str:
    return f"{chars / seconds:,.0f} chars/s"


def run(workdir: Path, p: Plan, seed: int, echo: Echo) -> dict[str, Any]:
    """Every figure of issue 7 on a scale corpus of `p.articles` articles; printed as it goes."""
    from pipeline.corpus import load_corpus
    from pipeline.registry import load_registry
    from pipeline.scale_corpus import generate, write_corpus

    figures: dict[str, Any] = {"plan": p.__dict__, "cores": os.cpu_count(), "load_average": os.getloadavg()}
    shutil.rmtree(workdir, ignore_errors=True)
    everything = workdir / "corpus-all"
    count, chars = write_corpus(everything, generate(load_corpus(paths.CORPUS), load_registry(), p.articles + 1, seed))
    echo(f"scale corpus: {count - 1:,} articles (+1 held back), seed {seed}, in {everything}")
    files = sorted(everything.glob("*.md"))
    corpora = {}
    for size in sorted(set(p.sizes)) + [p.articles + 1]:
        corpora[size] = workdir / f"corpus-{size}"
        corpora[size].mkdir()
        for path in files[:size]:
            os.link(path, corpora[size] / path.name)

    builds = {}
    for size in sorted(set(p.sizes)):
        result = _build(workdir / f"root-{size}", corpora[size], workdir / f"cache-{size}", p.workers)
        builds[size] = result
        s = result["seconds"]
        echo(
            f"full build, {size:,} articles, {result['chars']:,} chars: {s['total']:.1f} s = {_rate(result['chars'], s['total'])}"
            f" (extract and stage {s['extract']:.1f} s = {_rate(result['chars'], s['extract'])}, validate {s['validate']:.1f} s);"
            f" peak RSS {_memory(result)};"
            f" {result['rows']['mentions']:,} mentions"
        )
    base = workdir / "incremental-base"  # the n-article package and cache, before any rebuild
    shutil.copytree(workdir / f"root-{p.articles}", base / "root", symlinks=True)
    shutil.copytree(workdir / f"cache-{p.articles}", base / "cache")

    def rebuild(i: int) -> dict[str, Any]:
        """One article added, from a fresh copy of the n-article package and cache."""
        root, cache = workdir / f"incremental-{i}" / "root", workdir / f"incremental-{i}" / "cache"
        shutil.copytree(base / "root", root, symlinks=True)
        shutil.copytree(base / "cache", cache)
        return _build(root, corpora[p.articles + 1], cache, p.workers)

    # full builds and rebuilds alternate, so that a slow spell of the machine hits both
    repeated, rebuilds = [builds[p.articles]], [rebuild(1)]
    for i in range(2, p.repeats + 1):
        repeated.append(_build(workdir / f"root-{p.articles}-run{i}", corpora[p.articles], workdir / f"cache-{p.articles}-run{i}", p.workers))
        rebuilds.append(rebuild(i))
    full = _median_of(f"full build, {p.articles:,} articles", repeated, 1, echo, rate=True)
    figures["builds"] = builds
    figures["full_build_runs"] = repeated
    full_rate = full["chars"] / full["seconds"]["total"]
    extract_rate = full["chars"] / full["seconds"]["extract"]

    ginza = _subprocess(["ginza", str(corpora[p.articles]), str(p.ginza_sample_chars), str(p.workers), "blis"])
    ginza_rate = ginza["chars"] / ginza["seconds"]
    tuned = _subprocess(["ginza", str(corpora[p.articles]), str(p.ginza_sample_chars), str(p.workers), "openblas"])
    tuned_rate = tuned["chars"] / tuned["seconds"]
    sudachi = _subprocess(["sudachi", str(corpora[p.articles])])
    sudachi_rate = sudachi["chars"] / sudachi["seconds"]
    figures.update(ginza=ginza, ginza_openblas=tuned, sudachi=sudachi)
    echo(
        f"bare GiNZA nlp.pipe, {p.workers} processes: {_rate(ginza['chars'], ginza['seconds'])} as spacy.load gives it (blis),"
        f" {_rate(tuned['chars'], tuned['seconds'])} on OpenBLAS as the pipeline runs it"
        f" (measured on a {ginza['chars']:,}-character sample and extrapolated)"
    )
    echo(
        f"bare SudachiPy tokenization (1 process, all {sudachi['chars']:,} chars, median of {len(sudachi['runs'])} passes):"
        f" {_rate(sudachi['chars'], sudachi['seconds'])}"
    )
    echo(
        f"ratios: full build / bare GiNZA = {full_rate / ginza_rate:.2f}x, extraction / bare GiNZA = {extract_rate / ginza_rate:.2f}x"
        f" (target 10x; against GiNZA on OpenBLAS: {full_rate / tuned_rate:.2f}x and {extract_rate / tuned_rate:.2f}x);"
        f" full build / bare SudachiPy = {full_rate / sudachi_rate:.3f}x (target 0.1x)"
    )
    repeats = repeated_sentences(corpora[p.articles], p.workers)
    unshared = _build(workdir / f"root-{p.articles}-unshared", corpora[p.articles], workdir / f"cache-{p.articles}-unshared", p.workers, env={NO_SHARING: "1"})
    unshared_rate = unshared["chars"] / unshared["seconds"]["total"]
    unshared["same_tables"] = _same_data(workdir / f"root-{p.articles}-unshared", workdir / f"root-{p.articles}")
    figures.update(repeated_sentences=repeats, full_build_unshared=unshared)
    echo(
        f"sentences repeated within the batches GiNZA gets (up to 16 articles each): {repeats['sentences'] - repeats['distinct_within_batch']:,}"
        f" of {repeats['sentences']:,} ({1 - repeats['distinct_within_batch'] / repeats['sentences']:.0%}), each run once; running"
        f" every copy, as distinct text would need: full build {unshared['seconds']['total']:.1f} s = {_rate(unshared['chars'], unshared['seconds']['total'])},"
        f" full build / bare GiNZA = {unshared_rate / ginza_rate:.2f}x, full build / bare SudachiPy = {unshared_rate / sudachi_rate:.3f}x"
        f" ({'the same tables' if unshared['same_tables'] else 'OTHER TABLES: a bug'})"
    )

    added = _median_of(f"incremental, one article added to {p.articles:,}", rebuilds, 2, echo)
    small = min(p.sizes)
    registry_text = paths.CURATION.joinpath("registry.yaml").read_text(encoding="utf-8")
    commented, changed_registry = workdir / "registry-commented.yaml", workdir / "registry-changed.yaml"
    commented.write_text(registry_text + "# edited for the benchmark\n", encoding="utf-8")
    changed_registry.write_text(registry_text.replace("aliases: [", f"aliases: [{BENCH_ALIAS}, ", 1), encoding="utf-8")
    comment = _build(workdir / f"root-{small}", corpora[small], workdir / f"cache-{small}", p.workers, commented)
    changed = _build(workdir / f"root-{small}", corpora[small], workdir / f"cache-{small}", p.workers, changed_registry)
    figures.update(incremental_add=added, incremental_add_runs=rebuilds, incremental_registry_comment=comment, incremental_registry=changed)
    echo(
        f"incremental, one article added to {p.articles:,}: {added['seconds']['total']:.2f} s"
        f" = {added['seconds']['total'] / full['seconds']['total']:.1%} of the full build (target < 10%);"
        f" extraction and staging {added['seconds']['extract']:.2f} s = {added['seconds']['extract'] / full['seconds']['extract']:.1%},"
        f" validation {added['seconds']['validate']:.2f} s; peak RSS {_memory(added)}"
    )
    echo(
        f"incremental, registry edited without changing an entry (a comment added; {small:,} articles): {comment['seconds']['total']:.1f} s"
        f" = {comment['seconds']['total'] / builds[small]['seconds']['total']:.0%} of that size's full build"
        " (the cache is keyed by the registry's entries, not its bytes: every result kept)"
    )
    echo(
        f"incremental, registry changed (an alias added; {small:,} articles): {changed['seconds']['total']:.1f} s"
        f" = {changed['seconds']['total'] / builds[small]['seconds']['total']:.0%} of that size's full build"
        " (the entries' sha256 is in every cache key: any article may hold the new name, so every one is re-extracted)"
    )

    mentions = full["rows"]["mentions"]
    copies = max(1, math.ceil(p.validation_rows / max(1, mentions)))
    package = workdir / "validation"
    rows = replicate(workdir / "incremental-1" / "root", corpora[p.articles + 1], package, copies)  # holds the added article
    ours = _subprocess(["validate", str(package), "0"])
    theirs = _subprocess(["frictionless", str(package)])
    figures.update(validation={"mention_rows": rows, "ours": ours, "frictionless": theirs})
    echo(
        f"validation, {rows:,} mention rows ({copies} copies of the package): ours (both layers) {ours['seconds']:.1f} s"
        f" [{ours['summary']}], frictionless alone {theirs['seconds']:.1f} s (valid: {theirs['ok']}):"
        f" ours / frictionless = {ours['seconds'] / theirs['seconds']:.2f}x (target <= 1)"
    )
    if ours["seconds"] > theirs["seconds"]:  # profile a second run, so the timed one is not slowed
        profiled = _subprocess(["validate", str(package), "1"])
        echo("where our validation spends its time (cProfile, cumulative):\n" + profiled["profile"])
    (workdir / "bench.json").write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    echo(f"figures written to {workdir / 'bench.json'}")
    return figures


def _main(argv: list[str]) -> None:
    """Subprocess steps; each prints one JSON line."""
    step, *args = argv
    if step == "build":
        root, corpus, cache, workers, *registry = args
        result = build_once(Path(root), Path(corpus), Path(cache), int(workers), Path(registry[0]) if registry else None)
    elif step == "ginza":
        result = bare_ginza(Path(args[0]), int(args[1]), int(args[2]), args[3])
    elif step == "sudachi":
        result = bare_sudachi(Path(args[0]))
    elif step == "validate":
        package = Path(args[0])
        result = validate_once(package, package / "corpus", args[1] == "1")
    elif step == "frictionless":
        result = frictionless_once(Path(args[0]))
    else:
        raise SystemExit(f"unknown bench step {step!r}")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    _main(sys.argv[1:])
