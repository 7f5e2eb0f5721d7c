"""Run-status sensors: once per run that reaches the status, every run in one tick."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from arco_flow.core.errors import DefinitionError
from arco_flow.sdk.run_requests import RunRequest
from arco_flow.sdk.run_status_sensors import (
    RunFailureSensorContext,
    build_run_status_sensor_context,
    run_failure_sensor,
    run_status_sensor,
)
from arco_flow.sdk.sensors import build_sensor_context


@dataclass(frozen=True)
class Run:
    run_id: str
    job_name: str
    status: str
    updated_time: float
    ended_time: float | None = None
    error: str | None = None


@dataclass
class FakeInstance:
    runs: list[Run] = field(default_factory=list)

    def get_runs(self):
        return sorted(self.runs, key=lambda run: -run.updated_time)


handled: list[str] = []


@run_status_sensor(run_status="SUCCESS", request_job="report_job")
def on_success(context):
    handled.append(context.dagster_run.run_id)
    return RunRequest(run_key=f"report-{context.run.run_id}")


def tick(definition: Any, instance: Any, cursor: str | None) -> Any:
    return definition.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))


def test_first_tick_starts_the_cursor_without_firing_for_history():
    instance = FakeInstance([Run("r1", "etl", "SUCCESS", 10.0, 10.0)])
    handled.clear()
    result = tick(on_success, instance, None)
    assert result.run_requests == []
    assert handled == []
    assert json.loads(result.cursor) == {"time": 10.0, "run_ids": ["r1"]}


def test_every_run_since_the_cursor_fires_once_with_no_per_tick_ceiling():
    instance = FakeInstance([Run("r0", "etl", "SUCCESS", 1.0, 1.0)])
    cursor = tick(on_success, instance, None).cursor
    instance.runs += [Run(f"r{i}", "etl", "SUCCESS", 10.0 + i, 10.0 + i) for i in range(1, 21)]
    instance.runs.append(Run("failed", "etl", "FAILURE", 50.0, 50.0))
    handled.clear()
    result = tick(on_success, instance, cursor)
    assert handled == [f"r{i}" for i in range(1, 21)]
    assert [r.run_key for r in result.run_requests] == [f"report-r{i}" for i in range(1, 21)]
    assert on_success.job_name == "report_job"
    handled.clear()
    assert tick(on_success, instance, result.cursor).run_requests == []
    assert handled == []


def test_runs_ending_at_the_same_time_are_each_handled_once():
    instance = FakeInstance([Run("a", "etl", "SUCCESS", 5.0, 5.0)])
    cursor = tick(on_success, instance, None).cursor
    instance.runs.append(Run("b", "etl", "SUCCESS", 5.0, 5.0))
    handled.clear()
    result = tick(on_success, instance, cursor)
    assert handled == ["b"]
    assert json.loads(result.cursor) == {"time": 5.0, "run_ids": ["a", "b"]}


def test_failure_sensor_sees_the_error_and_only_monitored_jobs():
    errors = []

    @run_failure_sensor(monitored_jobs=["etl"])
    def alert(context: RunFailureSensorContext) -> None:
        errors.append((context.run.run_id, context.failure_error))

    instance = FakeInstance()
    cursor = tick(alert, instance, None).cursor
    instance.runs += [
        Run("x", "etl", "FAILURE", 3.0, 3.0, error="boom"),
        Run("y", "other", "FAILURE", 4.0, 4.0, error="ignored"),
        Run("z", "etl", "SUCCESS", 5.0, 5.0),
    ]
    result = tick(alert, instance, cursor)
    assert errors == [("x", "boom")]
    assert result.run_requests == []


def test_status_given_as_an_enum_value_is_accepted_and_a_bogus_one_rejected():
    class Status:
        value = "CANCELED"

    def canceled(context):
        return None

    assert run_status_sensor(run_status=Status())(canceled).run_status == "CANCELED"
    with pytest.raises(DefinitionError, match="not a run status"):
        run_status_sensor(run_status="DONE")


def test_direct_call_with_a_built_context():
    context = build_run_status_sensor_context("on_success", None, Run("r", "etl", "SUCCESS", 1.0))
    assert on_success(context) == RunRequest(run_key="report-r")


def test_decorator_without_parentheses_says_to_add_them():
    with pytest.raises(DefinitionError, match="parentheses"):
        run_failure_sensor(lambda context: None)  # type: ignore[arg-type]  # the mistake tested


def test_run_status_sensor_reads_the_runs_of_an_ephemeral_instance():
    from arco_flow.execution.materialize import materialize_to_memory
    from arco_flow.sdk.decorators import asset
    from arco_flow.storage.instance import ArcoInstance

    @asset
    def numbers():
        return 1

    instance = ArcoInstance.ephemeral()
    materialize_to_memory([numbers], instance=instance)
    cursor = tick(on_success, instance, None).cursor
    run = materialize_to_memory([numbers], instance=instance)
    handled.clear()
    result = tick(on_success, instance, cursor)
    assert handled == [run.run_id]
    assert [r.run_key for r in result.run_requests] == [f"report-{run.run_id}"]
