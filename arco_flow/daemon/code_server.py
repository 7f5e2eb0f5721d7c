"""Where the daemon's schedules and sensors are evaluated: a code server, or this process.

`Instigators` is what the scheduler and the sensor daemon need of a code location: the
schedules and sensors (as `InstigatorInfo`, no user function) and one tick's evaluation.
`ManifestSource` is what the automation and freshness loops need: the code location's
`Manifest`, which `core.manifest_view.ManifestDefinitions` reads as its asset definitions.
Two implementations of both:

- `CodeServer`: the daemon's one. A spawned process (`worker.instigator_server`) loads
  the code location and evaluates; this process imports no user code. Each evaluation
  has a timeout: a hung body gets its server killed and the evaluation raises
  `EvaluationTimeoutError` (the tick is recorded failed); the next request starts a new
  server. A server that dies mid-evaluation is restarted and the evaluation retried once
  (nothing was recorded: a tick is recorded only after its evaluation). Reads a sensor
  makes through ``context.instance`` are answered here, from the instance, over the pipe.
  `reload()` starts a fresh server on the next request (after a code change). The
  manifest comes as `manifest_to_data` JSON and is rebuilt here with `manifest_from_data`.
- `InProcessInstigators`: evaluates the given definitions in this process; for unit
  tests and `Definitions` built in a Python process (select it by passing `Definitions`).

One `CodeServer` serves one loop: the daemon gives schedules and sensors a server each,
so a hung sensor never delays a schedule.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from arco_flow.core.errors import ArcoError, ExecutionError, NotFoundError
from arco_flow.core.events import ErrorInfo
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, manifest_from_data
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.instigator_codec import (
    InstigatorInfo,
    info_from_data,
    schedule_info,
    schedule_result_from_data,
    sensor_info,
    sensor_result_from_data,
)
from arco_flow.sdk.schedules import (
    ScheduleDefinition,
    ScheduleEvaluationContext,
    ScheduleEvaluationResult,
)
from arco_flow.sdk.sensors import (
    SensorDefinition,
    SensorEvaluationContext,
    SensorEvaluationResult,
)
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import MaterializationRecord, RunRecord, RunStatus
from arco_flow.worker.instigator_server import decode_message, encode_message, serve_instigators

__all__ = [
    "DEFAULT_EVALUATION_TIMEOUT_S",
    "CodeServer",
    "CodeServerError",
    "EvaluationTimeoutError",
    "InProcessInstigators",
    "Instigators",
    "ManifestSource",
    "evaluation_error_info",
]

DEFAULT_EVALUATION_TIMEOUT_S = 60.0
"""Seconds one schedule or sensor evaluation may take before its server is killed."""

DEFAULT_START_TIMEOUT_S = 60.0
"""Seconds a server may take to load the code location."""


class CodeServerError(ExecutionError):
    """An evaluation in the code server failed; `info` is the error it reported.

    Args:
        message: What failed.
        info: The error as the server reported it (the user's traceback in its stack).
    """

    def __init__(self, message: str, info: ErrorInfo | None = None) -> None:
        super().__init__(message)
        self.info = info


class EvaluationTimeoutError(CodeServerError):
    """A schedule or sensor evaluation outlived its timeout; its server was killed."""


def evaluation_error_info(error: BaseException) -> ErrorInfo:
    """The error to record with a failed tick: the server's own report when there is one."""
    if isinstance(error, CodeServerError) and error.info is not None:
        return error.info
    return ErrorInfo.from_exception(error)


class Instigators(Protocol):
    """The schedules and sensors of a code location, and their evaluation."""

    def schedules(self) -> list[InstigatorInfo]:
        """The schedules, in the code location's order."""
        ...

    def sensors(self) -> list[InstigatorInfo]:
        """The sensors, in the code location's order."""
        ...

    def evaluate_schedule(self, name: str, scheduled_time: float) -> ScheduleEvaluationResult:
        """Evaluates one tick of schedule `name` for its fire time `scheduled_time`.

        Raises:
            ArcoError: the evaluation failed (user code raised, timed out, bad result).
        """
        ...

    def evaluate_sensor(
        self, name: str, *, cursor: str | None, last_completion_time: float | None
    ) -> SensorEvaluationResult:
        """Evaluates one tick of sensor `name` from `cursor`.

        Raises:
            ArcoError: the evaluation failed (user code raised, timed out, bad result).
        """
        ...


class ManifestSource(Protocol):
    """A code location's definitions as data."""

    def manifest(self) -> Manifest:
        """The code location's manifest (read it with `ManifestDefinitions`).

        Raises:
            ArcoError: the code location could not be loaded or its definitions are invalid.
        """
        ...


class InProcessInstigators:
    """Evaluates `definitions` in this process (unit tests, definitions built in code).

    Args:
        definitions: The schedules and sensors.
        instance: What ``context.instance`` is in their bodies.
    """

    def __init__(self, definitions: Definitions, instance: ArcoInstance) -> None:
        self.definitions, self._instance = definitions, instance

    def manifest(self) -> Manifest:
        """See `ManifestSource.manifest`."""
        return self.definitions.manifest

    def schedules(self) -> list[InstigatorInfo]:
        """See `Instigators.schedules`."""
        return [schedule_info(schedule) for schedule in self.definitions.schedules]

    def sensors(self) -> list[InstigatorInfo]:
        """See `Instigators.sensors`."""
        return [sensor_info(sensor) for sensor in self.definitions.sensors]

    def evaluate_schedule(self, name: str, scheduled_time: float) -> ScheduleEvaluationResult:
        """See `Instigators.evaluate_schedule`."""
        schedule: ScheduleDefinition = _named(self.definitions.schedules, name, "schedule")
        context = ScheduleEvaluationContext(
            scheduled_execution_time=_fire_time(scheduled_time, schedule.timezone),
            instance=self._instance,
            resources=self.definitions.resources,
            schedule_name=name,
        )
        return schedule.evaluate_tick(context)

    def evaluate_sensor(
        self, name: str, *, cursor: str | None, last_completion_time: float | None
    ) -> SensorEvaluationResult:
        """See `Instigators.evaluate_sensor`."""
        sensor: SensorDefinition = _named(self.definitions.sensors, name, "sensor")
        context = SensorEvaluationContext(
            cursor=cursor,
            instance=self._instance,
            resources=self.definitions.resources,
            sensor_name=name,
            last_tick_completion_time=last_completion_time,
        )
        return sensor.evaluate_tick(context)


def _fire_time(scheduled_time: float, zone: Any) -> Any:
    import datetime

    return datetime.datetime.fromtimestamp(scheduled_time, zone)


def _named(items: Any, name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise NotFoundError(f"{kind} {name!r} is not in the definitions; check its name")


class _ServerDied(Exception):
    """The server's pipe closed mid-request."""


class CodeServer:
    """A code-location server process, started on first use and restarted as needed.

    Thread-safe (one request at a time). Use as a context manager, or call `close`.

    Args:
        code_location: ``{"module"|"file": ..., "attribute"?: ...}``.
        instance: Answers the reads sensors make through the server's instance proxy.
        evaluation_timeout_s: The most seconds one evaluation (or listing) may take.
        start_timeout_s: The most seconds the server may take to load the code location.
    """

    def __init__(
        self,
        code_location: Mapping[str, str],
        instance: ArcoInstance,
        *,
        evaluation_timeout_s: float = DEFAULT_EVALUATION_TIMEOUT_S,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        if not code_location.get("module") and not code_location.get("file"):
            raise ArcoError(
                "the daemon's code server needs a code location with a module or a file "
                f"(got {dict(code_location)!r}); pass -m MODULE or -f FILE"
            )
        self._code_location = dict(code_location)
        self._instance = instance
        self._timeout_s, self._start_timeout_s = evaluation_timeout_s, start_timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._listing: tuple[list[InstigatorInfo], list[InstigatorInfo]] | None = None
        self._manifest: Manifest | None = None
        self._lock = threading.RLock()
        self.starts = 0
        """How many server processes this client started (restarts included)."""

    @property
    def pid(self) -> int | None:
        """The running server's process id, if one runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def __enter__(self) -> CodeServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def schedules(self) -> list[InstigatorInfo]:
        """See `Instigators.schedules` (listed once per server process)."""
        return list(self._list()[0])

    def sensors(self) -> list[InstigatorInfo]:
        """See `Instigators.sensors` (listed once per server process)."""
        return list(self._list()[1])

    def manifest(self) -> Manifest:
        """See `ManifestSource.manifest` (built once per server process, in the server).

        Raises:
            CodeServerError: the server could not load the code location, or its
                definitions are invalid; the message is the server's.
        """
        with self._lock:
            if self._manifest is None or self._process is None:
                reply = self._result(self._request({"kind": "manifest"}), "the manifest")
                self._manifest = manifest_from_data(reply)
            return self._manifest

    def evaluate_schedule(self, name: str, scheduled_time: float) -> ScheduleEvaluationResult:
        """See `Instigators.evaluate_schedule`."""
        reply = self._request({"kind": "schedule", "name": name, "scheduled_time": scheduled_time})
        return schedule_result_from_data(self._result(reply, f"schedule {name!r}"))

    def evaluate_sensor(
        self, name: str, *, cursor: str | None, last_completion_time: float | None
    ) -> SensorEvaluationResult:
        """See `Instigators.evaluate_sensor`."""
        reply = self._request(
            {
                "kind": "sensor",
                "name": name,
                "cursor": cursor,
                "last_completion_time": last_completion_time,
            }
        )
        return sensor_result_from_data(self._result(reply, f"sensor {name!r}"))

    def start(self) -> None:
        """Starts the server now (else the first request does), if none runs.

        Raises:
            CodeServerError: the server did not start.
        """
        with self._lock:
            self._ensure_started()

    def reload(self) -> None:
        """Stops the server; the next request starts one on the current code."""
        with self._lock:
            self._stop()

    def close(self) -> None:
        """Stops the server."""
        self.reload()

    def _list(self) -> tuple[list[InstigatorInfo], list[InstigatorInfo]]:
        with self._lock:
            if self._listing is None or self._process is None:
                reply = self._result(self._request({"kind": "list"}), "listing")
                self._listing = (
                    [info_from_data(item) for item in reply["schedules"]],
                    [info_from_data(item) for item in reply["sensors"]],
                )
            return self._listing

    @staticmethod
    def _result(reply: Mapping[str, Any], what: str) -> dict[str, Any]:
        if reply.get("kind") == "error":
            info = ErrorInfo.from_data(reply["error"])
            raise CodeServerError(
                f"{what} failed in the code server ({info.class_name}): {info.message}", info
            )
        if reply.get("kind") == "instigators":
            return dict(reply)
        return dict(reply["result"])

    def _request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            for attempt in (1, 2):
                connection = self._ensure_started()
                try:
                    return self._exchange(connection, message)
                except _ServerDied as died:
                    self._stop()
                    if attempt == 2:
                        raise CodeServerError(
                            f"the code server died twice on {_described(message)} ({died}); "
                            "look for a crash (os._exit, a segfault, OOM) in that code"
                        ) from None
            raise AssertionError("unreachable")

    def _exchange(self, connection: Connection, message: Mapping[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout_s
        try:
            connection.send_bytes(encode_message(message))
        except OSError as error:
            raise _ServerDied(str(error)) from error
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and connection.poll(remaining)
                if not ready:
                    self._stop()
                    raise EvaluationTimeoutError(
                        f"{_described(message)} took longer than "
                        f"{self._timeout_s:g}s; its code server was killed. Make the body "
                        "return sooner, or raise the daemon's evaluation timeout"
                    )
                reply = decode_message(connection.recv_bytes())
            except (EOFError, OSError) as error:
                raise _ServerDied(f"pipe closed: {error!r}") from error
            if reply.get("kind") != "instance":
                return reply
            answer = self._answer_instance(reply)
            try:
                connection.send_bytes(encode_message(answer))
            except OSError as error:
                raise _ServerDied(str(error)) from error

    def _answer_instance(self, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            value = _instance_read(self._instance, str(request["method"]), request["args"])
        except Exception as error:  # noqa: BLE001  # raised in the sensor, in the server
            info = ErrorInfo.from_exception(error, is_user_code=False)
            return {"kind": "instance_reply", "error": info.to_data()}
        return {"kind": "instance_reply", "value": value}

    def _ensure_started(self) -> Connection:
        if self._process is not None and self._connection is not None and self._process.is_alive():
            return self._connection
        self._stop()
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve_instigators,
            args=(theirs, self._code_location),
            name="arco-code-server",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._process, self._connection = process, ours
        self.starts += 1
        try:
            if not ours.poll(self._start_timeout_s):
                raise CodeServerError(
                    f"the code server did not load {self._code_location!r} within "
                    f"{self._start_timeout_s:g}s; make importing it faster"
                )
            ready = decode_message(ours.recv_bytes())
        except (EOFError, OSError, CodeServerError) as error:
            self._stop()
            if isinstance(error, CodeServerError):
                raise
            raise CodeServerError(
                f"the code server for {self._code_location!r} exited while loading it"
            ) from error
        # A load error is answered to every request by the server itself.
        _ = ready
        return ours

    def _stop(self) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        self._listing = self._manifest = None
        if connection is not None:
            try:
                if process is not None and process.is_alive():
                    connection.send_bytes(encode_message({"kind": "stop"}))
            except OSError:
                pass
            connection.close()
        if process is not None:
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(5.0)


def _described(message: Mapping[str, Any]) -> str:
    """A request as error messages name it: "sensor 'x'", "the listing", "the manifest"."""
    kind = message.get("kind")
    if kind in ("schedule", "sensor"):
        return f"{kind} {message.get('name')!r}"
    return "the listing" if kind == "list" else f"the {kind}"


def _instance_read(instance: ArcoInstance, method: str, args: Mapping[str, Any]) -> Any:
    if method == "get_materialization_history":
        records = instance.get_materialization_history(
            AssetKey(args["asset_key"]), limit=args.get("limit")
        )
        return [_materialization_data(record) for record in records]
    if method == "get_runs":
        statuses = args.get("statuses")
        runs = (
            instance.get_runs(statuses=[RunStatus(s) for s in statuses])
            if statuses
            else instance.get_runs()
        )
        return [_run_data(run) for run in runs]
    if method == "get_dynamic_partitions":
        return instance.get_dynamic_partitions(str(args["name"]))
    if method == "has_dynamic_partition":
        return instance.has_dynamic_partition(str(args["name"]), str(args["key"]))
    raise ArcoError(f"the code server asked for {method!r}, which the daemon does not answer")


def _jsonable(value: Mapping[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return {key: str(item) for key, item in value.items()}
    return dict(value)


def _materialization_data(record: MaterializationRecord) -> dict[str, Any]:
    return {
        "event_id": record.event_id,
        "asset_key": list(record.asset_key.path),
        "run_id": record.run_id,
        "task_id": record.task_id,
        "timestamp": record.timestamp,
        "partition_key": record.partition_key,
        "data_version": record.data_version,
        "code_version": record.code_version,
        "description": record.description,
        "metadata": _jsonable(record.metadata),
    }


def _run_data(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "status": run.status.value,
        "created_time": run.created_time,
        "updated_time": run.updated_time,
        "started_time": run.started_time,
        "ended_time": run.ended_time,
        "tags": dict(run.tags),
        "asset_keys": [list(key.path) for key in run.asset_keys],
        "parent_run_id": run.parent_run_id,
        "run_config": _jsonable(run.run_config),
        "error": run.error.to_data() if run.error else None,
    }
