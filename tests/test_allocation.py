"""The build raises the collector's thresholds only while it allocates in bulk."""

from __future__ import annotations

import gc

import pytest

from pipeline.allocation import allocates_in_bulk, bulk_allocation


def test_thresholds_are_raised_inside_and_restored_after_even_on_error():
    before = gc.get_threshold()
    with bulk_allocation():
        assert gc.get_threshold()[0] >= 100_000
    assert gc.get_threshold() == before

    @allocates_in_bulk
    def fails() -> None:
        assert gc.get_threshold()[0] >= 100_000
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.get_threshold() == before
