"""The code-location server of the daemon: evaluates schedule and sensor bodies.

The daemon never imports user code (issue 6). It starts this server in a spawned process
(`daemon.code_server.CodeServer`); the server loads the code location once and answers
requests over one duplex pipe. Like the pool worker (`process_main`), every message is
one JSON object sent as bytes, and the server never holds store credentials: what a
sensor reads from ``context.instance`` it asks the daemon for over the same pipe
(`InstanceProxy`, read-only).

Daemon to server (``kind``, then the other fields):

- ``list``: the schedules and sensors, answered by ``instigators`` (``schedules``,
  ``sensors``: `info_to_data` each).
- ``schedule``: ``name``, ``scheduled_time`` (POSIX seconds): evaluate one tick.
- ``sensor``: ``name``, ``cursor``, ``last_completion_time``: evaluate one tick.
- ``manifest``: the code location's manifest, answered by ``result`` (`manifest_to_data`).
- ``instance_reply``: ``value`` or ``error`` (`ErrorInfo` data): the answer to the
  server's last ``instance`` request.
- ``stop``: exit.

Server to daemon:

- ``ready``: ``pid``, ``error`` (`ErrorInfo` data or null): the code location is loaded,
  or could not be (then every request is answered with that error).
- ``instance``: ``method``, ``args``: a read the sensor being evaluated makes.
- ``result``: ``result`` (`schedule_result_to_data` / `sensor_result_to_data` /
  `manifest_to_data`).
- ``error``: ``error`` (`ErrorInfo` data, with the user's traceback).

Exactly one of ``instigators``, ``result`` or ``error`` answers each request; any number of
``instance`` round trips may come before it.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from arco_flow.core.errors import ArcoError, NotFoundError
from arco_flow.core.events import ErrorInfo
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.core.manifest import manifest_to_data
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.instigator_codec import (
    info_to_data,
    schedule_info,
    schedule_result_to_data,
    sensor_info,
    sensor_result_to_data,
)
from arco_flow.sdk.schedules import ScheduleEvaluationContext
from arco_flow.sdk.sensors import SensorEvaluationContext
from arco_flow.worker.code_location import load_definitions

__all__ = [
    "InstanceProxy",
    "InstanceReadError",
    "MaterializationSnapshot",
    "RunSnapshot",
    "decode_message",
    "encode_message",
    "serve_instigators",
]


class InstanceReadError(ArcoError):
    """A read a sensor made through the server's instance proxy failed or is not offered."""


def encode_message(message: Mapping[str, Any]) -> bytes:
    """One protocol message as bytes (compact JSON)."""
    return json.dumps(message, separators=(",", ":")).encode()


def decode_message(data: bytes) -> dict[str, Any]:
    """Inverse of `encode_message`."""
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ArcoError(f"a code-server message must be a JSON object, got {message!r}")
    return message


@dataclass(frozen=True, slots=True, kw_only=True)
class MaterializationSnapshot:
    """A materialization record as the proxy hands it to a sensor (read-only copy)."""

    event_id: int
    asset_key: AssetKey
    run_id: str
    task_id: str
    timestamp: float
    partition_key: str | None = None
    data_version: str | None = None
    code_version: str | None = None
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSnapshot:
    """A run record as the proxy hands it to a sensor; `status` is the status name."""

    run_id: str
    job_name: str
    status: str
    created_time: float
    updated_time: float
    started_time: float | None = None
    ended_time: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    asset_keys: tuple[AssetKey, ...] = ()
    parent_run_id: str | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict)
    error: ErrorInfo | None = None


class InstanceProxy:
    """A read-only instance for sensors in the server: each read asks the daemon.

    Offers what asset, multi-asset and run-status sensors read, and dynamic partition
    lookups; anything else raises `InstanceReadError` naming what is offered.
    """

    OFFERED = (
        "get_materialization_history",
        "get_runs",
        "get_dynamic_partitions",
        "has_dynamic_partition",
    )

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _ask(self, method: str, args: Mapping[str, Any]) -> Any:
        self._connection.send_bytes(
            encode_message({"kind": "instance", "method": method, "args": dict(args)})
        )
        reply = decode_message(self._connection.recv_bytes())
        if reply.get("kind") != "instance_reply":
            raise InstanceReadError(f"the daemon answered {method} with {reply.get('kind')!r}")
        if reply.get("error") is not None:
            info = ErrorInfo.from_data(reply["error"])
            raise InstanceReadError(f"{method} failed in the daemon: {info.message}")
        return reply.get("value")

    def get_materialization_history(
        self, asset_key: CoercibleToAssetKey, *, limit: int | None = None
    ) -> list[MaterializationSnapshot]:
        """The asset's materializations, newest first."""
        key = AssetKey.from_coercible(asset_key)
        rows = self._ask(
            "get_materialization_history", {"asset_key": list(key.path), "limit": limit}
        )
        return [_materialization(row) for row in rows]

    def get_runs(self, statuses: Sequence[Any] | None = None) -> list[RunSnapshot]:
        """The runs (newest first), optionally only those in `statuses`."""
        names = None if statuses is None else [str(getattr(s, "value", s)) for s in statuses]
        return [_run(row) for row in self._ask("get_runs", {"statuses": names})]

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a dynamic partitions definition."""
        return list(self._ask("get_dynamic_partitions", {"name": partitions_def_name}))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether a dynamic partitions definition has `partition_key`."""
        value = self._ask(
            "has_dynamic_partition", {"name": partitions_def_name, "key": partition_key}
        )
        return bool(value)

    def __getattr__(self, name: str) -> Any:
        raise InstanceReadError(
            f"context.instance.{name} is not available to schedules and sensors: they are "
            "evaluated in the daemon's code server, which holds no store credentials and reads "
            f"through a read-only proxy offering {', '.join(self.OFFERED)}"
        )


def _materialization(row: Mapping[str, Any]) -> MaterializationSnapshot:
    return MaterializationSnapshot(
        event_id=int(row["event_id"]),
        asset_key=AssetKey(row["asset_key"]),
        run_id=row["run_id"],
        task_id=row["task_id"],
        timestamp=float(row["timestamp"]),
        partition_key=row.get("partition_key"),
        data_version=row.get("data_version"),
        code_version=row.get("code_version"),
        description=row.get("description"),
        metadata=dict(row.get("metadata") or {}),
    )


def _run(row: Mapping[str, Any]) -> RunSnapshot:
    error = row.get("error")
    return RunSnapshot(
        run_id=row["run_id"],
        job_name=row["job_name"],
        status=row["status"],
        created_time=float(row["created_time"]),
        updated_time=float(row["updated_time"]),
        started_time=row.get("started_time"),
        ended_time=row.get("ended_time"),
        tags=dict(row.get("tags") or {}),
        asset_keys=tuple(AssetKey(path) for path in row.get("asset_keys") or ()),
        parent_run_id=row.get("parent_run_id"),
        run_config=dict(row.get("run_config") or {}),
        error=ErrorInfo.from_data(error) if error else None,
    )


def serve_instigators(connection: Connection, code_location: Mapping[str, str]) -> None:
    """Runs the server until it is told to stop or its pipe closes.

    The target of the server process; `connection` is its end of the duplex pipe.

    Args:
        connection: the server's end of its pipe to the daemon.
        code_location: ``{"module"|"file": ..., "attribute"?: ...}``.
    """
    _exit_when_orphaned(os.getppid())
    definitions: Definitions | None = None
    load_error: ErrorInfo | None = None
    try:
        definitions = load_definitions(
            module=code_location.get("module"),
            file=code_location.get("file"),
            attribute=code_location.get("attribute"),
        )
    except Exception as error:  # noqa: BLE001  # reported to the daemon
        load_error = ErrorInfo.from_exception(error)
    connection.send_bytes(
        encode_message(
            {
                "kind": "ready",
                "pid": os.getpid(),
                "error": load_error.to_data() if load_error else None,
            }
        )
    )
    proxy = InstanceProxy(connection)
    while True:
        try:
            message = decode_message(connection.recv_bytes())
        except (EOFError, OSError):
            return
        if message.get("kind") == "stop":
            return
        try:
            if definitions is None:
                assert load_error is not None
                reply: dict[str, Any] = {"kind": "error", "error": load_error.to_data()}
            else:
                reply = _answer(definitions, proxy, message)
        except Exception as error:  # noqa: BLE001  # the daemon records it with the tick
            reply = {"kind": "error", "error": ErrorInfo.from_exception(error).to_data()}
        connection.send_bytes(encode_message(reply))


_ORPHAN_CHECK_S = 1.0
"""How often the server checks that the daemon that started it is alive."""


def _exit_when_orphaned(parent: int) -> None:
    """Exits this process once its daemon is gone, even in the middle of an evaluation.

    A daemon killed with SIGKILL cannot stop its server; a hung body would keep it alive.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_ORPHAN_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="arco-code-server-orphan", daemon=True).start()


def _answer(
    definitions: Definitions, proxy: InstanceProxy, message: Mapping[str, Any]
) -> dict[str, Any]:
    kind = message.get("kind")
    if kind == "list":
        return {
            "kind": "instigators",
            "schedules": [info_to_data(schedule_info(s)) for s in definitions.schedules],
            "sensors": [info_to_data(sensor_info(s)) for s in definitions.sensors],
        }
    if kind == "manifest":
        return {"kind": "result", "result": manifest_to_data(definitions.manifest)}
    if kind == "schedule":
        schedules = {s.name: s for s in definitions.schedules}
        schedule = schedules.get(message["name"])
        if schedule is None:
            raise NotFoundError(
                f"schedule {message['name']!r} is not in the code location (it has "
                f"{', '.join(sorted(schedules)) or 'none'}); reload the daemon's code server"
            )
        fire_time = datetime.datetime.fromtimestamp(
            float(message["scheduled_time"]), schedule.timezone
        )
        schedule_context = ScheduleEvaluationContext(
            scheduled_execution_time=fire_time,
            instance=proxy,
            resources=definitions.resources,
            schedule_name=schedule.name,
        )
        result = schedule.evaluate_tick(schedule_context)
        return {"kind": "result", "result": schedule_result_to_data(result)}
    if kind == "sensor":
        sensors = {s.name: s for s in definitions.sensors}
        sensor = sensors.get(message["name"])
        if sensor is None:
            raise NotFoundError(
                f"sensor {message['name']!r} is not in the code location (it has "
                f"{', '.join(sorted(sensors)) or 'none'}); reload the daemon's code server"
            )
        sensor_context = SensorEvaluationContext(
            cursor=message.get("cursor"),
            instance=proxy,
            resources=definitions.resources,
            sensor_name=sensor.name,
            last_tick_completion_time=message.get("last_completion_time"),
        )
        sensor_result = sensor.evaluate_tick(sensor_context)
        return {"kind": "result", "result": sensor_result_to_data(sensor_result)}
    raise ArcoError(
        f"code-server request kind {kind!r} is not known; expected list/manifest/schedule/sensor"
    )
