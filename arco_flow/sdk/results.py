"""What an asset body returns or raises: `Output`, `MaterializeResult`, `Failure`, ….

Values with Dagster's names and semantics. `Output` carries a value to the IO manager;
`MaterializeResult` records a materialization without a value to store; `Failure` and
`RetryRequested` let user code steer retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from arco_flow.core.keys import AssetKey, CoercibleToAssetKey

__all__ = ["DataVersion", "Failure", "MaterializeResult", "Output", "RetryRequested"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DataVersion:
    """A version of an asset's data, set by user code or derived by the engine."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError(f"DataVersion takes a string, got {type(self.value).__name__}")


@dataclass(frozen=True, slots=True)
class Output(Generic[T]):
    """A value returned from an asset body, with the metadata to record beside it.

    Args:
        value: the value handed to the IO manager.
        output_name: which output of a multi-asset this is ("result" for a single asset).
        metadata: metadata recorded on the materialization.
        data_version: the version of the data, when user code knows it.
        tags: tags recorded on the materialization.
    """

    value: T
    output_name: str = "result"
    metadata: Mapping[str, Any] | None = None
    data_version: DataVersion | None = None
    tags: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MaterializeResult:
    """A materialization with no value for the IO manager (the body stored the data itself).

    Args:
        asset_key: which asset of a multi-asset this is about; optional for one asset.
        metadata: metadata recorded on the materialization.
        check_results: asset check results evaluated in the body.
        data_version: the version of the data, when user code knows it.
        tags: tags recorded on the materialization.
        value: a value to hand to the IO manager as well (Dagster 1.8+).
    """

    asset_key: CoercibleToAssetKey | None = None
    metadata: Mapping[str, Any] | None = None
    check_results: Sequence[Any] = ()
    data_version: DataVersion | None = None
    tags: Mapping[str, str] | None = None
    value: Any = field(default=None)

    @property
    def resolved_asset_key(self) -> AssetKey | None:
        """`asset_key` as an `AssetKey`."""
        return None if self.asset_key is None else AssetKey.from_coercible(self.asset_key)


class Failure(Exception):  # Dagster's name
    """Raised by user code to fail a task with a description and metadata.

    Args:
        description: what went wrong, shown in the run's events.
        metadata: metadata recorded with the failure.
        allow_retries: when False, the task's retry policy is not applied.
    """

    def __init__(
        self,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_retries: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})
        self.allow_retries = allow_retries


class RetryRequested(Exception):  # Dagster's name
    """Raised by user code to ask for another attempt, regardless of the retry policy.

    Args:
        max_retries: how many retries this request allows in all.
        seconds_to_wait: the delay before the next attempt.
    """

    def __init__(self, max_retries: int = 1, seconds_to_wait: float = 0) -> None:
        super().__init__(f"retry requested (max_retries={max_retries})")
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait
