"""Japanese NLP models, loaded lazily and once per process.

GiNZA (spaCy) costs ~1 s (0.6 s of it importing spaCy) and ~0.5 GB to load and parses
a few thousand characters/s, so it is only loaded when a sentence needs it; SudachiPy
alone tokenizes about a million characters/s here. Both ship their weights in their
wheels: nothing is downloaded at run time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Generator, Sequence, TypeVar

# SudachiPy refuses inputs over 49,149 bytes; we stay well below.
MAX_CHUNK_BYTES = 40_000


@lru_cache(maxsize=1)
def ginza() -> Any:
    """The ja_ginza pipeline, its matrix products on numpy's OpenBLAS with one thread.

    GiNZA's time is mostly its tok2vec layers' matrix products: thinc's default (blis)
    ran them 2.5x slower than OpenBLAS here. One thread, because extraction already
    runs one process per core, and so that the arithmetic, and with it every parse,
    is the same whatever the number of cores.

    Without the vocabulary's string table (`strings.json`, 600,000 strings): reading
    it took 1.0 of the 1.4 s a load costs here, and nothing reads it. The static
    vectors are looked up by hash, and every string a doc shows (texts, lemmas, tags,
    labels) is added when the doc or the component is made; the docs are the same
    (tested against the complete load).
    """
    import spacy
    from thinc.api import NumpyOps, set_current_ops
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # numpy's OpenBLAS is loaded by now
    set_current_ops(NumpyOps(use_blis=False))
    return spacy.load("ja_ginza", exclude=["strings"])


# What each use of GiNZA needs; the other components only cost time. The parse needs
# the morphologizer (VERB); of bunsetu_recognizer (~12 % of a parse) it needs only the
# plain dependency labels, which `ginza_docs` makes itself.
PARSE = ("tok2vec", "parser", "morphologizer", "compound_splitter")
NER = ("tok2vec", "ner")
BUNSETU_SUFFIX = "_bunsetu"  # the parser's labels carry it until bunsetu_recognizer strips it
NO_SHARING = "AOE_NO_SHARED_DOCS"  # set: a repeated text is run once per copy (for the bench)


def ginza_docs(texts: list[str], components: tuple[str, ...]) -> list[Any]:
    """GiNZA docs of `texts`, running only `components`, in one batch (bigger batches
    are cheaper per sentence). No texts: GiNZA is not even loaded.

    A text given more than once is run once and its doc given back for each (a credit
    line or a stock phrase repeated across a batch's articles costs one parse): callers
    read docs and never change them. A doc does not depend on the rest of its batch, so
    this changes no result (tested). With `AOE_NO_SHARED_DOCS` set, each copy is run:
    the bench measures what the sharing gains on its corpus.
    """
    if not texts:
        return []
    nlp = ginza()
    share = not os.environ.get(NO_SHARING)
    distinct = list(dict.fromkeys(texts)) if share else list(texts)
    with nlp.select_pipes(enable=[c for c in components if c in nlp.pipe_names]):
        docs = list(nlp.pipe(distinct, batch_size=len(distinct)))
    if "parser" in components and "bunsetu_recognizer" not in components:
        for doc in docs:
            for token in doc:
                if token.dep_.endswith(BUNSETU_SUFFIX):
                    token.dep_ = token.dep_.removesuffix(BUNSETU_SUFFIX)
    if not share:
        return docs
    by_text = dict(zip(distinct, docs))
    return [by_text[text] for text in texts]


# --- many articles' GiNZA work in one batch -------------------------------------------

T = TypeVar("T")
# What a step asks GiNZA for: (components, texts); it is sent back the docs.
Request = tuple[tuple[str, ...], list[str]]
# A piece of per-article work written as a generator: it yields each `Request` and
# gets the docs, so that many articles' requests can share one GiNZA batch.
Steps = Generator[Request, list[Any], T]


def run_steps(steps: Steps[T]) -> T:
    """Run one article's steps on their own."""
    return run_together([steps])[0]


def run_together(all_steps: Sequence[Steps[T]]) -> list[T]:
    """Run several articles' steps side by side: each round, every request for the
    same components goes to GiNZA in one batch (~25 % cheaper per sentence than a
    batch per article). A doc does not depend on what else is in its batch, so the
    results are those of `run_steps` on each (tested)."""
    results: dict[int, T] = {}
    pending: dict[int, Request] = {}

    def advance(i: int, docs: list[Any] | None) -> None:
        try:
            pending[i] = all_steps[i].send(docs)  # type: ignore[arg-type]
        except StopIteration as done:
            pending.pop(i, None)
            results[i] = done.value

    for i in range(len(all_steps)):
        advance(i, None)
    while pending:
        components = next(iter(pending.values()))[0]
        asking = [i for i, (wanted, _) in pending.items() if wanted == components]
        docs = ginza_docs([text for i in asking for text in pending[i][1]], components)
        taken = 0
        for i in asking:
            count = len(pending[i][1])
            advance(i, docs[taken : taken + count])
            taken += count
    return [results[i] for i in range(len(all_steps))]


@lru_cache(maxsize=1)
def sudachi() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core").create()


def sudachi_tokens(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, part of speech) for each token of `text`, mode C (longest units)."""
    from sudachipy import SplitMode

    tokens = []
    offset = 0
    for chunk in _chunks(text):
        for morpheme in sudachi().tokenize(chunk, SplitMode.C):
            tokens.append((offset + morpheme.begin(), offset + morpheme.end(), tuple(morpheme.part_of_speech())))
        offset += len(chunk)
    return tokens


def _chunks(text: str) -> list[str]:
    """Split at line ends into pieces under SudachiPy's input limit."""
    if len(text.encode("utf-8")) <= MAX_CHUNK_BYTES:
        return [text]
    pieces, current, size = [], [], 0
    for line in text.splitlines(keepends=True):
        length = len(line.encode("utf-8"))
        if current and size + length > MAX_CHUNK_BYTES:
            pieces.append("".join(current))
            current, size = [], 0
        while length > MAX_CHUNK_BYTES:  # one enormous line: cut by characters
            cut = MAX_CHUNK_BYTES // 4
            pieces.append(line[:cut])
            line = line[cut:]
            length = len(line.encode("utf-8"))
        current.append(line)
        size += length
    if current:
        pieces.append("".join(current))
    return pieces
