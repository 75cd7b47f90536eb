"""How GiNZA is run: on OpenBLAS with one thread, and only the components each use needs."""

from __future__ import annotations


def test_ginza_multiplies_on_one_openblas_thread():
    from threadpoolctl import threadpool_info

    from pipeline.nlp import ginza

    tok2vec = ginza().get_pipe("tok2vec").model
    assert type(tok2vec.ops).__name__ == "NumpyOps" and tok2vec.ops.use_blis is False
    blas = [pool for pool in threadpool_info() if pool["internal_api"] == "openblas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_each_use_runs_its_own_components():
    """The parse gets dependencies and no entities; NER entities and no parse; neither
    changes what the other would have found with the whole pipeline."""
    from pipeline.nlp import NER, PARSE, ginza, ginza_docs

    text = "米OpenAIのサム・アルトマン氏は東京で新しいモデルを公開した。"
    (whole,) = ginza_docs([text], tuple(ginza().pipe_names))
    (parsed,) = ginza_docs([text], PARSE)
    (named,) = ginza_docs([text], NER)
    assert [(t.dep_, t.head.i, t.pos_) for t in parsed] == [(t.dep_, t.head.i, t.pos_) for t in whole]
    assert not parsed.ents and whole.ents
    assert [(e.start_char, e.end_char, e.label_) for e in named.ents] == [(e.start_char, e.end_char, e.label_) for e in whole.ents]
    assert not named.has_annotation("DEP")
    assert ginza_docs([], PARSE) == []


def test_articles_extracted_together_equal_each_alone(articles):
    """Batching several articles' GiNZA work (`run_together`) changes no result."""
    from pipeline.extract import Flags, extract_article, extract_articles
    from pipeline.registry import load_registry
    from tests.conftest import small_article

    registry = load_registry()
    batch = list(articles) + [
        small_article("MetaとMicrosoftは共同で新モデルを公開した。", "test-2025-01-01-b"),
        small_article("翻訳は雨輝ITラボが担当し、OpenAIはGPT-5を発表した。", "test-2025-01-01-c"),
    ]
    together = extract_articles(batch, registry, Flags())
    assert [r.source_id for r in together] == [a.source_id for a in batch]
    assert together == [extract_article(a, registry, Flags()) for a in batch]
    assert any(m["method"] == "ner" for r in together for m in r.mentions.rows())
    assert any(e.method == "parse" for r in together for e in r.events)


def test_pool_chunks_keep_order_and_feed_every_worker(articles):
    from pipeline.executor import pool_chunks
    from pipeline.extract import CHUNK

    many = list(articles) * 200
    chunked = pool_chunks(many, workers=2)
    assert [a for chunk in chunked for a in chunk] == many
    assert max(map(len, chunked)) == CHUNK and len(chunked) >= 8
    assert [len(c) for c in pool_chunks(many[:6], workers=2)] == [1] * 6


def test_ginza_without_its_string_table_gives_the_same_docs(articles):
    """`nlp.ginza` skips loading the vocabulary's strings; every attribute the pipeline
    reads (and the entities) must equal those of GiNZA loaded whole, as spacy.load gives it."""
    import spacy

    from pipeline.nlp import ginza

    lines = [line for a in articles for line in a.body.split("\n") if line.strip()]

    def seen(nlp) -> list:
        return [
            [(t.text, t.lemma_, t.pos_, t.tag_, t.dep_, t.head.i, str(t.morph), t.ent_iob_, t.ent_type_) for t in doc]
            for doc in nlp.pipe(lines, batch_size=16)
        ]

    assert len(lines) > 50
    ours = ginza()
    assert len(ours.vocab.strings) < 100_000  # the string table was not read
    assert seen(ours) == seen(spacy.load("ja_ginza"))


def test_a_repeated_text_is_run_once_and_gets_the_doc_it_gets_alone():
    from pipeline.nlp import NER, PARSE, ginza_docs

    credit = "翻訳・編集協力:雨輝ITラボ(リーフレイン)"
    other = "米OpenAIのサム・アルトマン氏は東京で新しいモデルを公開した。"
    for components in (PARSE, NER):
        docs = ginza_docs([credit, other, credit, credit], components)
        assert len(docs) == 4 and docs[0] is docs[2] is docs[3] and docs[1] is not docs[0]
        for doc, text in zip(docs, [credit, other, credit, credit]):
            (alone,) = ginza_docs([text], components)
            assert doc.text == text
            assert [(t.text, t.dep_, t.head.i, t.pos_, t.ent_iob_, t.ent_type_) for t in doc] == [
                (t.text, t.dep_, t.head.i, t.pos_, t.ent_iob_, t.ent_type_) for t in alone
            ]


def test_the_bench_can_run_every_copy_of_a_repeated_text(monkeypatch):
    from pipeline.nlp import NO_SHARING, PARSE, ginza_docs

    credit = "翻訳・編集協力:雨輝ITラボ(リーフレイン)"
    monkeypatch.setenv(NO_SHARING, "1")
    first, second = ginza_docs([credit, credit], PARSE)
    assert first is not second
    assert [(t.text, t.dep_, t.head.i) for t in first] == [(t.text, t.dep_, t.head.i) for t in second]
