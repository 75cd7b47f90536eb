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
def extract(corpus_dir: Path, out_dir: Path, no_corrections: bool) -> None:
    """Extract every table from any folder of articles into CSV files.

    Example: python -m pipeline extract --corpus corpus --out /tmp/pred --no-corrections
    """
    from pipeline.build import extract_all, write_tables
    from pipeline.corpus import load_corpus
    from pipeline.corrections import CorrectionError

    try:
        articles = load_corpus(corpus_dir)
        tables = extract_all(articles, corrections=not no_corrections)
    except (CorpusError, CorrectionError) as err:
        _fail(str(err))
    counts = write_tables(out_dir, tables, paths.SCHEMAS)
    click.echo(", ".join(f"{name} {n}" for name, n in counts.items()) + f" rows written to {out_dir}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), default=paths.ROOT)
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=paths.CORPUS, show_default=True, help="Articles for the text checks; skipped when absent.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(path: Path, corpus_dir: Path, fmt: str) -> None:
    """Validate a data package with frictionless and pandera.

    PATH is a datapackage.json or a folder holding one (default: this repository).
    Checks needing the article texts run when --corpus exists and are listed as
    skipped otherwise. Exit 0 only when nothing failed.

    Example: python -m pipeline validate datapackage.json --format json
    """
    from pipeline.validate import validate_package

    report = validate_package(path, corpus_dir if corpus_dir.is_dir() else None)
    click.echo(report.json() if fmt == "json" else report.text())
    sys.exit(0 if report.ok else 1)


@cli.command()
@click.option("--root", type=click.Path(path_type=Path), default=paths.ROOT, show_default=True, help="Folder holding data/ and schemas/.")
def package(root: Path) -> None:
    """Write datapackage.json for the tables in data/ (hashes, sizes, sources).

    Example: python -m pipeline package
    """
    from pipeline.package import read_descriptor, write_descriptor

    descriptor = write_descriptor(root, read_descriptor(root / "datapackage.json"))
    click.echo(f"{root / 'datapackage.json'}: {len(descriptor['resources'])} resources, version {descriptor['version']}")


@cli.command()
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=None, help="Folder of articles (default: corpus/).")
@click.option("--no-corrections", is_flag=True, help="Publish extraction without curated corrections.")
def build(corpus_dir: Path | None, no_corrections: bool) -> None:
    """Corpus → extract → corrections → validate → package, atomically.

    The new tables are staged and validated first; data/ and datapackage.json are
    replaced only when everything passes.

    Example: python -m pipeline build
    """
    from pipeline.build import BuildError, build as run_build
    from pipeline.corrections import CorrectionError

    try:
        result = run_build(paths.ROOT, corpus_dir, corrections=not no_corrections)
    except (CorpusError, CorrectionError) as err:
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
