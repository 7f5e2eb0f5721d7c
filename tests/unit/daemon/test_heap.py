"""`QuietHeap`: the collector is off during a tick, what the tick kept is frozen after it,
and the frozen heap is thawed and collected in full once per period."""

from __future__ import annotations

import gc
import weakref

import pytest

from arco_flow.daemon.heap import QuietHeap


@pytest.fixture(autouse=True)
def _thawed():
    yield
    gc.unfreeze()
    gc.enable()


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_tick_runs_with_the_collector_off_and_freezes_what_it_kept() -> None:
    heap = QuietHeap(clock=_Clock())
    gc.unfreeze()
    with heap.tick():
        assert not gc.isenabled()
        kept = [[i] for i in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)


def test_a_tick_inside_a_paused_block_leaves_the_collector_to_it() -> None:
    heap = QuietHeap(clock=_Clock())
    gc.unfreeze()
    gc.disable()
    with heap.tick():
        pass
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_the_collector_stays_on_after_a_failing_tick() -> None:
    heap = QuietHeap(clock=_Clock())
    with pytest.raises(ValueError, match="boom"), heap.tick():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_cycle_left_by_a_tick_is_collected_at_the_next_full_collection() -> None:
    clock = _Clock()
    heap = QuietHeap(collect_every_s=60, clock=clock)

    class Node:
        pass

    with heap.tick():
        node = Node()
        node.self = node  # a cycle: reference counting alone never frees it
        alive = weakref.ref(node)
        del node
    clock.now = 30
    assert not heap.collect_if_due()
    gc.collect()  # frozen: an ordinary collection does not see it
    assert alive() is not None
    clock.now = 61
    assert heap.collect_if_due()
    assert heap.collections == 1
    assert alive() is None
    assert gc.get_freeze_count() == 0
