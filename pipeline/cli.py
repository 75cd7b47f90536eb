"""`python -m pipeline …`: a thin click layer over the library.

Every command documents an example in its help; errors in the input are reported as
messages naming the file, row and field, with exit code 1, never as a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline import paths
from pipeline.corpus import CorpusError


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=None, version=__import__("pipeline").__version__)
def cli() -> None:
    """Build, validate and package the ai-openness-events dataset.

    Example: python -m pipeline build
    """


@cli.command()
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=paths.CORPUS, show_default=True, help="Folder of articles.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write sources.csv here (default: only check).")
def corpus(corpus_dir: Path, out_dir: Path | None) -> None:
    """Check every article of a corpus folder against the data contract.

    Lists every problem in every file (file, field, what is wrong) and exits 1 if any;
    with --out, writes sources.csv there.

    Example: python -m pipeline corpus --corpus corpus --out /tmp/tables
    """
    from pipeline.corpus import load_corpus
    from pipeline.tables import load_schema, write_table

    try:
        articles = load_corpus(corpus_dir)
    except CorpusError as err:
        _fail(str(err))
    for article in articles:
        for warning in article.warnings:
            click.echo(f"warning: {article.path.name}: {warning}", err=True)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_table(out_dir / "sources.csv", [a.source_row() for a in articles], load_schema("sources"))
    click.echo(f"{len(articles)} article(s), {sum(len(a.body) for a in articles)} characters: OK")


@cli.command()
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=paths.CORPUS, show_default=True, help="Folder of articles.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder to write the tables to.")
@click.option("--no-corrections", is_flag=True, help="Skip curation/corrections.yaml (to measure extraction alone).")
@click.option("--executor", type=click.Choice(["auto", "local", "process", "dask"]), default="auto", show_default=True, help="Where per-article extraction runs (auto: a process pool when 8 or more articles are to be extracted).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="With --executor dask: an existing scheduler (default: a local cluster).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not fill the per-article cache (.build/cache).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on in a terminal, off in CI).")
def extract(corpus_dir: Path, out_dir: Path, no_corrections: bool, **run: object) -> None:
    """Extract every table from any folder of articles into CSV files.

    Example: python -m pipeline extract --corpus corpus --out /tmp/pred --no-corrections
    """
    from pipeline.build import extract_all, write_tables
    from pipeline.corpus import load_corpus
    from pipeline.corrections import CorrectionError

    try:
        articles = load_corpus(corpus_dir)
        with _extraction(**run):
            tables = extract_all(articles, corrections=not no_corrections)
    except (CorpusError, CorrectionError) as err:
        _fail(str(err))
    counts = write_tables(out_dir, tables, paths.SCHEMAS)
    click.echo(", ".join(f"{name} {n}" for name, n in counts.items()) + f" rows written to {out_dir}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), default=paths.ROOT)
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=paths.CORPUS, show_default=True, help="Articles for the text checks; skipped when absent.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--progress/--no-progress", default=None, help="Progress bar for packages of 4 MB and more (default: on in a terminal, off in CI).")
def validate(path: Path, corpus_dir: Path, fmt: str, progress: bool | None) -> None:
    """Validate a data package with frictionless and pandera.

    PATH is a datapackage.json or a folder holding one (default: this repository).
    Checks needing the article texts run when --corpus exists and are listed as
    skipped otherwise. Exit 0 only when nothing failed.

    Example: python -m pipeline validate datapackage.json --format json
    """
    from pipeline.validate import validate_package

    report = validate_package(path, corpus_dir if corpus_dir.is_dir() else None, progress=progress)
    click.echo(report.json() if fmt == "json" else report.text())
    sys.exit(0 if report.ok else 1)


@cli.command()
@click.option("--root", type=click.Path(path_type=Path), default=paths.ROOT, show_default=True, help="Folder holding data/ and schemas/.")
def package(root: Path) -> None:
    """Write datapackage.json for the tables in data/ (hashes, sizes, sources).

    Example: python -m pipeline package
    """
    from pipeline.package import PackageError, read_descriptor, write_descriptor

    try:
        descriptor = write_descriptor(root, read_descriptor(root / "datapackage.json"))
    except PackageError as err:
        _fail(str(err))
    click.echo(f"{root / 'datapackage.json'}: {len(descriptor['resources'])} resources, version {descriptor['version']}")


@cli.command()
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=None, help="Folder of articles (default: corpus/).")
@click.option("--no-corrections", is_flag=True, help="Publish extraction without curated corrections.")
@click.option("--executor", type=click.Choice(["auto", "local", "process", "dask"]), default="auto", show_default=True, help="Where per-article extraction runs (auto: a process pool when 8 or more articles are to be extracted).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="With --executor dask: an existing scheduler (default: a local cluster).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not fill the per-article cache (.build/cache).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on in a terminal, off in CI).")
def build(corpus_dir: Path | None, no_corrections: bool, **run: object) -> None:
    """Corpus → extract → corrections → validate → package, atomically.

    The new tables are staged and validated first; data/ and datapackage.json are
    replaced only when everything passes.

    Example: python -m pipeline build
    """
    from pipeline.build import BuildBusy, BuildError, build as run_build
    from pipeline.corrections import CorrectionError

    try:
        with _extraction(**run):
            result = run_build(paths.ROOT, corpus_dir, corrections=not no_corrections)
    except (CorpusError, CorrectionError, BuildBusy) as err:
        _fail(str(err))
    except BuildError as err:
        _fail(err.report.text() + "\nThe published package was left unchanged.")
    click.echo(", ".join(f"{name} {n}" for name, n in result.rows.items()))
    click.echo(result.report.summary())


@cli.command()
@click.option("--gold", "gold_dir", type=click.Path(path_type=Path), default=paths.ROOT / "tests" / "gold", show_default=True)
@click.option("--pred", "pred_dir", type=click.Path(path_type=Path), default=None, help="Folder of predicted tables (default: extract from --corpus without corrections).")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=paths.CORPUS, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def evaluate(gold_dir: Path, pred_dir: Path | None, corpus_dir: Path, fmt: str) -> None:
    """Precision, recall and F1 of extraction against a gold annotation.

    Without --pred, extracts from --corpus with corrections switched off, so curated
    fixes never inflate the figures.

    Example: python -m pipeline evaluate --gold tests/gold
    """
    import json
    import tempfile

    from pipeline.evaluate import evaluate as run_evaluate

    try:
        if pred_dir is None:
            from pipeline.build import extract_all, write_tables
            from pipeline.corpus import load_corpus

            tmp = Path(tempfile.mkdtemp(prefix="aoe-pred-"))
            write_tables(tmp, extract_all(load_corpus(corpus_dir), corrections=False), paths.SCHEMAS)
            pred_dir = tmp
        result = run_evaluate(gold_dir, pred_dir)
    except (CorpusError, ValueError) as err:
        _fail(str(err))
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2) if fmt == "json" else result.text())


def main() -> None:
    cli(prog_name="python -m pipeline")


@cli.command("export")
@click.argument("source", default=str(paths.ROOT))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=paths.ROOT / "dist", show_default=True, help="Folder for the .sqlite file and parquet/.")
def export_command(source: str, out_dir: Path) -> None:
    """Write SQLite and Parquet copies of a package, after verifying its hashes.

    SOURCE is a package folder, a datapackage.json, a release zip or a file:// URL
    (default: this repository). Writes OUT/<name>-<version>.sqlite (primary and
    foreign keys from the Table Schemas) and OUT/parquet/<table>.parquet.

    Example: python -m pipeline export --out dist
    """
    from pipeline.export import ExportError, export as run_export
    from pipeline.load import LoadError

    try:
        result = run_export(source, out_dir)
    except (LoadError, ExportError) as err:
        _fail(str(err))
    click.echo(", ".join(f"{name} {n}" for name, n in result.rows.items()) + " rows")
    click.echo(f"wrote {result.sqlite} and {len(result.parquet)} Parquet file(s) in {out_dir / 'parquet'}")


@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path), default=paths.ROOT)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(old: Path, new: Path, fmt: str) -> None:
    """Rows added, removed and changed, schema changes, and the semver bump they need.

    OLD and NEW are each a datapackage.json, a folder holding one, or a release zip
    (NEW defaults to this repository). Rows are matched by primary key.

    Example: python -m pipeline diff dist/ai-openness-events-1.0.0.zip . --format json
    """
    from pipeline.diff import DiffError, diff_packages, load_package, render_json, render_text

    try:
        result = diff_packages(load_package(old), load_package(new))
    except DiffError as err:
        _fail(str(err))
    click.echo(render_json(result) if fmt == "json" else render_text(result), nl=False)


@cli.command()
@click.option("--bump", type=click.Choice(["major", "minor", "patch"]), required=True, help="Part of the version to raise (ignored at the first release, which is 1.0.0).")
@click.option("--root", type=click.Path(path_type=Path), default=paths.ROOT, show_default=True, help="Repository holding the package and its git tags.")
@click.option("--dist", "dist_dir", type=click.Path(path_type=Path), default=None, help="Where the zip and SHA256SUMS go (default: ROOT/dist).")
@click.option("--tag/--no-tag", default=False, show_default=True, help="Commit datapackage.json and CHANGELOG.md and create the tag v<version>; by default only print those commands.")
def release(bump: str, root: Path, dist_dir: Path | None, tag: bool) -> None:
    """Release the working package: check the bump, set version, write CHANGELOG and zip.

    Diffs the package against the last release (git tag vX.Y.Z) and refuses a bump
    smaller than the changes need; then sets version and created in datapackage.json,
    adds a CHANGELOG.md section and writes dist/<name>-<version>.zip and
    dist/SHA256SUMS. SOURCE_DATE_EPOCH, when set, is the release time.

    Example: python -m pipeline release --bump minor
    """
    from pipeline.diff import DiffError
    from pipeline.release import ReleaseError, release as run_release

    try:
        result = run_release(root, bump, dist_dir, tag)
    except (DiffError, ReleaseError) as err:
        _fail(str(err))
    if result.previous:
        click.echo(f"released {result.version} (the changes since v{result.previous} require a {result.diff.bump} bump)")
    else:
        click.echo(f"released {result.version}: the first release")
    click.echo(f"wrote {result.archive}, {result.checksums}, datapackage.json, CHANGELOG.md")
    if not tag:
        click.echo("next, commit the release and tag it:")
        click.echo("\n".join(f"  {command}" for command in result.commands))


@cli.command()
@click.option("--root", type=click.Path(path_type=Path), default=paths.ROOT, show_default=True, help="Folder holding datapackage.json, schemas/ and data/.")
@click.option("--check", is_flag=True, help="Only check that docs/codebook.md is current; exit 1 when it is stale.")
def codebook(root: Path, check: bool) -> None:
    """Write docs/codebook.md from the descriptor, the Table Schemas and the data.

    Every table and field with its type, constraints, description and an example
    value. With --check (for CI), nothing is written.

    Example: python -m pipeline codebook --check
    """
    from pipeline.codebook import CodebookError, stale_codebook, write_codebook

    try:
        if check:
            problem = stale_codebook(root)
            if problem:
                _fail(f"{problem}\nRegenerate it with: python -m pipeline codebook")
            click.echo(f"{root / 'docs' / 'codebook.md'} is current")
        else:
            click.echo(f"{write_codebook(root)} written")
    except CodebookError as err:
        _fail(str(err))


@cli.command()
@click.option("--root", type=click.Path(path_type=Path), default=paths.ROOT, show_default=True, help="Folder holding datapackage.json, schemas/ and data/.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Folder for timeline.png and timeline.html (default: ROOT/docs).")
def timeline(root: Path, out_dir: Path | None) -> None:
    """Draw the dated events by organization: timeline.png and a self-contained timeline.html.

    Open-weight and closed model releases are marked apart; undated events are only
    listed in the HTML table.

    Example: python -m pipeline timeline --out docs
    """
    from pipeline.codebook import CodebookError
    from pipeline.timeline import TimelineError, write_timeline

    try:
        png, page = write_timeline(root, out_dir or root / "docs")
    except (CodebookError, TimelineError) as err:
        _fail(str(err))
    click.echo(f"{png} and {page} written")



# --- extraction settings (issue 7) -------------------------------------------------
from contextlib import contextmanager  # noqa: E402  (kept with the code that needs it)
from typing import Iterator  # noqa: E402


@contextmanager
def _extraction(executor: str, workers: int | None, scheduler: str | None, no_cache: bool, progress: bool | None) -> Iterator[None]:
    """Run the block with these extraction settings; executor failures become messages."""
    from pipeline.executor import ExecutorError, Settings, using

    if scheduler and executor != "dask":
        _fail("--scheduler needs --executor dask")
    settings = Settings(executor, workers, scheduler, progress, None if no_cache else Settings().cache_dir)
    try:
        with using(settings):
            yield
    except ExecutorError as err:
        _fail(str(err))


@cli.command()
@click.option("--articles", type=click.IntRange(min=4), default=2000, show_default=True, help="Size of the scale corpus.")
@click.option("--quick", is_flag=True, help="A short run: 20k-character GiNZA sample, 100k validation rows (use with a small --articles).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the scale corpus.")
@click.option("--workdir", type=click.Path(path_type=Path), default=paths.ROOT / ".build" / "bench", show_default=True, help="Scratch folder (emptied first).")
def bench(articles: int, quick: bool, workers: int | None, seed: int, workdir: Path) -> None:
    """Benchmark the build on a generated scale corpus and print every figure with its ratio.

    Full build throughput and peak memory at n/4, n/2 and n articles, bare GiNZA and
    SudachiPy passes on the same text, validation of a >= 1M-row package against
    frictionless alone, and incremental rebuilds (one article added, registry changed).

    Example: python -m pipeline bench --articles 2000
    """
    from pipeline.bench import plan, run
    from pipeline.executor import cores

    try:
        run(workdir, plan(articles, quick, workers or cores()), seed, click.echo)
    except RuntimeError as err:
        _fail(str(err))
