"""The checks metadata classes run on the fields users pass.

Pure. Each check returns the field as an exact builtin (a str subclass such as a str enum
becomes a plain str, an int given for a float becomes a float), so that the codec can
dispatch on exact classes, or raises `DefinitionError` naming the field and its value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from arco_flow.core.errors import DefinitionError


def expect_str(value: object, what: str) -> str:
    """Returns `value` as a plain str; `what` names it in the error."""
    if value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a str subclass (e.g. an enum) as a plain str
    raise DefinitionError(f"{what} must be a str, got {type(value).__name__} {value!r}")


def expect_float(value: object, what: str) -> float:
    """Returns `value`, a float or an int (not a bool), as a float."""
    if value.__class__ is float:
        return value
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    raise DefinitionError(f"{what} must be a float, got {type(value).__name__} {value!r}")


def expect_fspath(value: object, what: str) -> str:
    """Returns a str or ``os.PathLike`` path as a plain str."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    return expect_str(path, what)


def expect_all(items: Sequence[Any], cls: type, what: str) -> tuple[Any, ...]:
    """Returns `items` as a tuple, checking that each is an instance of `cls`."""
    result = tuple(items)
    for item in result:
        if not isinstance(item, cls):
            raise DefinitionError(
                f"{what} must be {cls.__name__} objects, got {type(item).__name__} {item!r}; "
                f"wrap it, e.g. {cls.__name__}(...)"
            )
    return result
