"""The per-article cache: keys, the JSON codec, and builds that are byte-identical with
and without it, corrupted files included. GiNZA stays off here (use_ner/parse False):
what is cached and replayed does not depend on which steps produced it."""

from __future__ import annotations

import dataclasses
import functools
import datetime
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cache import Cache, article_key, dumps, loads
from pipeline.corpus import Article
from pipeline.dates import DateValue
from pipeline.extract import ArticleResult, Flags, MergeStats, extract_article, extract_tables, run_local
from pipeline import paths
from pipeline.paths import TABLES
from pipeline.registry import load_registry
from pipeline.tables import load_schema, render_csv
from pipeline.text import Sentence

FAST = dict(apply_corrections=False, use_ner=False, parse=False)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def extract(registry):
    """extract_tables without GiNZA, with the registry loaded once."""
    return functools.partial(extract_tables, registry=registry, **FAST)


def csvs(tables) -> dict[str, str]:
    return {name: render_csv(tables[name], load_schema(name)) for name in TABLES}


def no_runs(articles, registry, flags):
    """A runner for builds that must be served from the cache alone."""
    assert not articles, f"extracted again: {[a.source_id for a in articles]}"
    return run_local(articles, registry, flags)


def test_codec_round_trips_a_real_result(articles, registry):
    result = extract_article(articles[0], registry, Flags(use_ner=False, parse=False))
    assert len(result.mentions) and result.events and result.calls
    assert loads(dumps(result), ArticleResult) == result


def test_codec_refuses_what_its_type_does_not_declare():
    for text, kind in (
        ('["os", "system"]', Sentence),  # a dataclass is its fields, no class named in the file
        ('{"start": 0, "end": 2, "text": "ab"}', Sentence),
        ("[0, 2]", Sentence),  # a field missing
        ('[0, "2", "ab"]', Sentence),  # a field of the wrong type
        ("[[1]]", set[str]),  # an unhashable member
        ('"ab"', set[str]),  # members not in a list
        ('[["a", {"b": 1}]]', list[tuple]),  # a dict is no tuple member
        ('"2025-13-01"', datetime.date),
        ('{"a": [1]}', dict[str, set[str]]),
        ("[[1, 2, 3]]", dict[int, str]),  # a pair of three
        ("not json", Sentence),
    ):
        with pytest.raises(ValueError):
            loads(text, kind)
    with pytest.raises(TypeError):
        dumps(object())


def test_equal_dates_are_read_once_and_shared_and_bad_ones_still_refused():
    day = DateValue("2025-08-05", datetime.date(2025, 8, 5), datetime.date(2025, 8, 5), "day")
    one, other = loads(dumps([day, day]), list[DateValue])
    assert one == day and one is other
    assert loads(dumps(day), DateValue) is one  # across reads too: the decoder keeps it
    loads('["2025-08", "2025-08-01", "2025-08-31", "month"]', DateValue)
    for text in (
        '{"2025-08": 1, "2025-08-01": 2, "2025-08-31": 3, "month": 4}',  # a dict whose keys spell a date read before
        '["2025-08-05", "2025-08-05", "2025-08-05", "hour"]',  # no such precision
        '["2025-08-05", "2025-08-05", [1], "day"]',  # a member that cannot be a key
    ):
        with pytest.raises(ValueError):
            loads(text, DateValue)


def test_codec_keeps_every_container_kind():
    kind = tuple[dict[str, set[str]], list[Sentence], dict[int, datetime.date], tuple, float | None, dict[tuple, int]]
    value = ({"agent": {"b", "a"}}, [Sentence(0, 2, "ab")], {7: datetime.date(2025, 8, 5)}, ("x", ("y", None), 1), None, {("a", 1): 2})
    assert loads(dumps(value), kind) == value


def test_key_covers_body_registry_flags_and_published(articles, registry):
    article = articles[0]
    key = article_key(article, registry, Flags())
    assert key == article_key(article, registry, Flags())
    assert key != article_key(dataclasses.replace(article, text=article.body + "。"), registry, Flags())
    assert key != article_key(dataclasses.replace(article, published="2024-01-01"), registry, Flags())
    assert key != article_key(article, dataclasses.replace(registry, sha256="0" * 64), Flags())
    assert key != article_key(article, registry, Flags(use_ner=False))


def test_build_with_and_without_cache_is_byte_identical(tmp_path, articles, extract):
    plain = csvs(extract(articles))
    cache_dir = tmp_path / "cache"
    cold = csvs(extract(articles, cache_dir=cache_dir))
    files = sorted(cache_dir.glob("*/*.json"))
    assert len(files) == len(articles)
    warm = csvs(extract(articles, cache_dir=cache_dir, runner=no_runs))
    assert cold == plain and warm == plain


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other key", "foreign class"])
def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path, articles, extract, damage):
    plain = csvs(extract(articles))
    cache_dir = tmp_path / "cache"
    extract(articles, cache_dir=cache_dir)
    victim = sorted(cache_dir.glob("*/*.json"))[0]
    text = victim.read_text(encoding="utf-8")
    broken = {
        "truncate": text[: len(text) // 2],
        "garbage": "\x00\x01 not json",
        "other key": json.dumps(["f" * 64, json.loads(text)[1]], ensure_ascii=False),
        "foreign class": json.dumps([victim.stem, {"$dc": "subprocess:Popen", "fields": {"args": "true"}}]),
    }[damage]
    victim.write_text(broken, encoding="utf-8")
    assert Cache(cache_dir).get(victim.stem) is None
    assert csvs(extract(articles, cache_dir=cache_dir, runner=no_runs)) == plain
    assert Cache(cache_dir).get(victim.stem) is not None  # rebuilt in place
    assert not list(cache_dir.glob("*/*.tmp"))


def test_adding_an_article_extracts_only_that_article(tmp_path, articles, extract):
    cache_dir = tmp_path / "cache"
    extract(articles[:1], cache_dir=cache_dir)
    seen: list[str] = []

    def counting(todo, registry, flags):
        seen.extend(a.source_id for a in todo)
        return run_local(todo, registry, flags)

    both = extract(articles, cache_dir=cache_dir, runner=counting)
    assert seen == [articles[1].source_id]
    assert csvs(both) == csvs(extract(articles))


def test_stored_results_are_read_ahead_only_a_bounded_way(tmp_path, articles, registry, monkeypatch):
    """While a miss is computed, at most READ_AHEAD stored results wait in memory: the
    rebuild of a large corpus must not hold every stored result at once. The results
    come in order and equal the cache-less ones, misses first, last and in between."""
    import pipeline.cache
    from pipeline.scale_corpus import generate

    scale = [_article(g.source_id, g.body) for g in generate(articles, registry, 14, seed=3)]
    flags = Flags(use_ner=False, parse=False)
    cache = Cache(tmp_path / "cache")
    keys = [article_key(a, registry, flags) for a in scale]
    for article, key in zip(scale, keys):
        cache.put(key, extract_article(article, registry, flags))
    misses = (0, 5, 13)
    for position in misses:
        cache.path(keys[position]).unlink()
    reads = 0
    get = Cache.get

    def counted(self, key):
        nonlocal reads
        reads += 1
        return get(self, key)

    monkeypatch.setattr(Cache, "get", counted)
    monkeypatch.setattr(pipeline.cache, "READ_AHEAD", 3)
    waiting = []
    results = []
    for result in pipeline.cache.cached_results(cache, scale, registry, flags, run_local):
        results.append(result)
        stored_so_far = sum(1 for p in range(len(results)) if p not in misses)
        waiting.append(reads - stored_so_far)
    assert max(waiting) == 3  # read ahead while a miss was computed, and never more
    assert reads == len(scale) - len(misses)  # each stored result read once
    assert dumps(results) == dumps([extract_article(a, registry, flags) for a in scale])


def test_a_registry_edit_that_keeps_every_entry_keeps_every_cached_result(tmp_path, articles, registry):
    """A comment in the registry re-extracts nothing; a new alias re-extracts every article."""
    text = (paths.CURATION / "registry.yaml").read_text(encoding="utf-8")
    commented, aliased = tmp_path / "commented.yaml", tmp_path / "aliased.yaml"
    commented.write_text("# reviewed again\n" + text, encoding="utf-8")
    aliased.write_text(text.replace("aliases: [", 'aliases: ["どこにもない別名", ', 1), encoding="utf-8")
    cache_dir = tmp_path / "cache"
    plain = csvs(extract_tables(articles, registry=registry, cache_dir=cache_dir, **FAST))
    kept = extract_tables(articles, registry=load_registry(commented), cache_dir=cache_dir, runner=no_runs, **FAST)
    assert csvs(kept) == plain
    seen: list[str] = []

    def counting(todo, registry, flags):
        seen.extend(a.source_id for a in todo)
        return run_local(todo, registry, flags)

    extract_tables(articles, registry=load_registry(aliased), cache_dir=cache_dir, runner=counting, **FAST)
    assert seen == sorted(a.source_id for a in articles)

def _article(source_id: str, body: str) -> Article:
    day = DateValue("2025-01-01", datetime.date(2025, 1, 1), datetime.date(2025, 1, 1), "day")
    return Article(source_id, Path(f"{source_id}.md"), "t", "p", "", "", "2025-01-01", day, "ja", "", body)


def test_a_name_aliased_by_an_earlier_article_resolves_as_in_sequence(extract):
    """`FRX` is linked to Foo Research by article a; b's `FRX社` must get that entity,
    as a one-process run in id order gives, although b alone would call it organization:frx."""
    a = _article("a", "研究機関Foo Research(FRX)は新しいモデルを作った。\n")
    b = _article("b", "FRX社は新しいモデルを作った。\n")
    stats = MergeStats()
    tables = extract([b, a], stats=stats)
    assert stats.reextracted == ["b"]
    assert {(m["source_id"], m["surface"], m["entity_id"]) for m in tables["mentions"]} == {
        ("a", "Foo Research", "organization:foo-research"),
        ("a", "FRX", "organization:foo-research"),
        ("b", "FRX", "organization:foo-research"),
    }
    alone = extract([b])
    assert [m["entity_id"] for m in alone["mentions"]] == ["organization:frx"]


def _sequential():
    """Make the merge re-extract every article against the shared resolver (within the
    block): what a one-process run in id order does, the reference every replay must
    equal."""
    from unittest import mock

    import pipeline.extract

    return mock.patch.object(pipeline.extract, "conflicts", lambda resolver, calls: True)


def test_a_family_name_another_article_linked_is_replayed_not_reextracted(extract):
    """Two Smiths: a links スミス to its person first; b's link of スミス to its own person
    is a no-op on the shared resolver, and b's スミス氏 still refers to b's person, so b
    is replayed from its log, with the tables a sequential run gives."""
    a = _article("a", "調査会社Foo Researchのアナリスト、ロバート・スミス氏は新しいモデルを評価した。\n「良いモデルだ」とスミス氏は語る。\n")
    b = _article("b", "Bar Labsの研究者、ソフィア・スミス氏は新しいモデルを作った。\nスミス氏によると、重みも公開する。\n")
    stats = MergeStats()
    replayed = extract([b, a], stats=stats)
    assert stats.reextracted == []
    assert {(m["source_id"], m["surface"], m["entity_id"]) for m in replayed["mentions"] if m["surface"] == "スミス"} == {
        ("a", "スミス", "person:robaato-sumisu"),
        ("b", "スミス", "person:sofia-sumisu"),
    }
    with _sequential():
        assert csvs(replayed) == csvs(extract([b, a]))


def test_replayed_scale_articles_equal_a_sequential_run(articles, registry, extract):
    """80 scale articles quoting made-up people (family names shared across articles,
    some names aliased by earlier articles): replaying the logs gives the tables of a
    one-process run in id order, re-extracting only where a name resolves otherwise."""
    from pipeline.scale_corpus import generate

    scale = [
        _article(g.source_id, g.body) for g in generate(articles, registry, 80, seed=5)
    ]
    stats = MergeStats()
    replayed = extract(scale, stats=stats)
    persons_by_family: dict[str, set[str]] = {}
    for m in replayed["mentions"]:
        if m["entity_id"].startswith("person:") and "・" not in m["surface"]:
            persons_by_family.setdefault(m["surface"], set()).add(m["entity_id"])
    assert any(len(ids) > 1 for ids in persons_by_family.values())  # one family name, several people
    assert len(stats.reextracted) < 8
    with _sequential():
        assert csvs(replayed) == csvs(extract(scale))


_LINES = st.sampled_from(
    [
        "研究機関Foo Research(FRX)は新しいモデルを作った。",
        "研究機関Bar Labs(FRX)は新しいモデルを公開した。",
        "FRX社は新しいモデルを作った。",
        "調査会社Foo Researchのアナリスト、ロバート・スミス氏は語った。",
        "Bar Labsの研究者、ソフィア・スミス氏は新しいモデルを作った。",
        "スミス氏によると、重みも公開する。",
        "アンナ・ミラー氏はFRXのモデルを評価した。",
        "ミラー氏は「良いモデルだ」と語る。",
    ]
)


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.lists(_LINES, min_size=1, max_size=4), min_size=2, max_size=6))
def test_replaying_any_articles_equals_a_sequential_run(registry, bodies):
    """Aliases in brackets, family names and names found again, in any mix and order
    of articles: the replayed merge gives the tables of re-extracting every article in
    id order against one resolver."""
    articles = [_article(f"p{i}", "\n".join(lines) + "\n") for i, lines in enumerate(bodies)]
    extract = functools.partial(extract_tables, registry=registry, **FAST)
    replayed = csvs(extract(articles))
    with _sequential():
        assert replayed == csvs(extract(articles))
