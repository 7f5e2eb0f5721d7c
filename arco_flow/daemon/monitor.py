"""Run monitoring: every run that has not ended gets to an end.

Each pass of `RunMonitor` looks at the runs that have started and not ended:

- a run whose coordinator process is gone is resumed up to `max_resumes` times, then
  failed with an error that says so; a CANCELING one is canceled. The monitor's
  `RunResumer` carries the resume out: `SubprocessRunLauncher` (`daemon.run_processes`) in
  a process of its own, `ThreadRunResumer` in a thread of this process;
- a run past its deadline (tag ``arco/max_runtime_s``, else the monitor's default) is
  asked to cancel, then failed once `grace_s` more seconds pass without it stopping;
- a run canceled while still QUEUED is ended CANCELED.

Each action is recorded on the run as a `RunMonitorActed` (with its reason) before it is
carried out, so the log says what the monitor did and a later pass counts its resumes.
The coordinator of this process counts as alive: runs this daemon runs are its own; so
does a run its resumer still has under way.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from arco_flow.core.errors import ConfigError
from arco_flow.core.events import (
    ErrorInfo,
    Event,
    NewEvent,
    RunCanceled,
    RunCancelRequested,
    RunFailed,
    RunMonitorActed,
    idempotency_key,
)
from arco_flow.execution.run_operations import Loader, coordinator_is_alive, resume_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus

__all__ = [
    "DEFAULT_CANCEL_GRACE_S",
    "MAX_RUNTIME_TAG",
    "RunMonitor",
    "RunResumer",
    "ThreadRunResumer",
    "run_deadline_s",
]

MAX_RUNTIME_TAG = "arco/max_runtime_s"
"""Seconds a run may take from its start before the monitor cancels it."""
DEFAULT_CANCEL_GRACE_S = 60.0
"""Seconds a run past its deadline gets to stop after the cancel request, before failing."""

_LOG = logging.getLogger("arco_flow.daemon.monitor")


class MonitorError(ConfigError):
    """The monitor ended a run (the class name recorded in its `RunFailed`)."""


def run_deadline_s(tags: Mapping[str, str], default: float | None) -> float | None:
    """The run's maximum runtime in seconds (None: no deadline).

    Raises:
        ConfigError: the tag is not a positive number.
    """
    value = tags.get(MAX_RUNTIME_TAG)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise ConfigError(f"tag {MAX_RUNTIME_TAG}={value!r} is not a positive number of seconds")
    return seconds


def _is_ours(coordinator: Mapping[str, Any]) -> bool:
    return coordinator.get("pid") == os.getpid() and coordinator.get("host") == socket.gethostname()


class RunResumer(Protocol):
    """Carries runs whose coordinator died to their end."""

    def resume(self, run_id: str) -> None:
        """Starts resuming `run_id`; returns without waiting for it (failures are logged)."""
        ...

    def in_flight(self) -> set[str]:
        """The runs this resumer has under way (started here, not ended)."""
        ...

    def wait(self, timeout: float | None = None) -> None:
        """Waits for the runs it resumed to end (each at most `timeout` seconds)."""
        ...


class ThreadRunResumer:
    """Resumes each run in a thread of this process (a `RunResumer`).

    For definitions built in a Python process, and tests; the daemon on a code location
    uses `SubprocessRunLauncher`.

    Args:
        instance: Where runs are recorded.
        loader: Loads a run's definitions from its recorded code location.
    """

    def __init__(self, instance: ArcoInstance, *, loader: Loader) -> None:
        self._instance, self._loader = instance, loader
        self._lock = threading.Lock()
        self._resuming: dict[str, threading.Thread] = {}

    def resume(self, run_id: str) -> None:
        """See `RunResumer.resume`."""

        def run() -> None:
            try:
                resume_run(self._instance, run_id, force=True, loader=self._loader)
            except Exception:  # noqa: BLE001  # the next pass sees the run's state
                _LOG.exception("resuming run %s failed", run_id)

        thread = threading.Thread(target=run, name=f"arco-monitor-resume-{run_id}", daemon=True)
        with self._lock:
            self._resuming = {r: t for r, t in self._resuming.items() if t.is_alive()}
            self._resuming[run_id] = thread
        thread.start()

    def in_flight(self) -> set[str]:
        """See `RunResumer.in_flight`."""
        with self._lock:
            return {run_id for run_id, thread in self._resuming.items() if thread.is_alive()}

    def wait(self, timeout: float | None = None) -> None:
        """See `RunResumer.wait`."""
        with self._lock:
            threads = list(self._resuming.values())
        for thread in threads:
            thread.join(timeout)


class RunMonitor:
    """Resumes or fails runs whose coordinator died, and ends runs past their deadline.

    Args:
        instance: Where runs are recorded.
        resumer: Resumes a run (in a process of its own, or a thread).
        max_resumes: How many times the monitor resumes a run before failing it instead.
        default_max_runtime_s: The deadline of a run without the tag (None: none).
        grace_s: Seconds between the cancel request and failing a run past its deadline.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        *,
        resumer: RunResumer,
        max_resumes: int = 1,
        default_max_runtime_s: float | None = None,
        grace_s: float = DEFAULT_CANCEL_GRACE_S,
    ) -> None:
        self._instance, self._resumer = instance, resumer
        self._max_resumes, self._default = max_resumes, default_max_runtime_s
        self._grace_s = grace_s

    def tick(self, now: float) -> list[str]:
        """One pass; returns the ids of the runs acted on."""
        busy = self._resumer.in_flight()
        acted: list[str] = []
        active = (RunStatus.STARTED, RunStatus.CANCELING)
        for run in self._instance.get_runs(statuses=active):
            if run.run_id in busy:
                continue
            if self._check(run, now):
                acted.append(run.run_id)
        return acted

    def _check(self, run: RunRecord, now: float) -> bool:
        if not run.plan_id:  # canceled while queued: no coordinator will end it
            self._record(
                run.run_id, "cancel", "canceled while queued", RunCanceled(run_id=run.run_id)
            )
            return True
        if self._past_deadline(run, now):
            return True
        if _is_ours(run.coordinator) or coordinator_is_alive(run.coordinator):
            return False
        if run.status is RunStatus.CANCELING:
            reason = "its coordinator stopped while it was being canceled"
            self._record(run.run_id, "cancel", reason, RunCanceled(run_id=run.run_id))
            return True
        resumes = self._count(run.run_id, "resume")
        if resumes < self._max_resumes:
            reason = f"its coordinator {dict(run.coordinator)} is gone; resume {resumes + 1}"
            self._record(run.run_id, "resume", reason)
            self._resumer.resume(run.run_id)
        else:
            reason = (
                f"its coordinator {dict(run.coordinator)} is gone and the monitor already "
                f"resumed it {resumes} time(s); re-execute it with "
                f"`arco-flow runs reexecute {run.run_id} --from-failure`"
            )
            self._fail(run.run_id, reason)
        return True

    def _past_deadline(self, run: RunRecord, now: float) -> bool:
        try:
            deadline = run_deadline_s(run.tags, self._default)
        except ConfigError as error:
            _LOG.warning("run %s: %s", run.run_id, error)
            deadline = self._default
        if deadline is None or run.started_time is None:
            return False
        if now < run.started_time + deadline:
            return False
        requests = self._instance.all_logs(run.run_id, event_types=[RunCancelRequested.EVENT_TYPE])
        if not requests:
            reason = f"it ran past its deadline of {deadline:g}s"
            count = 0
            cancel = RunCancelRequested(run_id=run.run_id, reason=reason)
            self._append(
                [
                    _new(
                        RunMonitorActed(run_id=run.run_id, action="cancel", reason=reason),
                        self._count_all(run.run_id),
                    ),
                    _new(cancel, count),
                ]
            )
            return True
        if now >= requests[0].timestamp + self._grace_s:
            reason = (
                f"it ran past its deadline of {deadline:g}s and did not stop within "
                f"{self._grace_s:g}s of the cancel request; raise tag {MAX_RUNTIME_TAG} if it "
                "needs longer"
            )
            self._fail(run.run_id, reason)
            return True
        return False

    def _fail(self, run_id: str, reason: str) -> None:
        error = ErrorInfo.from_exception(
            MonitorError(f"run {run_id} failed: {reason}"), is_user_code=False
        )
        self._record(run_id, "fail", reason, RunFailed(run_id=run_id, error=error))

    def _record(self, run_id: str, action: str, reason: str, then: Event | None = None) -> None:
        _LOG.warning("run %s: %s (%s)", run_id, action, reason)
        acted = RunMonitorActed(run_id=run_id, action=action, reason=reason)
        events = [_new(acted, self._count_all(run_id))]
        if then is not None:
            events.append(_new(then, 0))
        self._append(events)

    def _append(self, events: list[NewEvent]) -> None:
        self._instance.append(events)

    def _count_all(self, run_id: str) -> int:
        return len(self._instance.all_logs(run_id, event_types=[RunMonitorActed.EVENT_TYPE]))

    def _count(self, run_id: str, action: str) -> int:
        records = self._instance.all_logs(run_id, event_types=[RunMonitorActed.EVENT_TYPE])
        return sum(
            1 for r in records if isinstance(r.event, RunMonitorActed) and r.event.action == action
        )

    def wait(self, timeout: float | None = None) -> None:
        """Waits for the runs this monitor resumed (each at most `timeout` seconds)."""
        self._resumer.wait(timeout)


def _new(event: Event, ordinal: int) -> NewEvent:
    return NewEvent(event=event, idempotency_key=idempotency_key(event, ordinal), actor="monitor")
