"""`build_schedule_from_partitioned_job`: a schedule that runs a partitioned job's latest partition.

For time-window partitions the schedule fires at the partitions' cadence, in their zone,
and each tick requests the last complete window as of the tick (the definition's last
partition at the scheduled time, its `end_offset` included), with the partition key as
run key: Dagster's rule, DST-correct because both the ticks and the windows come from the
same tick arithmetic. A static definition requests every key on each tick; a multi
definition with one time dimension requests every key of the latest time window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from arco_flow.core.errors import DefinitionError
from arco_flow.core.partitions._multi import MultiPartitionKey, MultiPartitionsDefinition
from arco_flow.core.partitions._static import StaticPartitionsDefinition
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition
from arco_flow.sdk.run_requests import RunRequest, SkipReason, TickTarget
from arco_flow.sdk.schedules import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationContext,
)

__all__ = ["build_schedule_from_partitioned_job"]


def build_schedule_from_partitioned_job(
    job: Any,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScheduleDefinition:
    """A schedule that runs the latest partition of a partitioned job (Dagster's).

    Args:
        job: A job from `define_asset_job` with a `partitions_def`, or whose selection is a
            list of assets sharing one.
        description: Shown in the UI.
        name: The schedule's name; ``<job name>_schedule`` by default.
        minute_of_hour: Fire at this minute instead of the partitions' (time windows only).
        hour_of_day: Fire at this hour instead of the partitions'.
        day_of_week: Fire on this weekday (0 is Sunday) instead of the partitions'.
        day_of_month: Fire on this day of the month instead of the partitions'.
        default_status: Whether it runs before anyone starts it.
        tags: Tags of each requested run.
        cron_schedule: For static partitions only: when to request every key.
        execution_timezone: For static partitions only: the zone of `cron_schedule`.
        metadata: Free-form metadata.

    Raises:
        DefinitionError: The job is not partitioned, its partitions are not time-window,
            static or multi with one time dimension, or the arguments do not fit them.
    """
    if day_of_week is not None and day_of_month is not None:
        raise DefinitionError(
            "build_schedule_from_partitioned_job takes day_of_week or day_of_month, not both"
        )
    offsets = (minute_of_hour, hour_of_day, day_of_week, day_of_month)
    if (cron_schedule or execution_timezone) and any(o is not None for o in offsets):
        raise DefinitionError(
            "build_schedule_from_partitioned_job takes cron_schedule/execution_timezone or "
            "minute_of_hour/hour_of_day/day_of_week/day_of_month, not both"
        )
    job_name = getattr(job, "name", None)
    partitions_def = TickTarget(job_name=job_name, job=job).partitions_def()
    if partitions_def is None:
        raise DefinitionError(
            f"build_schedule_from_partitioned_job: job {job_name!r} is not partitioned; give "
            "define_asset_job a partitions_def= (or select assets that share one)"
        )
    time_def = _time_dimension(partitions_def)
    if isinstance(partitions_def, StaticPartitionsDefinition):
        if cron_schedule is None:
            raise DefinitionError(
                f"build_schedule_from_partitioned_job: job {job_name!r} has static partitions, "
                "which have no cadence; pass cron_schedule="
            )
    elif time_def is None:
        raise DefinitionError(
            f"build_schedule_from_partitioned_job: job {job_name!r} has {partitions_def!r}; a "
            "partitioned schedule needs time-window partitions, static partitions, or multi "
            "partitions with one time-window dimension"
        )
    else:
        if cron_schedule or execution_timezone:
            raise DefinitionError(
                f"build_schedule_from_partitioned_job: job {job_name!r} is time-partitioned and "
                "fires at its partitions' cadence; use minute_of_hour/hour_of_day/... instead "
                "of cron_schedule/execution_timezone"
            )
        cron_schedule = _cron_with_offsets(time_def.cron_schedule, *offsets)
        execution_timezone = time_def.timezone
    run_tags = dict(tags or {})

    def latest_partitions(context: ScheduleEvaluationContext) -> Any:
        time = context.scheduled_execution_time
        if time is not None:
            # In UTC: a repeated local hour's two instants compare equal as local datetimes,
            # and the partitions definition caches by datetime.
            time = time.astimezone(UTC)
        store = context.instance_or_none
        if isinstance(partitions_def, StaticPartitionsDefinition):
            keys: list[str] = list(partitions_def.get_partition_keys())
        else:
            assert time_def is not None  # checked when the schedule was built
            key = time_def.get_last_partition_key(time, store)
            if key is None:
                return SkipReason(f"the partitions of job {job_name!r} have no partition yet")
            if isinstance(partitions_def, MultiPartitionsDefinition):
                dimension = partitions_def.time_window_dimension.name
                keys = [
                    k
                    for k in partitions_def.get_partition_keys(time, store)
                    if isinstance(k, MultiPartitionKey) and k.keys_by_dimension[dimension] == key
                ]
            else:
                keys = [key]
        return [RunRequest(run_key=k, partition_key=k, tags=run_tags) for k in keys]

    return ScheduleDefinition(
        name=name or f"{job_name}_schedule",
        cron_schedule=cron_schedule,
        execution_timezone=execution_timezone,
        execution_fn=latest_partitions,
        job=job,
        description=description,
        default_status=default_status,
        metadata=metadata,
    )


def _time_dimension(partitions_def: Any) -> TimeWindowPartitionsDefinition | None:
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return partitions_def
    if isinstance(partitions_def, MultiPartitionsDefinition):
        times = [
            d.partitions_def
            for d in partitions_def.partitions_defs
            if isinstance(d.partitions_def, TimeWindowPartitionsDefinition)
        ]
        return times[0] if len(times) == 1 else None
    return None


def _cron_with_offsets(
    cron: str,
    minute_of_hour: int | None,
    hour_of_day: int | None,
    day_of_week: int | None,
    day_of_month: int | None,
) -> str:
    """The partitions' cron with the fields the user overrides replaced."""
    fields = cron.split()
    for index, value in (
        (0, minute_of_hour),
        (1, hour_of_day),
        (2, day_of_month),
        (4, day_of_week),
    ):
        if value is not None:
            fields[index] = str(value)
    return " ".join(fields)
