"""The process-pool dispatcher: long-lived worker processes that take many tasks each.

The control-plane side of the `process_pool` executor (DESIGN.md §4); the worker side is
`arco_flow.worker.process_main`, whose docstring gives the message protocol. Workers are
started with the ``spawn`` method (safe in a process with threads), lazily, up to
`max_workers`, and keep the code location imported, so a task costs milliseconds, not a
process start. Each runs one attempt at a time, and gets one only once it has loaded the
code location: no attempt waits behind a worker that is still starting while another
worker is free.

Invariants: every attempt handed to a worker ends in exactly one `TaskOutcome`, and an
attempt whose worker is being stopped is reported only once that process is gone, so a
retry never overlaps the attempt it replaces. The dispatcher reads workers only inside
`wait` and `close`, in the caller's thread: `emit` is never called from another thread.
Failures the engine detects have their own error classes: ``WorkerCrashed`` (the process
died or fell silent), ``TaskTimeout`` and ``TaskCanceled``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_ready
from multiprocessing.process import BaseProcess
from multiprocessing.util import Finalize
from types import TracebackType
from typing import Any, TypeVar

from arco_flow.core.errors import DefinitionError, ExecutionError
from arco_flow.core.events import (
    AssetCheckEvaluated,
    AssetMaterialized,
    AssetObserved,
    AssetQuarantined,
    ErrorInfo,
    Event,
    LogRecorded,
    TaskStarted,
    TaskUsage,
    event_from_data,
)
from arco_flow.core.messages import TaskOutcome, TaskRequest, request_to_data
from arco_flow.sdk.definitions import Definitions
from arco_flow.worker.process_main import (
    canceled_outcome,
    decode_message,
    encode_message,
    in_memory_io_manager_problems,
    outcome_from_data,
    serve,
)

__all__ = ["ProcessPoolDispatcher", "check_process_pool_compatible"]

_T = TypeVar("_T")

_STOP_TIMEOUT_S = 10.0
"""How long `close` lets an idle worker tear its resources down before killing it."""
_STARTUP_TIMEOUT_S = 60.0
"""Silence allowed to a starting worker: it heartbeats only once its interpreter is up."""


def check_process_pool_compatible(definitions: Definitions) -> None:
    """Checks that every asset of `definitions` can run on the process pool.

    Raises:
        DefinitionError: some asset stores or loads values with an `InMemoryIOManager`,
            which cannot pass values between processes; the message lists every one.
    """
    problems = in_memory_io_manager_problems(definitions)
    if problems:
        raise DefinitionError(
            "these assets cannot run on the process pool:\n" + "\n".join(problems)
        )


_HEARTBEATS_KEPT = 10_000
"""Attempts whose heartbeat counts are kept after their run ended."""


@dataclass(slots=True, eq=False)
class _Attempt:
    request: TaskRequest
    assigned_at: float
    deadline: float | None = None
    """When the attempt times out. It runs from the hand-over, which is the start: only
    a ready, idle worker gets an attempt; resource setup counts."""
    cancel_by: float | None = None
    """After a cancel request: when the worker is killed if the attempt has not ended."""
    cpu_s: float = 0.0
    peak_rss_mb: float | None = None


@dataclass(slots=True, eq=False)
class _Worker:
    process: BaseProcess
    connection: Connection
    pid: int
    last_seen: float
    attempt: _Attempt | None = None
    stopping: str | None = None
    """Why the process is being stopped: timeout, cancel, silent, broken or stop."""
    kill_at: float | None = None
    """When SIGKILL follows the SIGTERM already sent."""
    readable: bool = True
    runs: set[str] = field(default_factory=set)
    """The runs this worker has had attempts of (it may report their teardown)."""
    ready: bool = False
    """Whether the worker has loaded the code location (or failed to) and takes tasks."""


@dataclass(slots=True)
class _Heartbeats:
    count: int
    last: float


class ProcessPoolDispatcher:
    """Runs attempts in long-lived worker processes that keep the code location loaded.

    Args:
        code_location: where workers load the definitions: ``{"module": name}`` or
            ``{"file": path}``, with an optional ``"attribute"``.
        emit: receives every event the workers report, in the thread that calls `wait`.
        max_workers: worker processes, and attempts running at once, at most; the number
            of CPUs by default.
        storage_dir: a folder for a FilesystemIOManager that workers bind to
            ``io_manager`` when the definitions bind none.
        heartbeat_interval_s: how often a busy worker reports that it is alive.
        heartbeat_timeout_s: how long a busy worker may stay silent before it counts as
            crashed (killed, its attempt failed as ``WorkerCrashed``).
        kill_grace_s: time between SIGTERM and SIGKILL when a worker is stopped.
        cancel_grace_s: how long a canceled attempt may take to stop before its worker is
            killed, unless `cancel` is given another.

    Raises:
        DefinitionError: `code_location` names no module or file, or both.
    """

    def __init__(
        self,
        code_location: Mapping[str, str],
        *,
        emit: Callable[[Event], None],
        max_workers: int | None = None,
        storage_dir: str | None = None,
        heartbeat_interval_s: float = 1.0,
        heartbeat_timeout_s: float = 30.0,
        kill_grace_s: float = 2.0,
        cancel_grace_s: float = 10.0,
    ) -> None:
        location = dict(code_location)
        unknown = sorted(set(location) - {"module", "file", "attribute"})
        if unknown or ("module" in location) == ("file" in location):
            raise DefinitionError(
                f"code location {location!r} must name one of 'module' or 'file' (and "
                "optionally 'attribute'), e.g. {'module': 'my_project.definitions'}"
            )
        self._code_location = location
        self._emit = emit
        self._max_workers = max(1, max_workers or os.cpu_count() or 1)
        self._options: dict[str, Any] = {
            "heartbeat_interval_s": heartbeat_interval_s,
            "storage_dir": storage_dir,
        }
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._kill_grace_s = kill_grace_s
        self._cancel_grace_s = cancel_grace_s
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._pending: deque[TaskRequest] = deque()
        self._done: list[TaskOutcome] = []
        self._canceled_runs: set[str] = set()
        self._heartbeats: dict[tuple[str, str], _Heartbeats] = {}
        self._closed = False
        # Shared with the finalizer, which must not hold the dispatcher: if `close` is
        # never called, the processes are killed when it is collected, or at exit before
        # multiprocessing joins its children (which would wait for ever on live workers).
        self._processes: set[BaseProcess] = set()
        self._finalizer = Finalize(self, _kill_processes, args=(self._processes,), exitpriority=10)

    # -- the Dispatcher protocol ----------------------------------------------------

    @property
    def capacity(self) -> int:
        """How many attempts run at once: one per worker process."""
        return self._max_workers

    def submit(self, request: TaskRequest) -> None:
        """Hands the attempt to an idle worker, or queues it until one is free.

        Workers are started while queued attempts outnumber the workers still starting
        and there are fewer than `max_workers`.

        Raises:
            ExecutionError: the dispatcher is closed.
        """
        if self._closed:
            raise ExecutionError("the process pool is closed; create a new dispatcher")
        if request.run_id in self._canceled_runs:
            self._done.append(canceled_outcome(request, "before it started", None))
            return
        self._pending.append(request)
        self._assign()

    def wait(self, timeout: float | None) -> list[TaskOutcome]:
        """Attempts that ended since the last call; waits up to `timeout` for one.

        While waiting it reads every worker's messages, calls `emit` for each event, and
        enforces timeouts, heartbeats and cancel grace periods. Returns at once when no
        attempt is running or queued.
        """
        until = None if timeout is None else time.monotonic() + timeout
        while True:
            self._enforce(time.monotonic())
            busy = any(worker.attempt is not None for worker in self._workers)
            if self._done or not (self._pending or busy):
                break
            now = time.monotonic()
            wake = self._next_deadline()
            if until is not None:
                wake = until if wake is None else min(wake, until)
            self._read(None if wake is None else max(0.0, wake - now))
            if until is not None and time.monotonic() >= until:
                self._enforce(time.monotonic())
                break
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        """Stops every worker; attempts still running are abandoned.

        Idle workers are asked to stop, tear their runs' resources down and exit; busy
        ones get SIGTERM. Any still alive after the grace period are killed. Events that
        arrive meanwhile (teardown failures) are emitted.
        """
        if self._closed:
            return
        self._closed = True
        self._pending.clear()
        now = time.monotonic()
        for worker in self._workers:
            if worker.stopping is not None:
                continue
            if worker.ready and worker.attempt is None:
                worker.stopping, worker.kill_at = "stop", now + _STOP_TIMEOUT_S
                self._send(worker, {"kind": "stop"})
            else:
                self._terminate(worker, "stop", now)
        while self._workers:
            self._enforce(time.monotonic())
            wake = self._next_deadline()
            self._read(None if wake is None else max(0.0, wake - time.monotonic()))
        self._done.clear()
        self._finalizer()

    # -- beyond the protocol --------------------------------------------------------

    def cancel(self, run_id: str, *, grace_s: float | None = None) -> None:
        """Cancels the run's attempts: queued ones at once, running ones gracefully.

        A running attempt gets `TaskCanceled` raised inside it; if it has not ended
        after `grace_s` (the dispatcher's `cancel_grace_s` by default), its worker is
        killed. Either way its outcome is a failure with
        error class ``TaskCanceled`` (unless it ended on its own first), returned by
        `wait`. Later submissions of the run are refused the same way until `end_run`.
        """
        self._canceled_runs.add(run_id)
        for request in [r for r in self._pending if r.run_id == run_id]:
            self._pending.remove(request)
            self._done.append(canceled_outcome(request, "before it started", None))
        now = time.monotonic()
        for worker in self._workers:
            attempt = worker.attempt
            if attempt is None or attempt.request.run_id != run_id or worker.stopping:
                continue
            attempt.cancel_by = now + (self._cancel_grace_s if grace_s is None else grace_s)
            self._send(worker, {"kind": "cancel", "run_id": run_id})

    def end_run(self, run_id: str) -> None:
        """Tells every worker to tear down the run's resources; returns at once.

        A teardown failure comes back as an ERROR log event of the run, emitted by a
        later `wait` or by `close`.
        """
        self._canceled_runs.discard(run_id)
        # Heartbeat counts outlive the run (they are read after it), within a bound.
        excess = len(self._heartbeats) - _HEARTBEATS_KEPT
        for key in list(self._heartbeats)[: max(0, excess)]:
            del self._heartbeats[key]
        for worker in self._workers:
            if worker.stopping is None:
                self._send(worker, {"kind": "end_run", "run_id": run_id})

    def heartbeats(self, run_id: str, task_id: str) -> int:
        """How many heartbeats the latest attempt of a task has sent so far."""
        found = self._heartbeats.get((run_id, task_id))
        return found.count if found else 0

    def last_heartbeat(self, run_id: str, task_id: str) -> float | None:
        """When (`time.monotonic()`) the latest attempt of a task last sent a heartbeat."""
        found = self._heartbeats.get((run_id, task_id))
        return found.last if found else None

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the workers alive now, oldest first."""
        return [worker.pid for worker in self._workers]

    def __enter__(self) -> ProcessPoolDispatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- workers --------------------------------------------------------------------

    def _assign(self) -> None:
        """Hands queued attempts to free workers, and starts workers for the rest."""
        for worker in self._workers:
            if not self._pending:
                return
            if worker.ready and worker.attempt is None and worker.stopping is None:
                request = self._pending.popleft()
                now = time.monotonic()
                timeout = request.timeout_s
                worker.attempt = _Attempt(
                    request=request,
                    assigned_at=now,
                    deadline=None if timeout is None else now + timeout,
                )
                worker.runs.add(request.run_id)
                worker.last_seen = now
                self._send(worker, {"kind": "task", "request": request_to_data(request)})
        starting = sum(1 for w in self._workers if not w.ready and w.stopping is None)
        while len(self._pending) > starting and len(self._workers) < self._max_workers:
            self._start_worker()
            starting += 1

    def _start_worker(self) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve,
            args=(theirs, self._code_location, self._options),
            name="arco-flow-worker",
        )
        process.start()
        # Only the worker holds its end now, so the pipe reads EOF when the worker dies.
        theirs.close()
        assert process.pid is not None
        self._processes.add(process)
        worker = _Worker(
            process=process, connection=ours, pid=process.pid, last_seen=time.monotonic()
        )
        self._workers.append(worker)
        return worker

    def _send(self, worker: _Worker, message: Mapping[str, Any]) -> None:
        try:
            worker.connection.send_bytes(encode_message(message))
        except OSError:
            # The worker is gone; its sentinel says so, and `_read` reports the attempt.
            worker.readable = False

    def _terminate(self, worker: _Worker, reason: str, now: float) -> None:
        worker.stopping = reason
        worker.kill_at = now + self._kill_grace_s
        worker.process.terminate()

    def _kill(self, worker: _Worker, reason: str) -> None:
        worker.stopping = worker.stopping or reason
        worker.kill_at = None
        worker.process.kill()  # a no-op when the process is already gone

    def _enforce(self, now: float) -> None:
        """Stops the workers whose attempt overran its timeout, heartbeat or cancel."""
        for worker in self._workers:
            if worker.kill_at is not None and now >= worker.kill_at:
                self._kill(worker, "stop")
                continue
            attempt = worker.attempt
            if worker.stopping is not None:
                continue
            if not worker.ready and now - worker.last_seen > self._silence_limit(worker):
                self._kill(worker, "silent")
                continue
            if attempt is None:
                continue
            if attempt.deadline is not None and now >= attempt.deadline:
                self._terminate(worker, "timeout", now)
            elif attempt.cancel_by is not None and now >= attempt.cancel_by:
                self._kill(worker, "cancel")
            elif now - worker.last_seen > self._silence_limit(worker):
                self._kill(worker, "silent")

    def _silence_limit(self, worker: _Worker) -> float:
        if worker.ready:
            return self._heartbeat_timeout_s
        return max(self._heartbeat_timeout_s, _STARTUP_TIMEOUT_S)

    def _next_deadline(self) -> float | None:
        times: list[float] = []
        for worker in self._workers:
            if worker.kill_at is not None:
                times.append(worker.kill_at)
            attempt = worker.attempt
            if worker.stopping is not None or (attempt is None and worker.ready):
                continue
            times.append(worker.last_seen + self._silence_limit(worker))
            if attempt is not None:
                times.extend(t for t in (attempt.deadline, attempt.cancel_by) if t is not None)
        return min(times, default=None)

    def _read(self, timeout: float | None) -> None:
        """Handles what the workers sent, and the workers that exited, within `timeout`."""
        by_handle: dict[Any, _Worker] = {}
        for worker in self._workers:
            by_handle[worker.process.sentinel] = worker
            if worker.readable:
                by_handle[worker.connection] = worker
        ready = wait_for_ready(list(by_handle), timeout)
        exited: list[_Worker] = []
        for handle in ready:
            worker = by_handle[handle]
            if handle is worker.connection:
                self._drain(worker)
            elif worker not in exited:
                exited.append(worker)
        for worker in exited:
            self._on_exit(worker)

    def _drain(self, worker: _Worker) -> None:
        connection = worker.connection
        while worker.readable and connection.poll():
            try:
                message = decode_message(connection.recv_bytes())
            except EOFError:
                worker.readable = False  # the worker is exiting; its sentinel reports it
                return
            except (OSError, ValueError):
                self._on_broken(worker)
                return
            try:
                self._on_message(worker, message)
            except _MalformedMessageError:
                self._on_broken(worker)
                return

    def _on_broken(self, worker: _Worker) -> None:
        # Half a message or garbage: the worker cannot be trusted with another task.
        worker.readable = False
        if worker.stopping is None:
            self._kill(worker, "broken")

    def _on_message(self, worker: _Worker, message: Mapping[str, Any]) -> None:
        now = time.monotonic()
        worker.last_seen = now
        kind, attempt = message["kind"], worker.attempt
        if kind == "ready":
            worker.ready = True
            self._assign()
        elif kind == "event":
            event = _parsed(event_from_data, message.get("event"))
            if not _is_own(event, worker):
                raise _MalformedMessageError(f"an event the worker may not send: {event!r}")
            self._emit(event)
        elif kind == "heartbeat":
            task = message.get("task")
            if task is not None:
                task = _parsed(_task_ids, task)
            if attempt is not None and task is not None and _names(attempt.request, *task):
                attempt.cpu_s = float(message.get("cpu_s") or 0.0)
                attempt.peak_rss_mb = message.get("peak_rss_mb")
                key = (attempt.request.run_id, attempt.request.task_id)
                found = self._heartbeats.get(key)
                self._heartbeats[key] = _Heartbeats((found.count if found else 0) + 1, now)
        elif kind == "outcome":
            data = message.get("outcome") or {}
            task = _parsed(_task_ids, data.get("task"))
            if attempt is None or not _names(attempt.request, *task):
                return
            if worker.stopping is None:
                # A worker being stopped is reported when its process is gone.
                request = attempt.request
                self._done.append(_parsed(lambda d: outcome_from_data(d, request), data))
                worker.attempt = None
                self._assign()

    def _on_exit(self, worker: _Worker) -> None:
        if worker.readable:
            self._drain(worker)
        worker.process.join(self._kill_grace_s)
        if worker.process.is_alive():  # the sentinel said otherwise; be sure it is gone
            worker.process.kill()
            worker.process.join()
        exitcode = worker.process.exitcode
        self._workers.remove(worker)
        self._processes.discard(worker.process)
        worker.connection.close()
        worker.process.close()
        if self._closed:
            return
        if worker.attempt is not None:
            self._done.append(self._lost(worker, worker.attempt, exitcode, time.monotonic()))
        elif not worker.ready and self._pending:
            # Each worker that dies while starting fails one queued attempt, so that a
            # code location that crashes its interpreter ends the run instead of looping.
            self._done.append(self._not_started(worker, self._pending.popleft(), exitcode))
        self._assign()

    def _not_started(
        self, worker: _Worker, request: TaskRequest, exitcode: int | None
    ) -> TaskOutcome:
        """The outcome of a queued attempt that a worker died starting up for."""
        how = (
            f"sent nothing for {_STARTUP_TIMEOUT_S:g} s"
            if worker.stopping == "silent"
            else _describe_exit(exitcode)
        )
        message = (
            f"task {request.task_id!r} (attempt {request.attempt}) of run {request.run_id} "
            f"found no worker: a worker process (pid {worker.pid}) {how} while loading the "
            f"code location {self._code_location}. Load it with `arco-flow assets list` to "
            "see the error."
        )
        return TaskOutcome(
            request=request,
            succeeded=False,
            error=ErrorInfo(class_name="WorkerCrashed", message=message, is_user_code=False),
        )

    def _lost(
        self, worker: _Worker, attempt: _Attempt, exitcode: int | None, now: float
    ) -> TaskOutcome:
        """The outcome of an attempt whose worker process is gone."""
        request = attempt.request
        task = f"task {request.task_id!r} (attempt {request.attempt}) of run {request.run_id}"
        usage = TaskUsage(
            wall_s=now - attempt.assigned_at,
            cpu_s=attempt.cpu_s,
            peak_rss_mb=attempt.peak_rss_mb,
        )
        reason = worker.stopping
        if reason == "timeout":
            class_name = "TaskTimeout"
            message = (
                f"{task} ran longer than its timeout of {request.timeout_s:g} s; its worker "
                f"process (pid {worker.pid}) was stopped. Make the asset faster or raise "
                "its timeout."
            )
        elif reason == "cancel":
            return canceled_outcome(
                request,
                f"while it ran; it did not stop within the grace period, so its worker "
                f"process (pid {worker.pid}) was killed",
                usage,
            )
        elif reason == "broken":
            class_name = "WorkerCrashed"
            message = (
                f"the worker process (pid {worker.pid}) running {task} sent a malformed "
                "message, so it was killed. Something in the asset may write to the "
                "worker's pipe; report this if it persists."
            )
        elif reason == "silent":
            class_name = "WorkerCrashed"
            silence = now - worker.last_seen
            message = (
                f"the worker process (pid {worker.pid}) running {task} sent nothing for "
                f"{silence:.1f} s (heartbeat timeout {self._heartbeat_timeout_s:g} s), so it "
                "was killed. Code that holds the GIL for long (some C extensions) stops "
                "heartbeats; raise heartbeat_timeout_s for such assets."
            )
        else:
            class_name = "WorkerCrashed"
            message = (
                f"the worker process (pid {worker.pid}) running {task} "
                f"{_describe_exit(exitcode)} before the task ended. A crash "
                "in native code, running out of memory or os._exit() in the asset ends a "
                "worker; the task can be retried with a retry policy."
            )
        return TaskOutcome(
            request=request,
            succeeded=False,
            error=ErrorInfo(class_name=class_name, message=message, is_user_code=False),
            usage=usage,
        )


class _MalformedMessageError(Exception):
    """A worker sent a message that is not in the protocol."""


def _parsed(parse: Callable[[Any], _T], data: Any) -> _T:
    try:
        return parse(data)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise _MalformedMessageError(f"{type(error).__name__}: {error}") from error


def _task_ids(data: Any) -> tuple[str, str, int]:
    run_id, task_id, attempt = data
    return str(run_id), str(task_id), int(attempt)


_WORKER_EVENTS = (
    TaskStarted,
    AssetMaterialized,
    AssetObserved,
    AssetCheckEvaluated,
    AssetQuarantined,
    LogRecorded,
)


def _is_own(event: Event, worker: _Worker) -> bool:
    """Whether `worker` may report `event`: one of its attempt, or a log of its runs."""
    if not isinstance(event, _WORKER_EVENTS):
        return False
    attempt = worker.attempt
    if event.task_id is None:
        return event.run_id in worker.runs
    return attempt is not None and (event.run_id, event.task_id) == (
        attempt.request.run_id,
        attempt.request.task_id,
    )


def _names(request: TaskRequest, run_id: str, task_id: str | None, attempt: int) -> bool:
    """Whether (run_id, task_id, attempt) names `request`."""
    return (request.run_id, request.task_id, request.attempt) == (run_id, task_id, attempt)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _kill_processes(processes: Iterable[BaseProcess]) -> None:
    """Kills and reaps worker processes still alive; the backstop of `close`."""
    for process in list(processes):
        try:
            if process.is_alive():
                process.kill()
            process.join(5.0)
        except (OSError, ValueError):
            continue  # already closed or reaped
