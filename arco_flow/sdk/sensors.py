"""Sensors: `@sensor`, `SensorDefinition`, `SensorResult`, their context and tick evaluation.

A sensor is a value: a target, a minimum interval and a function of a context that holds
the cursor. `evaluate_tick(context)` calls the function once and returns the run requests
(job name filled in, partition keys checked against the target and the partitions the same
result adds), the skip message, the cursor after the tick and the dynamic partition
requests. Nothing here reads a clock, stores a cursor or launches a run: the daemon does.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arco_flow.core.errors import DefinitionError, UserCodeError
from arco_flow.core.keys import is_valid_name
from arco_flow.core.partitions._requests import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)
from arco_flow.sdk.resource_map import Resources
from arco_flow.sdk.run_requests import (
    RunRequest,
    SkipReason,
    TickTarget,
    collect_tick_results,
    context_parameter,
    resolve_run_requests,
    resolve_target,
)

__all__ = [
    "DEFAULT_SENSOR_INTERVAL_SECONDS",
    "SENSOR_NAME_TAG",
    "DefaultSensorStatus",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorEvaluationResult",
    "SensorResult",
    "build_sensor_context",
    "sensor",
]

DEFAULT_SENSOR_INTERVAL_SECONDS = 30
SENSOR_NAME_TAG = "arco/sensor_name"
"""The tag every run a sensor requests carries: the sensor's name (the daemon adds it)."""
_LOG = logging.getLogger("arco_flow.sensors")
DynamicPartitionsRequest = AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest


class DefaultSensorStatus(enum.Enum):
    """Whether a sensor runs before anyone starts or stops it (Dagster's names)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class SensorEvaluationContext:
    """What a sensor function gets: the cursor, the instance and resources.

    Build one with `build_sensor_context` in tests.
    """

    __slots__ = (
        "_cursor",
        "_cursor_updated",
        "_instance",
        "_last_tick_completion_time",
        "_resources",
        "_sensor_name",
    )

    def __init__(
        self,
        cursor: str | None = None,
        instance: Any = None,
        resources: Mapping[str, Any] | None = None,
        sensor_name: str | None = None,
        last_tick_completion_time: float | None = None,
    ) -> None:
        self._cursor = cursor
        self._cursor_updated = False
        self._instance = instance
        self._resources = resources
        self._sensor_name = sensor_name
        self._last_tick_completion_time = last_tick_completion_time

    @property
    def cursor(self) -> str | None:
        """The cursor the last tick left, or the one set by `update_cursor` in this tick."""
        return self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Sets the cursor the next tick starts from."""
        if cursor is not None and not isinstance(cursor, str):
            raise DefinitionError(
                f"sensor {self._sensor_name!r}: a cursor is a string, got {cursor!r}; "
                "serialize it (e.g. json.dumps)"
            )
        self._cursor = cursor
        self._cursor_updated = True

    @property
    def cursor_updated(self) -> bool:
        """Whether `update_cursor` was called in this tick."""
        return self._cursor_updated

    @property
    def instance(self) -> Any:
        """The instance the sensor reads.

        Raises:
            DefinitionError: The context was built without one.
        """
        if self._instance is None:
            raise DefinitionError(
                f"sensor {self._sensor_name!r} reads context.instance, but the context has "
                "none: pass instance= to build_sensor_context (e.g. ArcoInstance.ephemeral())"
            )
        return self._instance

    @property
    def instance_or_none(self) -> Any:
        """The instance, or None when the context has none."""
        return self._instance

    @property
    def resources(self) -> Resources:
        """The resources the sensor asked for, by key and as attributes."""
        resources = self._resources
        if not isinstance(resources, Resources):
            resources = Resources(resources)
            self._resources = resources
        return resources

    @property
    def sensor_name(self) -> str | None:
        """The name of the sensor being evaluated."""
        return self._sensor_name

    @property
    def last_tick_completion_time(self) -> float | None:
        """When the previous tick ended (POSIX seconds), if the daemon said."""
        return self._last_tick_completion_time

    @property
    def log(self) -> logging.Logger:
        """A logger for the sensor's messages."""
        return _LOG


def build_sensor_context(
    instance: Any = None,
    cursor: str | None = None,
    sensor_name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    last_tick_completion_time: float | None = None,
) -> SensorEvaluationContext:
    """A sensor context for tests and direct calls (Dagster's name).

    Args:
        instance: The instance, for sensors that read it.
        cursor: The cursor a previous tick left.
        sensor_name: The sensor's name (set by `evaluate_tick` otherwise).
        resources: Resource key -> resource, used as given.
        last_tick_completion_time: When the previous tick ended.
    """
    return SensorEvaluationContext(
        cursor, instance, resources, sensor_name, last_tick_completion_time
    )


@dataclass(frozen=True, slots=True)
class SensorResult:
    """Everything one sensor tick returns (Dagster's `SensorResult`).

    Raises:
        DefinitionError: Both run requests and a skip reason, or a request of the wrong type.
    """

    run_requests: Sequence[RunRequest] | None = None
    skip_reason: SkipReason | str | None = None
    cursor: str | None = None
    dynamic_partitions_requests: Sequence[DynamicPartitionsRequest] | None = None

    def __post_init__(self) -> None:
        if self.run_requests and self.skip_reason is not None:
            raise DefinitionError(
                "SensorResult takes run_requests or skip_reason, not both: a tick that "
                "requests runs did not skip"
            )
        if isinstance(self.skip_reason, str):
            object.__setattr__(self, "skip_reason", SkipReason(self.skip_reason))
        bad = [
            r
            for r in self.dynamic_partitions_requests or ()
            if not isinstance(r, AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest)
        ]
        if bad:
            raise DefinitionError(
                f"SensorResult dynamic_partitions_requests got {bad[0]!r}; use "
                "AddDynamicPartitionsRequest / DeleteDynamicPartitionsRequest (or "
                "partitions_def.build_add_request(keys))"
            )


@dataclass(frozen=True, slots=True)
class SensorEvaluationResult:
    """One evaluated sensor tick (Dagster's `SensorExecutionData`)."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None
    cursor: str | None = None
    """The cursor after the tick: the one the tick set, else the one it started with."""
    dynamic_partitions_requests: list[DynamicPartitionsRequest] = field(default_factory=list)


class SensorDefinition:
    """A sensor: what it targets, how often it runs, and its function (Dagster's).

    Args:
        name: The sensor's name; defaults to the function's.
        evaluation_fn: The sensor function (what `@sensor` decorates).
        job_name: The name of the job to run.
        minimum_interval_seconds: The least time between two ticks; 30 by default.
        description: Shown in the UI.
        job: The job to run (from `define_asset_job`).
        default_status: Whether it runs before anyone starts it.
        asset_selection: Assets to materialize, run as an anonymous job.
        required_resource_keys: Resources the function reads from the context.
        target: A job, or an asset selection.
        tags: Tags of the sensor.
        metadata: Free-form metadata.

    A sensor may have no target when every request it returns names a `job_name` or an
    `asset_selection`, or when it only changes dynamic partitions.

    Raises:
        DefinitionError: An invalid name or interval, or more than one target.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        evaluation_fn: Callable[..., Any] | None = None,
        job_name: str | None = None,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        job: Any = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        asset_selection: Any = None,
        required_resource_keys: Sequence[str] | None = None,
        target: Any = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if name is None and evaluation_fn is not None:
            name = evaluation_fn.__name__
        if not isinstance(name, str) or not is_valid_name(name):
            raise DefinitionError(f"sensor name {name!r} is not valid: use letters, digits and '_'")
        if evaluation_fn is None or not callable(evaluation_fn):
            raise DefinitionError(f"sensor {name!r} needs an evaluation_fn (a function)")
        interval = (
            DEFAULT_SENSOR_INTERVAL_SECONDS
            if minimum_interval_seconds is None
            else minimum_interval_seconds
        )
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
            raise DefinitionError(
                f"sensor {name!r}: minimum_interval_seconds must be a whole number of seconds "
                f"(0 or more), got {minimum_interval_seconds!r}"
            )
        if not isinstance(default_status, DefaultSensorStatus):
            raise DefinitionError(
                f"sensor {name!r}: default_status must be a DefaultSensorStatus, got "
                f"{default_status!r}"
            )
        self.name = name
        self.minimum_interval_seconds = interval
        self.description = description
        self.default_status = default_status
        self.tags: Mapping[str, str] = dict(tags or {})
        self.metadata: Mapping[str, Any] = dict(metadata or {})
        self.target: TickTarget = resolve_target(
            "sensor",
            name,
            job=job,
            job_name=job_name,
            target=target,
            asset_selection=asset_selection,
            required=False,
        )
        declared = tuple(required_resource_keys or ())
        self._fn = evaluation_fn
        self._takes_context, self._resource_params = context_parameter(evaluation_fn, declared)
        self.required_resource_keys = frozenset(declared) | frozenset(self._resource_params)
        self._owner = f"sensor {name!r}"

    @property
    def job_name(self) -> str | None:
        """The name of the targeted job (an anonymous one for an asset selection)."""
        return self.target.job_name

    @property
    def job(self) -> Any:
        """The targeted job object, when a job (not a name) was given."""
        return self.target.job

    @property
    def asset_selection(self) -> Any:
        """The targeted asset selection, when assets (not a job) are targeted."""
        return self.target.asset_selection

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the sensor function directly, as in Dagster (a context is built if none)."""
        if not self._takes_context:
            return self._fn(*args, **kwargs)
        if args:
            context, *rest = args
        else:
            context = kwargs.pop("context", None) or build_sensor_context(sensor_name=self.name)
            rest = []
        resources = {key: kwargs.pop(key) for key in self._resource_params if key in kwargs}
        if not resources and self._resource_params:
            resources = {k: context.resources[k] for k in self._resource_params}
        return self._fn(context, *rest, **resources, **kwargs)

    def _call(self, context: SensorEvaluationContext) -> Any:
        if self._resource_params:
            resources = context.resources
            values = {key: resources[key] for key in self._resource_params}
            return self._fn(context, **values) if self._takes_context else self._fn(**values)
        return self._fn(context) if self._takes_context else self._fn()

    def evaluate_tick(self, context: SensorEvaluationContext) -> SensorEvaluationResult:
        """Evaluates one tick the way the sensor daemon does.

        Raises:
            UserCodeError: The sensor function raised; the exception is the cause.
            DefinitionError: It returned something that is not a run request, skip or
                `SensorResult`, or set the cursor both on the context and in its result.
            PartitionError: A request names a partition the target does not have.
        """
        context._sensor_name = self.name
        started_cursor = context.cursor
        try:
            value = self._evaluate(context)
            requests, skip, others = collect_tick_results(
                value, self._owner, allow_run_config=False
            )
        except (DefinitionError, UserCodeError):
            raise
        except Exception as error:
            raise UserCodeError(
                f"{self._owner} raised {type(error).__name__}: {error}; fix the sensor function "
                "(the original exception is the cause)"
            ) from error
        return self._result(context, requests, skip, others, started_cursor)

    def _evaluate(self, context: SensorEvaluationContext) -> Any:
        """The function's raw result; asset and run-status sensors override it."""
        return self._call(context)

    def _result(
        self,
        context: SensorEvaluationContext,
        requests: list[RunRequest],
        skip: str | None,
        others: list[Any],
        started_cursor: str | None,
    ) -> SensorEvaluationResult:
        cursor = context.cursor
        partition_requests: list[DynamicPartitionsRequest] = []
        for item in others:
            if not isinstance(item, SensorResult):
                raise DefinitionError(
                    f"{self._owner} returned {item!r}; return or yield RunRequest / SkipReason, "
                    "or return one SensorResult"
                )
            if requests or len(others) > 1:
                raise DefinitionError(
                    f"{self._owner} returned a SensorResult together with other results; put "
                    "every run request in the one SensorResult"
                )
            if item.cursor is not None:
                if context.cursor_updated:
                    raise DefinitionError(
                        f"{self._owner} called context.update_cursor and returned a "
                        "SensorResult with a cursor; set the cursor one way"
                    )
                cursor = item.cursor
            requests = list(item.run_requests or ())
            reason = item.skip_reason
            skip = reason.skip_message if isinstance(reason, SkipReason) else None
            if not requests and reason is None:
                skip = (
                    None if item.dynamic_partitions_requests else f"{self._owner} requested no run"
                )
            partition_requests = list(item.dynamic_partitions_requests or ())
        added: dict[str, list[str]] = {}
        for request in partition_requests:
            if isinstance(request, AddDynamicPartitionsRequest):
                added.setdefault(request.partitions_def_name, []).extend(request.partition_keys)
        resolved = resolve_run_requests(
            requests,
            owner=self._owner,
            target=self.target,
            tags={},
            current_time=None,
            dynamic_partitions_store=context.instance_or_none,
            added_partitions=added,
            fill_job_name=False,
        )
        return SensorEvaluationResult(
            run_requests=resolved,
            skip_message=None if resolved else skip,
            cursor=cursor if cursor is not None else started_cursor,
            dynamic_partitions_requests=partition_requests,
        )


def sensor(
    job_name: str | None = None,
    *,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: Any = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    asset_selection: Any = None,
    required_resource_keys: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    target: Any = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """Declares a sensor from its function (Dagster's `@sensor`).

    The function takes the context (optional) and resources by parameter name, and returns
    or yields `RunRequest`s and `SkipReason`s, or returns one `SensorResult`.

    Args:
        job_name: The name of the job to run.
        name: The sensor's name; defaults to the function's.
        minimum_interval_seconds: The least time between two ticks; 30 by default.
        description: Shown in the UI; defaults to the function's docstring.
        job: The job to run.
        default_status: Whether it runs before anyone starts it.
        asset_selection: Assets to materialize, run as an anonymous job.
        required_resource_keys: Resources the function reads from the context.
        tags: Tags of the sensor.
        metadata: Free-form metadata.
        target: A job, or an asset selection.

    Returns:
        A decorator that turns the function into a `SensorDefinition`.

    Raises:
        DefinitionError: As `SensorDefinition`.
    """

    def decorate(fn: Callable[..., Any]) -> SensorDefinition:
        return SensorDefinition(
            name=name or fn.__name__,
            evaluation_fn=fn,
            job_name=job_name,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or fn.__doc__,
            job=job,
            default_status=default_status,
            asset_selection=asset_selection,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
            target=target,
        )

    return decorate
