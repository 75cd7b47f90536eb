"""The build turns the cyclic collector off only while it allocates in bulk."""

from __future__ import annotations

import gc

import pytest

from pipeline.allocation import allocates_in_bulk, bulk_allocation


def test_collector_is_off_inside_and_back_on_after_even_on_error():
    assert gc.isenabled()
    with bulk_allocation():
        assert not gc.isenabled()
        with bulk_allocation():  # nested: the inner block leaves it off for the outer one
            pass
        assert not gc.isenabled()
    assert gc.isenabled()

    @allocates_in_bulk
    def fails() -> None:
        assert not gc.isenabled()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.isenabled()


def test_a_cycle_made_inside_is_collected_after():
    import weakref

    class Node:
        pass

    with bulk_allocation():
        node = Node()
        node.self = node
        alive = weakref.ref(node)
        del node
        assert alive() is not None  # in a cycle: reference counting alone keeps it
    gc.collect()
    assert alive() is None
