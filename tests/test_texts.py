"""Article bodies spooled to a temporary file (`pipeline.texts`) read back as they were told."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import paths
from pipeline.texts import SpooledTexts
from pipeline.validate import validate_package


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.text()), max_size=12), st.lists(st.sampled_from(["a", "b", "c", "d", "x"])))
def test_bodies_read_back_are_the_last_told(told, asked):
    texts, expected = SpooledTexts(), {}
    for source_id, body in told:
        texts.add(source_id, body.encode("utf-8"))
        expected[source_id] = body
        for key in asked:  # asked for between additions too: the kept one is never stale
            assert (key in texts) == (key in expected)
            assert texts.get(key) == expected.get(key)
    assert dict(texts) == expected and len(texts) == len(expected) and list(texts) == list(expected)


def test_bodies_are_not_held_in_memory(bodies):
    """What the mapping keeps of each body is where it starts in the file."""
    texts = SpooledTexts()
    for source_id, body in bodies.items():
        texts.add(source_id, body.encode("utf-8"))
    assert os.fstat(texts._file.fileno()).st_size == sum(len(b.encode("utf-8")) for b in bodies.values())
    assert all(isinstance(at, int) and isinstance(size, int) for at, size in texts._at.values())
    assert dict(texts) == bodies
    assert texts._last[1] == bodies[list(bodies)[-1]]  # the one body kept: the last read


def test_validation_against_spooled_bodies_is_validation_against_the_corpus(bodies):
    texts = SpooledTexts()
    for source_id, body in bodies.items():
        texts.add(source_id, body.encode("utf-8"))
    assert validate_package(paths.ROOT, texts).json() == validate_package(paths.ROOT, bodies).json()
