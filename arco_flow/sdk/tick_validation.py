"""Schedules and sensors inside `Definitions`: the jobs they imply and every problem with them.

`Definitions` calls these so that it stays one concept: a schedule or sensor given a job
object brings that job along (as in Dagster), one given an asset selection brings an
anonymous job, and `definition_problems` lists every unknown target, duplicate name and
wrong type at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from arco_flow.core.errors import ArcoError, did_you_mean
from arco_flow.sdk.jobs import IMPLICIT_JOB_NAME, JobDefinition, UnresolvedAssetJobDefinition
from arco_flow.sdk.schedules import ScheduleDefinition
from arco_flow.sdk.sensors import SensorDefinition

__all__ = ["definition_problems", "implied_jobs", "type_problems"]


def type_problems(schedules: Iterable[Any], sensors: Iterable[Any]) -> list[str]:
    """Items of `schedules=` / `sensors=` that are not schedules / sensors."""
    problems = [
        f"Definitions(schedules=...) got {item!r}, which is not a schedule: pass @schedule "
        "functions, ScheduleDefinitions or build_schedule_from_partitioned_job(...)"
        for item in schedules
        if not isinstance(item, ScheduleDefinition)
    ]
    problems.extend(
        f"Definitions(sensors=...) got {item!r}, which is not a sensor: pass @sensor, "
        "@asset_sensor, @multi_asset_sensor or @run_status_sensor functions"
        for item in sensors
        if not isinstance(item, SensorDefinition)
    )
    return problems


def implied_jobs(
    schedules: Iterable[ScheduleDefinition],
    sensors: Iterable[SensorDefinition],
    declared: Sequence[UnresolvedAssetJobDefinition],
) -> list[UnresolvedAssetJobDefinition]:
    """The jobs schedules and sensors target that `declared` lacks, first come first kept."""
    known = {job.name for job in declared}
    found: list[UnresolvedAssetJobDefinition] = []
    items: list[ScheduleDefinition | SensorDefinition] = [*schedules, *sensors]
    for item in items:
        target = item.target
        job: UnresolvedAssetJobDefinition | None = None
        if isinstance(target.job, UnresolvedAssetJobDefinition):
            job = target.job
        elif isinstance(target.job, JobDefinition):
            job = target.job._job
        elif target.asset_selection is not None and target.job_name is not None:
            job = UnresolvedAssetJobDefinition(
                name=target.job_name, selection=target.asset_selection
            )
        if job is not None and job.name not in known:
            known.add(job.name)
            found.append(job)
    return found


def definition_problems(
    schedules: Sequence[ScheduleDefinition],
    sensors: Sequence[SensorDefinition],
    job_names: Iterable[str],
    check_selection: Any = None,
) -> list[str]:
    """Every problem of the schedules and sensors of one `Definitions`.

    Args:
        schedules: The schedules.
        sensors: The sensors.
        job_names: Every job name the definitions resolve (declared and implied).
        check_selection: Called with an asset selection; raises `ArcoError` if it does not
            resolve against the asset graph (None skips the check).
    """
    problems: list[str] = []
    names = sorted({*job_names, IMPLICIT_JOB_NAME})
    seen: dict[str, str] = {}
    for kind, items in (("schedule", schedules), ("sensor", sensors)):
        for item in items:
            if item.name in seen:
                problems.append(
                    f"{kind} {item.name!r} has the name of another {seen[item.name]}; "
                    "schedule and sensor names must be unique: rename one"
                )
            seen.setdefault(item.name, kind)
            problems.extend(_target_problems(kind, item, names, check_selection))
    return problems


def _target_problems(
    kind: str, item: ScheduleDefinition | SensorDefinition, names: list[str], check: Any
) -> list[str]:
    target = item.target
    if target.asset_selection is not None:
        if check is None:
            return []
        try:
            check(target.asset_selection)
        except ArcoError as error:
            return [f"{kind} {item.name!r} targets assets that do not resolve: {error}"]
        return []
    if target.job_name is not None and target.job_name not in names:
        return [
            f"{kind} {item.name!r} targets job {target.job_name!r}, which is not defined."
            f"{did_you_mean(target.job_name, names)} Add it to Definitions(jobs=[...])"
        ]
    return []
