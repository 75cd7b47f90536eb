"""The scale corpus: deterministic, prefix-stable, distinct, varied, and contract-valid."""

from __future__ import annotations

import re

import pytest

from pipeline.corpus import load_corpus
from pipeline.entities import registry_mentions
from pipeline.registry import load_registry
from pipeline.scale_corpus import generate, write_corpus
from pipeline.text import split_sentences


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def sixty(articles, registry):
    return list(generate(articles, registry, 60, seed=3))


def test_same_seed_same_articles_and_prefix_stable(articles, registry, sixty):
    again = list(generate(articles, registry, 20, seed=3))
    assert again == sixty[:20]
    other = list(generate(articles, registry, 20, seed=4))
    assert [a.body for a in other] != [a.body for a in sixty[:20]]


def test_no_two_articles_are_identical(sixty):
    bodies = [a.body for a in sixty]
    assert len(set(bodies)) == len(bodies)
    assert len({a.source_id for a in sixty}) == len(sixty)


def test_articles_are_about_the_planned_size(articles, registry):
    sizes = [len(a.body) for a in generate(articles, registry, 200, seed=0)]
    mean = sum(sizes) / len(sizes)
    assert 2_200 <= mean <= 2_900  # 2,000 articles ≈ 5 million characters


def test_names_dates_and_amounts_vary(articles, registry, sixty):
    def registry_ids(body: str) -> set[str]:
        return {m.entity_id for m in registry_mentions("x", body, registry, split_sentences(body))}

    source_ids = set().union(*(registry_ids(a.body) for a in articles))
    generated_ids = set().union(*(registry_ids(a.body) for a in sixty))
    assert len(generated_ids - source_ids) >= 20  # names swapped in from the registry
    years = lambda text: set(re.findall(r"([12][0-9]{3})年", text))  # noqa: E731
    source_years = set().union(*(years(a.body) for a in articles))
    assert set().union(*(years(a.body) for a in sixty)) - source_years  # shifted years


def test_written_corpus_passes_the_corpus_contract(tmp_path, articles, registry):
    count, chars = write_corpus(tmp_path, generate(articles, registry, 12, seed=1))
    loaded = load_corpus(tmp_path)
    assert count == len(loaded) == 12
    assert chars == sum(len(a.body) for a in loaded)
    assert [a.source_id for a in loaded] == [f"scale-{i:05d}" for i in range(12)]
    assert not list(tmp_path.glob("*.tmp"))


def test_people_the_registry_does_not_know_are_renamed_in_each_article(articles, registry, sixty):
    from pipeline.scale_corpus import FAMILY, GIVEN, templates, unregistered_people

    people = unregistered_people(templates(articles, registry))
    assert {"リアン・ジア", "デビッド・ニコルソン", "ローワン・カラン"} <= {p.full for p in people}
    assert "マーク・ザッカーバーグ" not in {p.full for p in people}  # a registry name: swapped as such
    for article in sixty:  # the sources' people never appear, by full name or by family name + 氏
        assert not any(p.full in article.body or f"{p.family}氏" in article.body for p in people)
    made_up = re.compile(f"(?:{'|'.join(GIVEN)})・(?:{'|'.join(FAMILY)})")
    quoted = [set(made_up.findall(a.body)) for a in sixty]
    assert sum(bool(names) for names in quoted) >= 30
    assert len(set().union(*quoted)) >= 40  # not the same few people everywhere
    for article, names in zip(sixty, quoted):  # one family name per person within an article
        families = [name.split("・")[1] for name in names]
        assert len(families) == len(set(families))


def test_the_bench_counts_the_sentences_a_batch_repeats(tmp_path, articles, registry):
    """The bench says how much of the scale corpus GiNZA is spared by running a
    repeated text once: the sources' lines recur; the two real articles share none."""
    from pipeline.bench import repeated_sentences

    write_corpus(tmp_path, generate(articles, registry, 40, seed=2))
    scale = repeated_sentences(tmp_path, workers=2)
    assert 0 < scale["distinct_within_batch"] < scale["sentences"]
    real = repeated_sentences(articles[0].path.parent, workers=2)
    assert real["distinct_within_batch"] == real["sentences"] > 50


def test_the_bench_compares_two_builds_table_by_table(tmp_path):
    from pipeline.bench import _same_data

    for name in ("one", "two"):
        (tmp_path / name / "data").mkdir(parents=True)
        (tmp_path / name / "data" / "sources.csv").write_text("source_id\na\n", encoding="utf-8")
    assert _same_data(tmp_path / "one", tmp_path / "two")
    (tmp_path / "two" / "data" / "sources.csv").write_text("source_id\nb\n", encoding="utf-8")
    assert not _same_data(tmp_path / "one", tmp_path / "two")
    (tmp_path / "two" / "data" / "sources.csv").unlink()
    assert not _same_data(tmp_path / "one", tmp_path / "two")
