"""Japanese NLP models, loaded lazily and once per process.

GiNZA (spaCy) costs ~2.5 s and ~0.5 GB to load and parses ~2,000 characters/s, so it is
only loaded when a sentence needs it; SudachiPy alone tokenizes ~600,000 characters/s.
Both ship their weights in their wheels: nothing is downloaded at run time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# SudachiPy refuses inputs over 49,149 bytes; we stay well below.
MAX_CHUNK_BYTES = 40_000


@lru_cache(maxsize=1)
def ginza() -> Any:
    import spacy

    return spacy.load("ja_ginza")


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
