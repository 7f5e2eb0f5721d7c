"""`Resources`: resources by key and as attributes (``context.resources.db``).

Kept apart from the resource definitions so that contexts can use it without loading
pydantic: `import arco_flow` stays light.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping

from arco_flow.core.errors import ResourceError, did_you_mean

__all__ = ["Resources"]


class _ResourceAttributeError(ResourceError, AttributeError):
    """An attribute of `Resources` names no resource."""


class Resources(Mapping[str, typing.Any]):
    """The resources a resource depends on, by key and as attributes (``resources.db``)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        self._values = dict(values or {})

    def __getattr__(self, name: str) -> typing.Any:
        if name.startswith("__") or name == "_values":
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            hint = did_you_mean(name, self._values)
            raise _ResourceAttributeError(
                f"no resource {name!r} here.{hint} Available: {sorted(self._values)}. Declare "
                "it in required_resource_keys, or as a field of the resource."
            ) from None

    def __getitem__(self, key: str) -> typing.Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Resources({sorted(self._values)})"
