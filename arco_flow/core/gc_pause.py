"""Pausing the cyclic garbage collector while large acyclic structures are built.

Building a graph or a plan of 10,000+ assets allocates hundreds of thousands of small
objects; CPython's collector would traverse the whole heap several times on the way
(more than half the cost, measured). None of those objects form reference cycles, so
collection is paused for the duration and resumed after, as it was.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["gc_paused"]

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(function: Callable[P, R]) -> Callable[P, R]:
    """Runs `function` with the cyclic garbage collector paused."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()
            # The objects made while paused are all in the youngest generation: scan them
            # now, so that the cost lands here and not on whatever allocates next.
            gc.collect(0)

    return wrapper
