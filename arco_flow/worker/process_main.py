"""A process-pool worker: a long-lived process that keeps the code location loaded.

The worker side of the `process_pool` dispatcher (DESIGN.md §4). `serve` is the target of
each worker process: it loads the definitions once, keeps one `WorkerSession` (with the
run's resources) per run, runs one attempt at a time with `execute_task`, and reports over
one duplex pipe. It never reaches a store.

Every message either way is one JSON object sent as bytes: no user object and no pickle
crosses the pipe, so nothing a worker sends can run code in the control plane.

Control plane to worker (``kind``, then the other fields):

- ``task``: ``request`` (`request_to_data`): run one attempt.
- ``cancel``: ``run_id``: interrupt the run's running task (`TaskCanceled` is raised in
  it) and refuse the run's later tasks.
- ``end_run``: ``run_id``: tear down the run's resources.
- ``stop``: tear down every run's resources and exit.

Worker to control plane:

- ``ready``: ``pid``, ``error`` (`ErrorInfo` data or null): the code location is loaded,
  or could not be; then every task fails with that error.
- ``event``: ``event`` (`event_to_data`): an event of the running attempt, as it happens.
- ``heartbeat``: ``task`` (``[run_id, task_id, attempt]`` or null while loading),
  ``cpu_s`` (the attempt's CPU so far), ``peak_rss_mb``: sent every heartbeat interval
  while the worker is busy.
- ``outcome``: ``outcome`` (`outcome_to_data`): how the attempt ended; always the last
  message about an attempt.

Invariant: a message is written whole or not at all. Signals that interrupt the main
thread (cancel, SIGTERM) are held back while it writes, since half a message would
corrupt the pipe.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from arco_flow.core.errors import ExecutionError
from arco_flow.core.events import (
    ErrorInfo,
    Event,
    LogRecorded,
    TaskUsage,
    event_to_data,
    run_id_of,
)
from arco_flow.core.messages import TaskOutcome, TaskRequest, request_from_data
from arco_flow.sdk.assets import DEFAULT_IO_MANAGER_KEY
from arco_flow.sdk.context import InstanceUnavailable
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.fs_io_manager import FilesystemIOManager
from arco_flow.sdk.io_managers import InMemoryIOManager
from arco_flow.sdk.resources import ResourceScope
from arco_flow.worker.code_location import load_definitions
from arco_flow.worker.executor import WorkerSession, execute_task

__all__ = [
    "TaskCanceled",
    "canceled_outcome",
    "decode_message",
    "encode_message",
    "in_memory_io_manager_problems",
    "outcome_from_data",
    "outcome_to_data",
    "serve",
]

NO_INSTANCE = InstanceUnavailable(
    "context.instance is not available in a process-pool worker: workers hold no store "
    "credentials, so user code there cannot reach the instance. Add dynamic partitions from "
    "the control plane (instance.add_dynamic_partitions, or `arco-flow partitions add`), or "
    "run with the in_process executor"
)
"""What ``context.instance`` is in a pool worker: each use raises, saying why."""

CANCEL_SIGNAL = signal.SIGUSR1
"""Sent by a worker's reader thread to its own main thread to interrupt a canceled task."""

_MAX_SESSIONS = 16
"""Runs whose resources a worker keeps at once; the oldest is torn down past this."""
_ORPHAN_GRACE_S = 5.0
"""How long a worker whose control plane is gone lets its task unwind before exiting."""


class TaskCanceled(BaseException):
    """Raised inside a running task when its run is canceled.

    A `BaseException`, like `KeyboardInterrupt` and `asyncio.CancelledError`, so that user
    code's ``except Exception`` does not swallow it, while its ``finally`` blocks and
    context managers still run. It never leaves the worker: the attempt ends as a failure
    whose error class is ``TaskCanceled``.
    """


class _Terminated(SystemExit):
    """SIGTERM in a worker: unwind the running task, tear resources down, exit."""


def encode_message(message: Mapping[str, Any]) -> bytes:
    """One protocol message as bytes (compact JSON)."""
    return json.dumps(message, separators=(",", ":")).encode()


def decode_message(data: bytes) -> dict[str, Any]:
    """Inverse of `encode_message`.

    Raises:
        ValueError: the bytes are not a JSON object.
    """
    message = json.loads(data)
    if not isinstance(message, dict) or "kind" not in message:
        raise ValueError(f"not a process-pool message: {data[:200]!r}")
    return message


def outcome_to_data(outcome: TaskOutcome) -> dict[str, Any]:
    """The outcome as plain data; the request is named by its ids, not repeated."""
    request, usage = outcome.request, outcome.usage
    return {
        "task": [request.run_id, request.task_id, request.attempt],
        "succeeded": outcome.succeeded,
        "error": outcome.error.to_data() if outcome.error else None,
        "allow_retries": outcome.allow_retries,
        "retry_requested": list(outcome.retry_requested) if outcome.retry_requested else None,
        "usage": (
            None
            if usage is None
            else {"wall_s": usage.wall_s, "cpu_s": usage.cpu_s, "peak_rss_mb": usage.peak_rss_mb}
        ),
        "failed_blocking_checks": list(outcome.failed_blocking_checks),
    }


def outcome_from_data(data: Mapping[str, Any], request: TaskRequest) -> TaskOutcome:
    """Inverse of `outcome_to_data`, given the request the outcome answers."""
    error, retry, usage = data.get("error"), data.get("retry_requested"), data.get("usage")
    return TaskOutcome(
        request=request,
        succeeded=bool(data["succeeded"]),
        error=ErrorInfo.from_data(error) if error else None,
        allow_retries=bool(data.get("allow_retries", True)),
        retry_requested=(int(retry[0]), float(retry[1])) if retry else None,
        usage=TaskUsage(**usage) if usage else None,
        failed_blocking_checks=tuple(
            str(key) for key in data.get("failed_blocking_checks", ()) if isinstance(key, str)
        ),
    )


def in_memory_io_manager_problems(
    definitions: Definitions, nodes: Iterable[str] | None = None
) -> list[str]:
    """Why `nodes` (every compute node by default) cannot run in separate processes.

    An `InMemoryIOManager` keeps values in the memory of the process that stored them, so
    a task in another worker process could never load them. Returns one message per
    (node, IO manager key) that uses one; empty when there is none.
    """
    by_node = definitions.nodes_by_name
    output_managers = {
        output.key: output.io_manager_key
        for definition in by_node.values()
        for output in definition.outputs
    }
    problems: list[str] = []
    for node in sorted(by_node if nodes is None else nodes):
        definition = by_node[node]
        keys = {output.io_manager_key for output in definition.outputs} | {
            binding.input_manager_key or output_managers.get(binding.key, DEFAULT_IO_MANAGER_KEY)
            for binding in definition.inputs
        }
        problems.extend(
            f"asset node {node!r} uses IO manager {key!r}, an InMemoryIOManager, which cannot "
            "pass values between the process pool's worker processes; bind a "
            f"FilesystemIOManager (or another persistent IO manager) to {key!r}, or run "
            "with the in_process executor"
            for key in sorted(keys)
            if isinstance(definitions.resources.get(key), InMemoryIOManager)
        )
    return problems


def serve(
    connection: Connection, code_location: Mapping[str, str], options: Mapping[str, Any]
) -> None:
    """Runs a pool worker until it is told to stop or its pipe closes.

    The target of each worker process; `connection` is the worker's end of its pipe.

    Args:
        connection: the worker's end of its duplex pipe to the control plane.
        code_location: ``{"module": ...}`` or ``{"file": ...}``, with an optional
            ``"attribute"``, as `load_definitions` takes them.
        options: ``heartbeat_interval_s`` (float) and ``storage_dir`` (a folder for a
            FilesystemIOManager bound to ``io_manager`` when the definitions bind none,
            or None).
    """
    _Worker(connection, code_location, options).run()


class _Interrupts:
    """Turns the cancel signal and SIGTERM into exceptions in the main thread.

    Each is raised at most once, and never while the main thread writes to the pipe
    (inside `held`): one that arrives then is raised when the write is done.
    """

    def __init__(self) -> None:
        self.task_running = False
        """Whether a cancel signal interrupts now (a task or its resource setup runs)."""
        self._holding = 0
        self._pending: BaseException | None = None

    def on_cancel(self, signum: int, frame: FrameType | None) -> None:
        if self.task_running:
            self.task_running = False
            self._raise(TaskCanceled("the run was canceled"))

    def on_terminate(self, signum: int, frame: FrameType | None) -> None:
        self.task_running = False
        self._raise(_Terminated(128 + signum))

    def _raise(self, error: BaseException) -> None:
        if self._holding:
            self._pending = self._pending or error
            return
        raise error

    @contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if not self._holding and self._pending is not None:
            error, self._pending = self._pending, None
            raise error


class _Channel:
    """The worker's end of the pipe, shared by the main thread and the others."""

    def __init__(self, connection: Connection, interrupts: _Interrupts) -> None:
        self._connection = connection
        self._interrupts = interrupts
        self._lock = threading.Lock()
        self._main_ident = threading.get_ident()

    def send(self, message: Mapping[str, Any]) -> None:
        """Sends one message whole."""
        self.send_encoded(encode_message(message))

    def send_encoded(self, data: bytes) -> None:
        """Sends one encoded message whole; in the main thread, interrupts wait for it."""
        if threading.get_ident() != self._main_ident:
            # Signal handlers run in the main thread only: nothing interrupts this one.
            with self._lock:
                self._connection.send_bytes(data)
            return
        with self._interrupts.held(), self._lock:
            self._connection.send_bytes(data)


@dataclass(slots=True)
class _RunSession:
    scope: ResourceScope
    session: WorkerSession


class _Worker:
    def __init__(
        self, connection: Connection, code_location: Mapping[str, str], options: Mapping[str, Any]
    ) -> None:
        self._connection = connection
        self._code_location = dict(code_location)
        self._interval = float(options.get("heartbeat_interval_s", 1.0))
        self._storage_dir: str | None = options.get("storage_dir")
        self._interrupts = _Interrupts()
        self._channel = _Channel(connection, self._interrupts)
        self._inbox: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._main_ident = threading.get_ident()
        # Written by the main thread, read by the others; a plain attribute is atomic.
        self._loading = True
        self._current: TaskRequest | None = None
        self._task_cpu_start = 0.0
        self._canceled_runs: set[str] = set()
        self._definitions: Definitions | None = None
        self._resources: dict[str, Any] = {}
        self._required: dict[str, list[str]] = {}
        self._load_error: ErrorInfo | None = None
        self._sessions: OrderedDict[str, _RunSession] = OrderedDict()

    def run(self) -> None:
        # Ctrl-C reaches every process of the terminal's group: the control plane decides
        # what happens to a task, so the worker ignores it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(CANCEL_SIGNAL, self._interrupts.on_cancel)
        signal.signal(signal.SIGTERM, self._interrupts.on_terminate)
        # Threads inherit the signal mask: blocked in them, a process-directed SIGTERM is
        # delivered to the main thread, which wakes from a blocking call to handle it.
        blocked = {CANCEL_SIGNAL, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        threading.Thread(target=self._read, name="arco-flow-reader", daemon=True).start()
        threading.Thread(target=self._beat, name="arco-flow-heartbeat", daemon=True).start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        try:
            self._load()
            self._channel.send({"kind": "ready", "pid": os.getpid(), "error": self._error_data()})
            self._serve()
        finally:
            self._stopped.set()
            self._close_sessions()

    def _error_data(self) -> dict[str, Any] | None:
        return self._load_error.to_data() if self._load_error else None

    def _load(self) -> None:
        try:
            definitions = load_definitions(**self._code_location)
            resources = dict(definitions.resources)
            if DEFAULT_IO_MANAGER_KEY not in resources and self._storage_dir is not None:
                resources[DEFAULT_IO_MANAGER_KEY] = FilesystemIOManager(base_dir=self._storage_dir)
            self._required = _required_resources(definitions)
        except Exception as error:  # noqa: BLE001  # reported to the control plane
            self._load_error = ErrorInfo.from_exception(error)
        else:
            self._definitions, self._resources = definitions, resources
        finally:
            self._loading = False

    def _serve(self) -> None:
        while True:
            message = self._inbox.get()
            kind = message["kind"]
            if kind == "task":
                self._run_task(request_from_data(message["request"]))
            elif kind == "end_run":
                self._end_run(message["run_id"])
            elif kind == "stop":
                return

    def _run_task(self, request: TaskRequest) -> None:
        # Set before reading the canceled runs; the reader adds to them before reading
        # the current task: either side sees the other, so no cancel is lost.
        self._current = request
        self._task_cpu_start = time.process_time()
        started_wall = time.perf_counter()
        try:
            if request.run_id in self._canceled_runs:
                outcome = canceled_outcome(request, "before it started", None)
            elif self._load_error is not None:
                outcome = TaskOutcome(request=request, succeeded=False, error=self._load_error)
            else:
                outcome = self._execute(request, started_wall)
        finally:
            self._current = None
        self._channel.send({"kind": "outcome", "outcome": outcome_to_data(outcome)})

    def _execute(self, request: TaskRequest, started_wall: float) -> TaskOutcome:
        self._interrupts.task_running = True
        try:
            try:
                session = self._session(request)
            except Exception as error:  # noqa: BLE001  # a resource failed to start
                self._interrupts.task_running = False
                return TaskOutcome(
                    request=request, succeeded=False, error=ErrorInfo.from_exception(error)
                )
            outcome = execute_task(request, session, self._emit)
            self._interrupts.task_running = False
        except TaskCanceled:
            self._interrupts.task_running = False
            return canceled_outcome(request, "while it ran", self._usage(started_wall))
        except _Terminated:
            raise
        except (SystemExit, KeyboardInterrupt) as error:
            # User code asked to exit: the attempt fails, the worker serves on.
            self._interrupts.task_running = False
            return TaskOutcome(
                request=request,
                succeeded=False,
                error=ErrorInfo.from_exception(error),
                usage=self._usage(started_wall),
            )
        return outcome

    def _usage(self, started_wall: float) -> TaskUsage:
        return TaskUsage(
            wall_s=time.perf_counter() - started_wall,
            cpu_s=time.process_time() - self._task_cpu_start,
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        )

    def _session(self, request: TaskRequest) -> WorkerSession:
        assert self._definitions is not None
        problems = in_memory_io_manager_problems(self._definitions, [request.node])
        if problems:
            raise ExecutionError("; ".join(problems))
        found = self._sessions.get(request.run_id)
        if found is not None:
            self._sessions.move_to_end(request.run_id)
            return found.session
        while len(self._sessions) >= _MAX_SESSIONS:
            self._end_run(next(iter(self._sessions)))
        # Every resource any asset needs, built once per run: a worker does not know which
        # tasks of the run it will get.
        config = request.run_config.get("resources") or {}
        scope = ResourceScope(
            self._resources, config, list(self._required), required_by=self._required
        )
        scope.__enter__()
        session = WorkerSession(self._definitions, scope.as_dict(), instance=NO_INSTANCE)
        self._sessions[request.run_id] = _RunSession(scope=scope, session=session)
        return session

    def _emit(self, event: Event) -> None:
        try:
            message = {"kind": "event", "event": event_to_data(event)}
            data = encode_message(message)
        except (TypeError, ValueError) as error:
            raise ExecutionError(
                f"event {event.EVENT_TYPE} of run {run_id_of(event)} has a value with no JSON "
                f"form ({error}); metadata values must be plain data (str, numbers, lists, "
                "dicts) or MetadataValues"
            ) from error
        self._channel.send_encoded(data)

    def _end_run(self, run_id: str) -> None:
        self._canceled_runs.discard(run_id)
        found = self._sessions.pop(run_id, None)
        if found is None:
            return
        try:
            found.scope.__exit__(None, None, None)
        except Exception as error:  # noqa: BLE001  # reported as a log event of the run
            failed = LogRecorded(
                run_id=run_id,
                task_id=None,
                level="ERROR",
                message=f"worker process {os.getpid()}: {error}",
            )
            self._channel.send({"kind": "event", "event": event_to_data(failed)})

    def _close_sessions(self) -> None:
        for run_id in list(self._sessions):
            try:
                self._end_run(run_id)
            except OSError:
                # The pipe is gone: nobody hears of a teardown failure; tear down the rest.
                continue

    def _read(self) -> None:
        """The reader thread: takes messages off the pipe while the main thread works."""
        while True:
            try:
                message = decode_message(self._connection.recv_bytes())
            except (EOFError, OSError, ValueError):
                break
            if message["kind"] == "cancel":
                run_id = message["run_id"]
                self._canceled_runs.add(run_id)
                current = self._current
                if current is not None and current.run_id == run_id:
                    signal.pthread_kill(self._main_ident, CANCEL_SIGNAL)
                continue
            self._inbox.put(message)
            if message["kind"] == "stop":
                return
        # The control plane is gone: no one will read what this worker does, and a task
        # left running could store a value twice once the run is resumed elsewhere.
        self._inbox.put({"kind": "stop"})
        if self._current is not None or self._loading:
            signal.pthread_kill(self._main_ident, signal.SIGTERM)
            exit_timer = threading.Timer(_ORPHAN_GRACE_S, os._exit, args=(1,))
            exit_timer.daemon = True
            exit_timer.start()

    def _beat(self) -> None:
        """The heartbeat thread: says the worker is alive while it is busy."""
        while not self._stopped.wait(self._interval):
            current = self._current
            if current is None and not self._loading:
                continue
            message = {
                "kind": "heartbeat",
                "task": (
                    None if current is None else [current.run_id, current.task_id, current.attempt]
                ),
                "cpu_s": time.process_time() - self._task_cpu_start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            }
            try:
                self._channel.send(message)
            except OSError:
                return


def canceled_outcome(request: TaskRequest, when: str, usage: TaskUsage | None) -> TaskOutcome:
    """A failed outcome with error class ``TaskCanceled``; `when` ends the message."""
    message = f"task {request.task_id!r} of run {request.run_id} was canceled {when}"
    return TaskOutcome(
        request=request,
        succeeded=False,
        error=ErrorInfo(class_name="TaskCanceled", message=message, is_user_code=False),
        allow_retries=False,
        usage=usage,
    )


def _required_resources(definitions: Definitions) -> dict[str, list[str]]:
    """Resource key -> the compute nodes that need it, over every executable node."""
    by_node = definitions.nodes_by_name
    output_managers = {
        output.key: output.io_manager_key
        for definition in by_node.values()
        for output in definition.outputs
    }
    required: dict[str, list[str]] = {}
    for node, definition in sorted(by_node.items()):
        if definition.compute_fn is None:
            continue
        keys = set(definition.required_resource_keys)
        keys.update(output.io_manager_key for output in definition.outputs)
        keys.update(
            binding.input_manager_key or output_managers.get(binding.key, DEFAULT_IO_MANAGER_KEY)
            for binding in definition.inputs
        )
        for key in keys:
            required.setdefault(key, []).append(node)
    return required
