"""Run-status sensors: `@run_status_sensor` and `@run_failure_sensor`.

A tick reads the runs in the watched status from ``context.instance.get_runs(statuses=)``
and calls the function once per run that reached it since the cursor, oldest first, with
every such run handled in the one tick (Dagster handles at most 5 per tick). The cursor is
JSON: the update time of the last run handled and the ids of the runs handled at that time.
The first tick, with no cursor, only starts the cursor at the newest run, as in Dagster: a
new sensor does not fire for history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from arco_flow.core.errors import DefinitionError
from arco_flow.sdk.sensors import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
)

__all__ = [
    "RunFailureSensorContext",
    "RunStatusSensorContext",
    "RunStatusSensorDefinition",
    "build_run_status_sensor_context",
    "run_failure_sensor",
    "run_status_sensor",
]

_STATUSES = ("QUEUED", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED")


def _status_name(run_status: Any) -> str:
    value = getattr(run_status, "value", run_status)
    name = value.upper() if isinstance(value, str) else None
    if name not in _STATUSES:
        raise DefinitionError(
            f"run_status_sensor: {run_status!r} is not a run status; use one of {_STATUSES} "
            "(or RunStatus.SUCCESS ...)"
        )
    return name


class RunStatusSensorContext:
    """What a run-status sensor function gets: the run that reached the status (Dagster's).

    `dagster_run` (also `run`) is the instance's run record.
    """

    __slots__ = ("_instance", "_resources", "_run", "_sensor_name")

    def __init__(
        self, sensor_name: str, run: Any, instance: Any = None, resources: Any = None
    ) -> None:
        self._sensor_name = sensor_name
        self._run = run
        self._instance = instance
        self._resources = resources

    @property
    def sensor_name(self) -> str:
        """The sensor's name."""
        return self._sensor_name

    @property
    def dagster_run(self) -> Any:
        """The run record (Dagster's name)."""
        return self._run

    @property
    def run(self) -> Any:
        """The run record."""
        return self._run

    @property
    def instance(self) -> Any:
        """The instance the run lives in."""
        return self._instance

    @property
    def resources(self) -> Any:
        """The sensor's resources."""
        return self._resources


class RunFailureSensorContext(RunStatusSensorContext):
    """The context of a run-failure sensor: the failed run and its error."""

    __slots__ = ()

    @property
    def failure_error(self) -> Any:
        """Why the run failed (its `ErrorInfo`), when recorded."""
        return getattr(self._run, "error", None)


def build_run_status_sensor_context(
    sensor_name: str,
    dagster_instance: Any,
    dagster_run: Any,
    resources: Mapping[str, Any] | None = None,
) -> RunStatusSensorContext:
    """A run-status sensor context for calling the function directly (Dagster's name)."""
    return RunStatusSensorContext(sensor_name, dagster_run, dagster_instance, resources)


def _run_time(run: Any) -> float:
    ended = getattr(run, "ended_time", None)
    return float(ended if ended is not None else run.updated_time)


class RunStatusSensorDefinition(SensorDefinition):
    """A sensor called once per run that reaches a status (Dagster's)."""

    def __init__(
        self,
        run_status: Any,
        monitored_jobs: Sequence[Any] | None = None,
        context_type: type[RunStatusSensorContext] = RunStatusSensorContext,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_status = _status_name(run_status)
        self.monitored_job_names = frozenset(
            job if isinstance(job, str) else job.name for job in monitored_jobs or ()
        )
        self._context_type = context_type

    def _runs_since(self, instance: Any, cursor: tuple[float, frozenset[str]]) -> list[Any]:
        # All runs, filtered here by status name: the SDK does not import storage's enum.
        after, seen = cursor
        status = self.run_status
        found = [
            run
            for run in instance.get_runs()
            if getattr(run.status, "value", run.status) == status
            and (_run_time(run) > after or (_run_time(run) == after and run.run_id not in seen))
            and (not self.monitored_job_names or run.job_name in self.monitored_job_names)
        ]
        found.sort(key=lambda run: (_run_time(run), run.run_id))
        return found

    def _evaluate(self, context: SensorEvaluationContext) -> Any:
        instance = context.instance
        if context.cursor is None:
            runs = self._runs_since(instance, (float("-inf"), frozenset()))
            context.update_cursor(_cursor(runs))
            return SensorResult(skip_reason="started the cursor at the newest run")
        runs = self._runs_since(instance, _parse_cursor(self._owner, context.cursor))
        if not runs:
            return SensorResult(skip_reason=f"no run reached {self.run_status}")
        results: list[Any] = []
        for run in runs:
            run_context = self._context_type(self.name, run, instance, context.resources)
            value = self._fn(run_context)
            if isinstance(value, list | tuple) or hasattr(value, "__next__"):
                results.extend(value)
            elif value is not None:
                results.append(value)
        context.update_cursor(_cursor(runs, context.cursor))
        return results

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the function directly with a run-status context, as in Dagster."""
        return self._fn(*args, **kwargs)


def _cursor(runs: Sequence[Any], previous: str | None = None) -> str:
    if not runs:
        return previous or json.dumps({"time": None, "run_ids": []})
    last = _run_time(runs[-1])
    ids = sorted(run.run_id for run in runs if _run_time(run) == last)
    if previous is not None:
        old_time, old_ids = _parse_cursor("", previous)
        if old_time == last:
            ids = sorted(set(ids) | old_ids)
    return json.dumps({"time": last, "run_ids": ids})


def _parse_cursor(owner: str, cursor: str) -> tuple[float, frozenset[str]]:
    try:
        value = json.loads(cursor)
        time = value["time"]
        return (float("-inf") if time is None else float(time)), frozenset(value["run_ids"])
    except (ValueError, KeyError, TypeError) as error:
        raise DefinitionError(
            f"{owner}: cursor {cursor!r} is not a run-status cursor; reset it to None"
        ) from error


def run_status_sensor(
    run_status: Any,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    request_job: Any = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    required_resource_keys: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
    """Declares a sensor called once per run that reaches `run_status` (Dagster's).

    Args:
        run_status: The status to watch (``RunStatus.SUCCESS`` or ``"SUCCESS"``).
        name: The sensor's name; defaults to the function's.
        minimum_interval_seconds: The least time between two ticks; 30 by default.
        description: Shown in the UI.
        monitored_jobs: Only runs of these jobs (or job names); all jobs by default.
        request_job: The job (or job name) the function's run requests launch.
        default_status: Whether it runs before anyone starts it.
        required_resource_keys: Resources the function reads from the context.

    Returns:
        A decorator that turns the function into a `RunStatusSensorDefinition`.

    Raises:
        DefinitionError: `run_status` is not a run status.
    """
    return _decorator(
        run_status,
        RunStatusSensorContext,
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        description=description,
        monitored_jobs=monitored_jobs,
        request_job=request_job,
        default_status=default_status,
        required_resource_keys=required_resource_keys,
    )


def run_failure_sensor(
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    request_job: Any = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    required_resource_keys: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
    """Declares a sensor called once per failed run (Dagster's `@run_failure_sensor`).

    The function gets a `RunFailureSensorContext`. Arguments as `run_status_sensor`.
    """
    return _decorator(
        "FAILURE",
        RunFailureSensorContext,
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        description=description,
        monitored_jobs=monitored_jobs,
        request_job=request_job,
        default_status=default_status,
        required_resource_keys=required_resource_keys,
    )


def _decorator(
    run_status: Any,
    context_type: type[RunStatusSensorContext],
    *,
    name: str | None,
    minimum_interval_seconds: int | None,
    description: str | None,
    monitored_jobs: Sequence[Any] | None,
    request_job: Any,
    default_status: DefaultSensorStatus,
    required_resource_keys: Sequence[str] | None,
) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
    if callable(name):
        raise DefinitionError(
            "run_status_sensor/run_failure_sensor need parentheses: write "
            "@run_failure_sensor() or @run_status_sensor(run_status=...)"
        )
    _status_name(run_status)  # a bad status is reported where the decorator is written

    def decorate(fn: Callable[..., Any]) -> RunStatusSensorDefinition:
        return RunStatusSensorDefinition(
            run_status,
            monitored_jobs,
            context_type,
            name=name or fn.__name__,
            evaluation_fn=fn,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or fn.__doc__,
            job=None if isinstance(request_job, str) else request_job,
            job_name=request_job if isinstance(request_job, str) else None,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
        )

    return decorate
