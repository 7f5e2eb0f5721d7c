"""Keeping CPython's cyclic garbage collector off the daemon's long-lived state.

The automation loop keeps every asset's state and cursor in memory: millions of small
objects at 10,000 assets, none in a reference cycle, replaced piece by piece each tick.
Left to itself the collector traverses them over and over (a young-generation pass after
a tick that rebuilt 5,000 assets' records took ~0.6 s, a full pass more), on whichever
allocation happens to trigger it, so its cost lands on the next tick's latency.

`QuietHeap.tick` pauses the collector for a tick and then freezes what survived
(`gc.freeze`): frozen objects are never traversed, and those a later tick drops are still
freed at once by reference counting, as they hold no cycles. So that the rare cycle
(an exception's traceback, say) is not kept forever, the frozen heap is thawed and
collected in full once every `collect_every_s` seconds, after an idle tick.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["DEFAULT_COLLECT_EVERY_S", "QuietHeap"]

DEFAULT_COLLECT_EVERY_S = 600.0
"""Seconds between two full collections of the frozen heap."""


class QuietHeap:
    """Pauses the cyclic collector during ticks and freezes what they leave behind.

    Args:
        collect_every_s: The most seconds between two full collections (done after an
            idle tick, so they delay no request).
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        *,
        collect_every_s: float = DEFAULT_COLLECT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._collect_every_s, self._clock = collect_every_s, clock
        self._last_collection = clock()
        self.collections = 0
        """Full collections done so far."""

    @contextmanager
    def tick(self) -> Iterator[None]:
        """The collector paused for the block; what survives it is frozen afterwards.

        Nested `gc_paused` calls see the collector off and leave it to this block.
        """
        if not gc.isenabled():  # someone up the stack manages the collector
            yield
            return
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()
            gc.enable()

    def collect_if_due(self) -> bool:
        """Thaws and collects the whole heap if `collect_every_s` passed; call when idle."""
        now = self._clock()
        if now - self._last_collection < self._collect_every_s:
            return False
        gc.unfreeze()
        gc.collect()
        self._last_collection = now
        self.collections += 1
        return True
