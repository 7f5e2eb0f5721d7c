"""Waiting in tests for something another thread or process does: a bound, not a timing."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], seconds: float = 60, interval: float = 0.02) -> None:
    """Returns once `condition()` holds; fails the test if it never does within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the condition never held within {seconds:g} s")
        time.sleep(interval)
