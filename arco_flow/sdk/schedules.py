"""Schedules: `@schedule`, `ScheduleDefinition`, their context and the evaluation of a tick.

A schedule is a value: a cron schedule (validated with cronsim when it is defined), a time
zone, a target and a function. `evaluate_tick(context)` calls the function for one
scheduled time and returns the run requests (job name and tags filled in, partition keys
checked against the target) or why it skipped; `fire_times(start)` lists when it fires.
Nothing here reads a clock or launches a run: the daemon does (issue 6).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from arco_flow.core.cron import merge_fire_times
from arco_flow.core.errors import DefinitionError, UserCodeError
from arco_flow.core.keys import is_valid_name
from arco_flow.sdk.cron import cron_fire_timestamps, resolve_timezone, validate_cron_schedule
from arco_flow.sdk.resource_map import Resources
from arco_flow.sdk.run_requests import (
    RunRequest,
    collect_tick_results,
    context_parameter,
    resolve_run_requests,
    resolve_target,
)

__all__ = [
    "SCHEDULE_NAME_TAG",
    "DefaultScheduleStatus",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "ScheduleEvaluationResult",
    "build_schedule_context",
    "schedule",
]

SCHEDULE_NAME_TAG = "arco/schedule_name"
"""The tag every run a schedule requests carries: the schedule's name."""
_LOG = logging.getLogger("arco_flow.schedules")


class DefaultScheduleStatus(enum.Enum):
    """Whether a schedule runs before anyone starts or stops it (Dagster's names)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class ScheduleEvaluationContext:
    """What a schedule function gets: the scheduled time, the instance and resources.

    Build one with `build_schedule_context` in tests.
    """

    __slots__ = ("_instance", "_resources", "_schedule_name", "_scheduled_execution_time")

    def __init__(
        self,
        scheduled_execution_time: datetime | None = None,
        instance: Any = None,
        resources: Mapping[str, Any] | None = None,
        schedule_name: str | None = None,
    ) -> None:
        self._scheduled_execution_time = scheduled_execution_time
        self._instance = instance
        self._resources = resources
        self._schedule_name = schedule_name

    @property
    def scheduled_execution_time(self) -> datetime | None:
        """The tick's time, in the schedule's time zone when the daemon evaluates it."""
        return self._scheduled_execution_time

    @property
    def instance(self) -> Any:
        """The instance the schedule runs against.

        Raises:
            DefinitionError: The context was built without one.
        """
        if self._instance is None:
            raise DefinitionError(
                "this schedule context has no instance: pass instance= to "
                "build_schedule_context (e.g. ArcoInstance.ephemeral())"
            )
        return self._instance

    @property
    def instance_or_none(self) -> Any:
        """The instance, or None when the context has none."""
        return self._instance

    @property
    def resources(self) -> Resources:
        """The resources the schedule asked for, by key and as attributes."""
        resources = self._resources
        if not isinstance(resources, Resources):
            resources = Resources(resources)
            self._resources = resources
        return resources

    @property
    def schedule_name(self) -> str | None:
        """The name of the schedule being evaluated."""
        return self._schedule_name

    @property
    def log(self) -> logging.Logger:
        """A logger for the schedule's messages."""
        return _LOG


def build_schedule_context(
    instance: Any = None,
    scheduled_execution_time: datetime | None = None,
    resources: Mapping[str, Any] | None = None,
) -> ScheduleEvaluationContext:
    """A schedule context for tests and direct calls (Dagster's name).

    Args:
        instance: The instance, for schedules that read it.
        scheduled_execution_time: The tick's time; a naive datetime is taken as UTC.
        resources: Resource key -> resource, used as given.

    Raises:
        DefinitionError: `scheduled_execution_time` is not a datetime.
    """
    if scheduled_execution_time is not None:
        if not isinstance(scheduled_execution_time, datetime):
            raise DefinitionError(
                "build_schedule_context: scheduled_execution_time must be a datetime, got "
                f"{scheduled_execution_time!r}"
            )
        if scheduled_execution_time.tzinfo is None:
            scheduled_execution_time = scheduled_execution_time.replace(tzinfo=UTC)
    return ScheduleEvaluationContext(scheduled_execution_time, instance, resources)


@dataclass(frozen=True, slots=True)
class ScheduleEvaluationResult:
    """One evaluated tick: the requested runs, or why none (Dagster's `ScheduleExecutionData`)."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None
    cursor: str | None = None
    """Schedules keep no cursor; present so schedule and sensor results read alike."""


class ScheduleDefinition:
    """A schedule: when it fires, what it runs and what each tick requests (Dagster's).

    Args:
        name: The schedule's name; defaults to ``<job name>_schedule``.
        cron_schedule: A cron string (``"0 6 * * *"``, ``"@daily"``) or a list of them.
        job_name: The name of the job to run.
        run_config: Run config of each run, when there is no function.
        run_config_fn: Called with the context for the run config of each run.
        tags: Tags of the schedule; without a function, also of each requested run.
        tags_fn: Called with the context for the tags of each run.
        should_execute: Called with the context; False skips the tick.
        execution_timezone: The IANA zone the cron schedule is in; UTC by default.
        execution_fn: The schedule function (what `@schedule` decorates).
        description: Shown in the UI.
        job: The job to run (from `define_asset_job`).
        default_status: Whether it runs before anyone starts it.
        required_resource_keys: Resources the function reads from the context.
        target: A job, or an asset selection run as an anonymous job.
        metadata: Free-form metadata.

    Raises:
        DefinitionError: A malformed cron string, an unknown time zone, no or two targets,
            or an invalid name.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        cron_schedule: str | Sequence[str] | None = None,
        job_name: str | None = None,
        run_config: Any = None,
        run_config_fn: Callable[[ScheduleEvaluationContext], Any] | None = None,
        tags: Mapping[str, str] | None = None,
        tags_fn: Callable[[ScheduleEvaluationContext], Mapping[str, str]] | None = None,
        should_execute: Callable[[ScheduleEvaluationContext], bool] | None = None,
        execution_timezone: str | None = None,
        execution_fn: Callable[..., Any] | None = None,
        description: str | None = None,
        job: Any = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        required_resource_keys: Sequence[str] | None = None,
        target: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        job_label = job_name or getattr(job, "name", None) or getattr(target, "name", None)
        if name is None:
            if job_label is None:
                raise DefinitionError(
                    "ScheduleDefinition needs a name= (or a job to name it after)"
                )
            name = f"{job_label}_schedule"
        if not isinstance(name, str) or not is_valid_name(name):
            raise DefinitionError(
                f"schedule name {name!r} is not valid: use letters, digits and '_'"
            )
        owner = f"schedule {name!r}"
        if cron_schedule is None:
            raise DefinitionError(f"{owner} needs a cron_schedule, e.g. '0 0 * * *'")
        self.name = name
        self._crons = validate_cron_schedule(cron_schedule, owner=owner)
        self._zone = resolve_timezone(execution_timezone, owner=owner)
        self.execution_timezone = execution_timezone
        self.target = resolve_target(
            "schedule", name, job=job, job_name=job_name, target=target, required=True
        )
        if not isinstance(default_status, DefaultScheduleStatus):
            raise DefinitionError(
                f"{owner}: default_status must be a DefaultScheduleStatus, got {default_status!r}"
            )
        if execution_fn is not None and (run_config is not None or run_config_fn is not None):
            raise DefinitionError(
                f"{owner}: give either a schedule function or run_config/run_config_fn, not both"
            )
        self.description = description
        self.default_status = default_status
        self.tags: Mapping[str, str] = dict(tags or {})
        self.metadata: Mapping[str, Any] = dict(metadata or {})
        self._run_config = run_config
        self._run_config_fn = run_config_fn
        self._tags_fn = tags_fn
        self._should_execute = should_execute
        self._fn = execution_fn
        declared = tuple(required_resource_keys or ())
        self._takes_context, resource_params = (
            context_parameter(execution_fn, declared) if execution_fn else (True, ())
        )
        self._resource_params = resource_params
        self.required_resource_keys = frozenset(declared) | frozenset(resource_params)
        self._owner = owner
        self._run_tags = {SCHEDULE_NAME_TAG: name}

    @property
    def cron_schedule(self) -> str | Sequence[str]:
        """The cron string, or the list of them as given."""
        return self._crons[0] if len(self._crons) == 1 else list(self._crons)

    @property
    def job_name(self) -> str | None:
        """The name of the targeted job (an anonymous one for an asset selection)."""
        return self.target.job_name

    @property
    def job(self) -> Any:
        """The targeted job object, when a job (not a name) was given."""
        return self.target.job

    @property
    def timezone(self) -> tzinfo:
        """The time zone the cron schedule is in."""
        return self._zone

    def __repr__(self) -> str:
        return f"ScheduleDefinition(name={self.name!r}, cron_schedule={self.cron_schedule!r})"

    def fire_times(self, start: datetime) -> Iterator[datetime]:
        """When the schedule fires, at or after `start` (a naive `start` is UTC), in its zone."""
        timestamp = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
        zone = self._zone
        if len(self._crons) == 1:
            instants = cron_fire_timestamps(self._crons[0], zone, timestamp)
        else:
            instants = merge_fire_times(
                cron_fire_timestamps(cron, zone, timestamp) for cron in self._crons
            )
        return (datetime.fromtimestamp(instant, zone) for instant in instants)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the schedule function directly, as in Dagster (a context is built if none)."""
        if self._fn is None:
            raise DefinitionError(f"{self._owner} has no function to call; use evaluate_tick")
        if not self._takes_context:
            return self._fn(*args, **kwargs)
        if args:
            context, *rest = args
        else:
            context = kwargs.pop("context", None) or build_schedule_context()
            rest = []
        resources = {key: kwargs.pop(key) for key in self._resource_params if key in kwargs}
        if not resources and self._resource_params:
            resources = {k: context.resources[k] for k in self._resource_params}
        return self._fn(context, *rest, **resources, **kwargs)

    def evaluate_tick(self, context: ScheduleEvaluationContext) -> ScheduleEvaluationResult:
        """Evaluates one tick the way the scheduler does.

        Raises:
            UserCodeError: The schedule's function (or run_config_fn, tags_fn,
                should_execute) raised; the exception is the cause.
            DefinitionError: It returned something that is not a run request or skip.
            PartitionError: A request names a partition the target does not have.
        """
        context._schedule_name = self.name
        try:
            if self._should_execute is not None and not self._should_execute(context):
                return ScheduleEvaluationResult(
                    skip_message=f"should_execute of {self._owner} returned False"
                )
            value = self._evaluate(context)
        except (DefinitionError, UserCodeError):
            raise
        except Exception as error:
            raise UserCodeError(
                f"{self._owner} raised {type(error).__name__}: {error}; fix the schedule "
                "function (the original exception is the cause)"
            ) from error
        requests, skip, others = collect_tick_results(value, self._owner, allow_run_config=True)
        if others:
            raise DefinitionError(
                f"{self._owner} returned {others[0]!r}; return a RunRequest, a SkipReason, a "
                "run config dict, or a list of them"
            )
        resolved = resolve_run_requests(
            requests,
            owner=self._owner,
            target=self.target,
            tags=self._run_tags,
            current_time=context.scheduled_execution_time,
            dynamic_partitions_store=context.instance_or_none,
        )
        return ScheduleEvaluationResult(run_requests=resolved, skip_message=skip)

    def _evaluate(self, context: ScheduleEvaluationContext) -> Any:
        if self._fn is not None:
            if self._resource_params:
                resources = context.resources
                values = {key: resources[key] for key in self._resource_params}
                if self._takes_context:
                    return self._fn(context, **values)
                return self._fn(**values)
            return self._fn(context) if self._takes_context else self._fn()
        run_config = (
            self._run_config_fn(context) if self._run_config_fn is not None else self._run_config
        )
        # As Dagster: without a function, the schedule's tags go on its runs.
        tags = dict(self._tags_fn(context)) if self._tags_fn is not None else dict(self.tags)
        return RunRequest(run_config=run_config, tags=tags)


def schedule(
    cron_schedule: str | Sequence[str] | None = None,
    *,
    job_name: str | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    tags_fn: Callable[[ScheduleEvaluationContext], Mapping[str, str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    should_execute: Callable[[ScheduleEvaluationContext], bool] | None = None,
    execution_timezone: str | None = None,
    description: str | None = None,
    job: Any = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    required_resource_keys: Sequence[str] | None = None,
    target: Any = None,
) -> Callable[[Callable[..., Any]], ScheduleDefinition]:
    """Declares a schedule from its function (Dagster's `@schedule`).

    The function takes the context (optional) and resources by parameter name, and returns
    a `RunRequest`, a `SkipReason`, a run-config dict, a list of those, or yields them.

    Args:
        cron_schedule: A cron string or a list of them.
        job_name: The name of the job to run.
        name: The schedule's name; defaults to the function's.
        tags: Tags of the schedule (for search in the UI).
        tags_fn: Not combined with a function: given for Dagster compatibility only.
        metadata: Free-form metadata.
        should_execute: Called with the context; False skips the tick.
        execution_timezone: The IANA zone of the cron schedule; UTC by default.
        description: Shown in the UI; defaults to the function's docstring.
        job: The job to run.
        default_status: Whether it runs before anyone starts it.
        required_resource_keys: Resources the function reads from the context.
        target: A job, or an asset selection run as an anonymous job.

    Returns:
        A decorator that turns the function into a `ScheduleDefinition`.

    Raises:
        DefinitionError: As `ScheduleDefinition`.
    """
    if tags_fn is not None:
        raise DefinitionError(
            "@schedule does not take tags_fn: return RunRequest(tags=...) from the function"
        )

    def decorate(fn: Callable[..., Any]) -> ScheduleDefinition:
        return ScheduleDefinition(
            name=name or fn.__name__,
            cron_schedule=cron_schedule,
            job_name=job_name,
            tags=tags,
            metadata=metadata,
            should_execute=should_execute,
            execution_timezone=execution_timezone,
            execution_fn=fn,
            description=description or fn.__doc__,
            job=job,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            target=target,
        )

    return decorate
