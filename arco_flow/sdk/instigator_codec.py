"""The JSON codec of schedules and sensors across a process boundary.

The daemon never imports user code: a code-location server (`worker.instigator_server`)
evaluates schedule and sensor bodies and sends back what the daemon needs as plain data.
This module is that boundary's one codec:

- `InstigatorInfo`: what the daemon knows of a schedule or sensor without its function
  (name, kind, cron, zone, default status, interval, target job).
- The evaluation results (`ScheduleEvaluationResult`, `SensorEvaluationResult`) with their
  `RunRequest`s and dynamic partition requests.

Every ``*_to_data`` returns JSON-able dicts; ``*_from_data`` is its inverse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.partitions._requests import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)
from arco_flow.sdk.run_requests import RunRequest
from arco_flow.sdk.schedules import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationResult,
)
from arco_flow.sdk.sensors import (
    DefaultSensorStatus,
    DynamicPartitionsRequest,
    SensorDefinition,
    SensorEvaluationResult,
)

__all__ = [
    "InstigatorInfo",
    "InstigatorKind",
    "info_from_data",
    "info_to_data",
    "run_request_from_data",
    "run_request_to_data",
    "schedule_from_info",
    "schedule_info",
    "schedule_result_from_data",
    "schedule_result_to_data",
    "sensor_info",
    "sensor_result_from_data",
    "sensor_result_to_data",
]

InstigatorKind = Literal["schedule", "sensor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstigatorInfo:
    """A schedule or sensor as the daemon sees it: everything but its function."""

    kind: InstigatorKind
    name: str
    sensor_type: str = "sensor"
    """For a sensor: ``sensor``, ``asset_sensor``, ``multi_asset_sensor`` or
    ``run_status_sensor`` (its class, for listings)."""
    job_name: str | None = None
    cron_schedule: tuple[str, ...] = ()
    execution_timezone: str | None = None
    default_running: bool = False
    minimum_interval_seconds: int | None = None
    description: str | None = None


def schedule_info(schedule: ScheduleDefinition) -> InstigatorInfo:
    """The daemon's view of `schedule`."""
    crons = schedule.cron_schedule
    return InstigatorInfo(
        kind="schedule",
        name=schedule.name,
        sensor_type="",
        job_name=schedule.job_name,
        cron_schedule=(crons,) if isinstance(crons, str) else tuple(crons),
        execution_timezone=schedule.execution_timezone,
        default_running=schedule.default_status is DefaultScheduleStatus.RUNNING,
        description=schedule.description,
    )


_SENSOR_TYPES = {
    "AssetSensorDefinition": "asset_sensor",
    "MultiAssetSensorDefinition": "multi_asset_sensor",
    "RunStatusSensorDefinition": "run_status_sensor",
}


def sensor_info(sensor: SensorDefinition) -> InstigatorInfo:
    """The daemon's view of `sensor`."""
    sensor_type = next(
        (
            label
            for cls in type(sensor).__mro__
            if (label := _SENSOR_TYPES.get(cls.__name__)) is not None
        ),
        "sensor",
    )
    return InstigatorInfo(
        kind="sensor",
        name=sensor.name,
        sensor_type=sensor_type,
        job_name=sensor.job_name,
        default_running=sensor.default_status is DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=sensor.minimum_interval_seconds,
        description=sensor.description,
    )


def schedule_from_info(info: InstigatorInfo) -> ScheduleDefinition:
    """A function-less `ScheduleDefinition` with `info`'s fire times, status and target.

    Raises:
        DefinitionError: `info` is not a schedule's, or names no job.
    """
    if info.kind != "schedule" or not info.cron_schedule or info.job_name is None:
        raise DefinitionError(
            f"{info.kind} {info.name!r} is not a schedule with a cron and a job; only a "
            "schedule's info can be turned back into a schedule"
        )
    crons = info.cron_schedule
    return ScheduleDefinition(
        name=info.name,
        cron_schedule=crons[0] if len(crons) == 1 else list(crons),
        job_name=info.job_name,
        execution_timezone=info.execution_timezone,
        default_status=(
            DefaultScheduleStatus.RUNNING if info.default_running else DefaultScheduleStatus.STOPPED
        ),
        description=info.description,
    )


def info_to_data(info: InstigatorInfo) -> dict[str, Any]:
    """`info` as JSON-able data."""
    return {
        "kind": info.kind,
        "name": info.name,
        "sensor_type": info.sensor_type,
        "job_name": info.job_name,
        "cron_schedule": list(info.cron_schedule),
        "execution_timezone": info.execution_timezone,
        "default_running": info.default_running,
        "minimum_interval_seconds": info.minimum_interval_seconds,
        "description": info.description,
    }


def info_from_data(data: Mapping[str, Any]) -> InstigatorInfo:
    """Inverse of `info_to_data`."""
    kind = data["kind"]
    if kind not in ("schedule", "sensor"):
        raise DefinitionError(f"instigator kind {kind!r} is not known; expected schedule/sensor")
    return InstigatorInfo(
        kind="schedule" if kind == "schedule" else "sensor",
        name=str(data["name"]),
        sensor_type=str(data.get("sensor_type") or ""),
        job_name=data.get("job_name"),
        cron_schedule=tuple(data.get("cron_schedule") or ()),
        execution_timezone=data.get("execution_timezone"),
        default_running=bool(data.get("default_running")),
        minimum_interval_seconds=data.get("minimum_interval_seconds"),
        description=data.get("description"),
    )


def _config_data(run_config: Any) -> Any:
    if run_config is None:
        return None
    from arco_flow.sdk.config import RunConfig, to_config_data  # pydantic: load on use

    if isinstance(run_config, RunConfig):
        run_config = run_config.to_config_dict()
    return to_config_data(run_config)


def run_request_to_data(request: RunRequest) -> dict[str, Any]:
    """`request` as JSON-able data (a `RunConfig` becomes its config dict)."""
    selection = request.asset_selection
    checks = request.asset_check_keys
    return {
        "run_key": request.run_key,
        "run_config": _config_data(request.run_config),
        "tags": dict(request.tags),
        "job_name": request.job_name,
        "asset_selection": None if selection is None else [list(k.path) for k in selection],
        "stale_assets_only": request.stale_assets_only,
        "partition_key": request.partition_key,
        "asset_check_keys": (
            None if checks is None else [[list(c.asset_key.path), c.name] for c in checks]
        ),
    }


def run_request_from_data(data: Mapping[str, Any]) -> RunRequest:
    """Inverse of `run_request_to_data`."""
    selection = data.get("asset_selection")
    checks = data.get("asset_check_keys")
    return RunRequest(
        run_key=data.get("run_key"),
        run_config=data.get("run_config"),
        tags=dict(data.get("tags") or {}),
        job_name=data.get("job_name"),
        asset_selection=None if selection is None else [AssetKey(path) for path in selection],
        stale_assets_only=bool(data.get("stale_assets_only")),
        partition_key=data.get("partition_key"),
        asset_check_keys=(
            None if checks is None else [AssetCheckKey(AssetKey(k), name) for k, name in checks]
        ),
    )


def _partition_request_to_data(request: DynamicPartitionsRequest) -> dict[str, Any]:
    return {
        "added": isinstance(request, AddDynamicPartitionsRequest),
        "partitions_def_name": request.partitions_def_name,
        "partition_keys": list(request.partition_keys),
    }


def _partition_request_from_data(data: Mapping[str, Any]) -> DynamicPartitionsRequest:
    kind = AddDynamicPartitionsRequest if data["added"] else DeleteDynamicPartitionsRequest
    return kind(data["partitions_def_name"], list(data["partition_keys"]))


def _requests(data: Mapping[str, Any]) -> list[RunRequest]:
    return [run_request_from_data(item) for item in data.get("run_requests") or ()]


def schedule_result_to_data(result: ScheduleEvaluationResult) -> dict[str, Any]:
    """A schedule tick's result as JSON-able data."""
    return {
        "run_requests": [run_request_to_data(r) for r in result.run_requests],
        "skip_message": result.skip_message,
        "cursor": result.cursor,
    }


def schedule_result_from_data(data: Mapping[str, Any]) -> ScheduleEvaluationResult:
    """Inverse of `schedule_result_to_data`."""
    return ScheduleEvaluationResult(
        run_requests=_requests(data),
        skip_message=data.get("skip_message"),
        cursor=data.get("cursor"),
    )


def sensor_result_to_data(result: SensorEvaluationResult) -> dict[str, Any]:
    """A sensor tick's result as JSON-able data."""
    requests: Sequence[DynamicPartitionsRequest] = result.dynamic_partitions_requests
    return {
        "run_requests": [run_request_to_data(r) for r in result.run_requests],
        "skip_message": result.skip_message,
        "cursor": result.cursor,
        "dynamic_partitions_requests": [_partition_request_to_data(r) for r in requests],
    }


def sensor_result_from_data(data: Mapping[str, Any]) -> SensorEvaluationResult:
    """Inverse of `sensor_result_to_data`."""
    return SensorEvaluationResult(
        run_requests=_requests(data),
        skip_message=data.get("skip_message"),
        cursor=data.get("cursor"),
        dynamic_partitions_requests=[
            _partition_request_from_data(item)
            for item in data.get("dynamic_partitions_requests") or ()
        ],
    )
