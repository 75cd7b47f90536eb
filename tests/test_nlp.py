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
