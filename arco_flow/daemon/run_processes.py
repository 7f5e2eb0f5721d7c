"""`SubprocessRunLauncher`: every run the daemon starts runs in a process of its own.

The daemon's launcher when it has a code location (module or file) and a store on disk:
each run is a ``python -m arco_flow.execution.run_process`` child that loads the code
location itself, so the daemon never imports user code to launch, start, or resume a
run. One launcher plays three parts (each a protocol of its loop):

- `launch` (a `ticks.RunLauncher`): a run a tick requested;
- `start_all` (a `queue.QueuedRunStarter`): the queued runs a pass of the queue loop lets
  go, all spawned before any is waited for;
- `resume` (a `monitor.RunResumer`): a run whose coordinator died;

`launch` and `start_all` return once the child reports the run planned, and give the
error it reports instead (`RunProcessError`, with the child's error as its `info`; a
queued run another process claimed first gives `RunClaimedError`), so a tick whose request
cannot be planned is recorded failed. `resume` returns at once. Each child gets
`plan_timeout_s` from its own spawn to plan.

Invariants: a run id has at most one live child started by this launcher, and `launch`
starts none for a run the store already has. Every child is reaped by a watcher thread
as soon as it exits, so a finished run never looks alive to `coordinator_is_alive`.
Children run in their own session: a Ctrl-C meant for the daemon does not reach them, and
a daemon that dies leaves them running to their end (the monitor then sees their pid as
the run's live coordinator). Each child's output goes to ``<run_id>.log`` in `log_dir`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from arco_flow.core.errors import ArcoError, NotFoundError
from arco_flow.core.events import ErrorInfo, TickRunRequested
from arco_flow.daemon.ticks import orphaned_runs
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_process import (
    RUN_PROCESS_MODULE,
    RunProcessAction,
    RunProcessError,
    RunProcessMessage,
    StoreAddress,
    message_to_data,
    store_address,
)
from arco_flow.execution.run_queue import RunClaimedError
from arco_flow.storage.instance import ArcoInstance

__all__ = ["DEFAULT_PLAN_TIMEOUT_S", "SubprocessRunLauncher", "default_log_dir"]

DEFAULT_PLAN_TIMEOUT_S = 300.0
"""Seconds a run process may take to load the code location and plan its run."""

_LOG = logging.getLogger("arco_flow.daemon.run_processes")


def default_log_dir(address: StoreAddress) -> Path:
    """Where run processes write their output: ``run_logs`` beside the values folder.

    For the embedded store that is ``ARCO_HOME/run_logs``.
    """
    return Path(address.storage_dir).parent / "run_logs"


class _RunProcess:
    """One child: its report (read by a watcher thread, which then reaps it)."""

    def __init__(self, run_id: str, process: subprocess.Popen[bytes], *, log_errors: bool) -> None:
        self.run_id, self.process = run_id, process
        self.spawned_at = time.monotonic()
        self.planned = threading.Event()
        self.report: dict[str, Any] = {}
        self._log_errors = log_errors
        self._watcher = threading.Thread(
            target=self._watch, name=f"arco-run-process-{run_id}", daemon=True
        )

    def start_watching(self) -> None:
        self._watcher.start()

    def is_alive(self) -> bool:
        # The process, not its watcher: the monitor sees the run's coordinator gone as soon
        # as the watcher reaps it, and a resume must then not be taken for a duplicate of a
        # child whose watcher is still finishing (it would be skipped, the resume lost).
        return self.process.returncode is None

    def join(self, timeout: float | None) -> None:
        self._watcher.join(timeout)

    def _watch(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            line = stdout.readline()
        finally:
            stdout.close()
        report = _parse_report(line)
        if not report:
            code = self.process.wait()
            report = {"exit_code": code}
        self.report = report
        self.planned.set()
        if self._log_errors and "error" in report:
            info = ErrorInfo.from_data(report["error"])
            _LOG.error("run %s could not run: %s: %s", self.run_id, info.class_name, info.message)
        code = self.process.wait()  # reaped: no zombie left to look alive
        if code not in (0, None) and "error" not in report:
            _LOG.warning("run %s: its process exited with status %s", self.run_id, code)


def _parse_report(line: bytes) -> dict[str, Any]:
    try:
        report = json.loads(line)
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


class SubprocessRunLauncher:
    """Starts, queues' starts and resumes runs, each in a child process of its own.

    Args:
        instance: Where runs are recorded; it must live on disk (a SQL store).
        code_location: ``{"module"|"file": ..., "attribute"?: ...}``: what children load.
        executor: How launched runs' tasks execute (queued and resumed runs keep theirs).
        log_dir: Where each child writes its output (`default_log_dir` by default).
        plan_timeout_s: How long `launch` and `start` wait for a child to plan its run
            before they kill it and fail.

    Raises:
        ArcoError: the instance has no address another process can open, or the code
            location names neither a module nor a file.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        *,
        code_location: Mapping[str, str],
        executor: Executor = "in_process",
        log_dir: Path | None = None,
        plan_timeout_s: float = DEFAULT_PLAN_TIMEOUT_S,
    ) -> None:
        address = store_address(instance)
        if address is None:
            raise ArcoError(
                f"{instance!r} lives in this process only, so no run process can open it; "
                "use a store on disk (ArcoInstance.get()) or launch runs in threads"
            )
        if not code_location.get("module") and not code_location.get("file"):
            raise ArcoError(
                "run processes need a code location with a module or a file (got "
                f"{dict(code_location)!r}); pass -m MODULE or -f FILE"
            )
        self._instance, self._address = instance, address
        self._code_location, self._executor = dict(code_location), executor
        self._log_dir = log_dir or default_log_dir(address)
        self._plan_timeout_s = plan_timeout_s
        self._lock = threading.Lock()
        self._by_run: dict[str, _RunProcess] = {}
        self._all: list[_RunProcess] = []

    # -- the three parts --------------------------------------------------------------

    def launch(self, request: TickRunRequested) -> None:
        """See `ticks.RunLauncher.launch`: a child plans and runs the requested run.

        Raises:
            RunProcessError: the child could not plan the run (its error is `info`),
                died first, or took longer than the plan timeout.
        """
        if self._run_exists(request.run_id):
            return
        child = self._spawn("launch", request.run_id, request=request.request, log_errors=False)
        if child is not None:
            self._await_planned(child)

    def start(self, run_id: str) -> None:
        """Starts queued run `run_id` in a child; returns once it is planned.

        Raises:
            RunProcessError: the child could not plan it (the run is recorded failed).
            RunClaimedError: another process claimed the run first.
        """
        failures = self.start_all([run_id])
        if run_id in failures:
            raise failures[run_id]

    def start_all(self, run_ids: Sequence[str]) -> dict[str, Exception]:
        """Starts each queued run in a child, all spawned first; returns once all planned.

        See `queue.QueuedRunStarter.start_all`. A run one of ours is still starting is
        skipped (not spawned twice).

        Returns:
            By run id, the `RunProcessError` (or `RunClaimedError`) of each run whose child
            did not plan it.
        """
        failures: dict[str, Exception] = {}
        children: list[_RunProcess] = []
        for run_id in run_ids:
            try:
                child = self._spawn("start_queued", run_id, log_errors=False)
            except OSError as error:  # no process: the run stays QUEUED for the next pass
                failures[run_id] = RunProcessError(
                    f"run {run_id}'s process could not be started: {error}"
                )
                continue
            if child is not None:
                children.append(child)
        for child in children:
            try:
                self._await_planned(child)
            except ArcoError as error:
                failures[child.run_id] = error
        return failures

    def resume(self, run_id: str) -> None:
        """Resumes run `run_id` in a child; returns at once (a failure is logged)."""
        self._spawn("resume", run_id, log_errors=True)

    def resume_orphaned(self, tag_keys: Sequence[str]) -> list[str]:
        """Resumes, each in a child, the runs a dead daemon launched and left unfinished.

        Which runs count: see `ticks.orphaned_runs`.

        Returns:
            The ids of the runs resumed.
        """
        resumed = orphaned_runs(self._instance, tag_keys)
        for run_id in resumed:
            self.resume(run_id)
        return resumed

    # -- bookkeeping ------------------------------------------------------------------

    def in_flight(self) -> set[str]:
        """The run ids whose child this launcher started and that has not exited."""
        with self._lock:
            return {run_id for run_id, child in self._by_run.items() if child.is_alive()}

    def pids(self) -> dict[str, int]:
        """The process id of each run's live child, by run id."""
        with self._lock:
            return {r: c.process.pid for r, c in self._by_run.items() if c.is_alive()}

    def running(self) -> int:
        """How many children have not exited."""
        return len(self.in_flight())

    def wait(self, timeout: float | None = None) -> None:
        """Waits for every child to exit (each for at most `timeout` seconds)."""
        with self._lock:
            children = list(self._all)
        for child in children:
            child.join(timeout)

    def _run_exists(self, run_id: str) -> bool:
        try:
            self._instance.get_run(run_id)
        except NotFoundError:
            return False
        return True

    def _spawn(
        self,
        action: RunProcessAction,
        run_id: str,
        *,
        request: Mapping[str, Any] | None = None,
        log_errors: bool,
    ) -> _RunProcess | None:
        """Starts the child for `run_id`, unless one of ours is still at it (then None)."""
        message = RunProcessMessage(
            action=action,
            run_id=run_id,
            store=self._address,
            code_location=self._code_location,
            executor=self._executor,
            request=dict(request or {}),
            sys_path=tuple(sys.path),
        )
        payload = json.dumps(message_to_data(message)).encode("utf-8")
        with self._lock:
            under_way = self._by_run.get(run_id)
            if under_way is not None and under_way.is_alive():
                return None
            self._all = [child for child in self._all if child.is_alive()]
            self._by_run = {r: c for r, c in self._by_run.items() if c.is_alive()}
            child = _RunProcess(run_id, self._popen(run_id), log_errors=log_errors)
            self._by_run[run_id] = child
            self._all.append(child)
        child.start_watching()
        stdin = child.process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at once: its watcher says how
            stdin.write(payload)
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
        return child

    def _popen(self, run_id: str) -> subprocess.Popen[bytes]:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        with (self._log_dir / f"{run_id}.log").open("ab") as log:
            # The child keeps its own copy of the log's descriptor; ours closes here.
            return subprocess.Popen(  # noqa: S603  # our own module, by this interpreter
                [sys.executable, "-m", RUN_PROCESS_MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )

    def _await_planned(self, child: _RunProcess) -> None:
        left = child.spawned_at + self._plan_timeout_s - time.monotonic()
        if not child.planned.wait(max(left, 0.0)):
            child.process.kill()
            raise RunProcessError(
                f"run {child.run_id}'s process did not plan it within "
                f"{self._plan_timeout_s:g}s and was killed; make loading the code location "
                "faster, or raise the daemon's plan timeout"
            )
        report = child.report
        if report.get("planned"):
            return
        if "error" in report:
            info = ErrorInfo.from_data(report["error"])
            if info.class_name == RunClaimedError.__name__:
                raise RunClaimedError(info.message)
            raise RunProcessError(
                f"run {child.run_id} could not be launched: {info.class_name}: {info.message}",
                info,
            )
        raise RunProcessError(
            f"run {child.run_id}'s process exited (status {report.get('exit_code')}) before "
            f"planning it; see {self._log_dir / (child.run_id + '.log')}"
        )
