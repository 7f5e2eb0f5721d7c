"""The run queue: submit a run now, launch it later, by priority and under limits.

`submit_run` records a `RunQueued` (the run shows as QUEUED); the daemon's queue loop
(`arco_flow.daemon.queue`) calls `queue_decisions` and launches what it may with
`launch_queued_run`, whose `RunStarted` reuses the queued run id. `queue_decisions` is
pure: the launch order (tag ``arco/priority``, higher first, FIFO within a priority; a
backfill's runs default to a lower priority), and for each run whether it launches now or
why it waits (the global limit of running runs, a tag limit, runs ahead of it).

Invariant: a queued run is started at most once, and the log, not timing, decides it.
`launch_queued_run` first takes a claim (`claim_queued_run`): a `RunClaimed` numbered
along the run's stream, whose idempotency key is that number, so of two processes racing
to start one run the log keeps one claim and the other process gives up. The claim is
taken by the process that plans and coordinates the run (a run process, or the daemon
for runs started in its threads), so it outlives a daemon that dies after spawning it.

The rule that releases a claim: a claim holds while its claimer process lives (on the
claimer's host, by its pid, as the run monitor judges a run's coordinator). A run whose
claimer died before recording `RunStarted` is QUEUED again for every purpose: the next
claim (the next number) is taken by whoever starts it next. There is no timeout, so a
live but slow claimer (a code location that takes long to load) is never started over;
the daemon's run process launcher kills a child that does not plan within its plan
timeout, which releases its claim.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import ArcoError, ConfigError
from arco_flow.core.events import (
    DaemonQueueLimitsSet,
    ErrorInfo,
    NewEvent,
    RunCanceled,
    RunClaimed,
    RunFailed,
    RunQueued,
    idempotency_key,
)
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.execution.coordinator import RunOutcome
from arco_flow.execution.launcher import Executor, PreparedRun
from arco_flow.execution.run_operations import (
    Loader,
    coordinator_is_alive,
    launch_into_instance,
    load_code_location,
)
from arco_flow.sdk.jobs import JobDefinition
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionKeyRange

__all__ = [
    "BACKFILL_DEFAULT_PRIORITY",
    "BACKFILL_TAG",
    "PRIORITY_TAG",
    "QueueDecision",
    "QueueLimits",
    "RunClaimedError",
    "TagLimit",
    "cancel_queued_run",
    "record_queue_limits",
    "recorded_queue_limits",
    "tag_limit_text",
    "claim_is_held",
    "claim_queued_run",
    "launch_queued_run",
    "parse_tag_limit",
    "queue_decisions",
    "run_priority",
    "submit_named_run",
    "submit_run",
]

PRIORITY_TAG = "arco/priority"
"""An integer; higher launches first; 0 by default."""
BACKFILL_TAG = "arco/backfill"
"""Carried by a backfill's runs (the same name as `arco_flow.daemon.backfills.BACKFILL_TAG`)."""
BACKFILL_DEFAULT_PRIORITY = -1
"""The priority of a backfill's run without a priority tag: below scheduled runs."""


def run_priority(tags: Mapping[str, str]) -> int:
    """A run's queue priority from its tags.

    Raises:
        ConfigError: the priority tag is not an integer.
    """
    value = tags.get(PRIORITY_TAG)
    if value is None:
        return BACKFILL_DEFAULT_PRIORITY if BACKFILL_TAG in tags else 0
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"tag {PRIORITY_TAG}={value!r} is not an integer; use e.g. {PRIORITY_TAG}=10"
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class TagLimit:
    """At most `limit` running runs with tag `key` = `value`; with no value, per value of `key`."""

    key: str
    value: str | None = None
    limit: int

    def __post_init__(self) -> None:
        if not self.key:
            raise ConfigError("a tag limit needs a tag key, e.g. team=ml:2 or team:2")
        if self.limit < 0:
            raise ConfigError(f"tag limit on {self.key!r} is {self.limit}; give 0 or more")

    def applies_to(self, tags: Mapping[str, str]) -> bool:
        """Whether a run with `tags` counts against this limit."""
        if self.key not in tags:
            return False
        return self.value is None or tags[self.key] == self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueLimits:
    """How many runs may run at once: in all (None: no limit) and per tag."""

    max_concurrent_runs: int | None = None
    tag_limits: tuple[TagLimit, ...] = ()

    def __post_init__(self) -> None:
        if self.max_concurrent_runs is not None and self.max_concurrent_runs < 0:
            raise ConfigError(f"max concurrent runs is {self.max_concurrent_runs}; give 0 or more")


def tag_limit_text(limit: TagLimit) -> str:
    """The text form of `limit`, as `parse_tag_limit` reads it."""
    where = limit.key if limit.value is None else f"{limit.key}={limit.value}"
    return f"{where}:{limit.limit}"


def record_queue_limits(
    instance: ArcoInstance, limits: QueueLimits, *, lease_name: str, daemon_id: str
) -> None:
    """Records the limits the daemon `daemon_id` runs its queue under."""
    event = DaemonQueueLimitsSet(
        lease_name=lease_name,
        daemon_id=daemon_id,
        max_concurrent_runs=limits.max_concurrent_runs,
        tag_limits=tuple(tag_limit_text(limit) for limit in limits.tag_limits),
    )
    instance.append([NewEvent(event=event, idempotency_key=idempotency_key(event))])


def recorded_queue_limits(
    instance: ArcoInstance, lease_name: str = "default"
) -> QueueLimits | None:
    """The limits the latest daemon recorded (None: no daemon recorded any)."""
    stream = f"daemon:{lease_name}"
    found = instance.storage.latest_sequences(
        stream,
        event_types=[DaemonQueueLimitsSet.EVENT_TYPE],
        limit=1,
        tenant_id=instance.tenant_id,
        workspace_id=instance.workspace_id,
    )
    if not found:
        return None
    [record] = instance.storage.read_stream(
        stream,
        after_sequence=found[0] - 1,
        limit=1,
        tenant_id=instance.tenant_id,
        workspace_id=instance.workspace_id,
    )
    event = record.event
    assert isinstance(event, DaemonQueueLimitsSet)
    return QueueLimits(
        max_concurrent_runs=event.max_concurrent_runs,
        tag_limits=tuple(parse_tag_limit(text) for text in event.tag_limits),
    )


def parse_tag_limit(text: str) -> TagLimit:
    """``key=value:N`` (runs with that tag) or ``key:N`` (per distinct value of the key).

    Raises:
        ConfigError: the text is not in one of those forms.
    """
    where, sep, count = text.rpartition(":")
    key, has_value, value = where.partition("=")
    if not sep or not key or not count.strip().isdigit():
        raise ConfigError(
            f"tag limit {text!r} is not KEY=VALUE:N or KEY:N, e.g. team=ml:2 or team:2"
        )
    return TagLimit(key=key, value=value if has_value else None, limit=int(count))


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueDecision:
    """What the queue does with one queued run this pass."""

    run_id: str
    priority: int
    launch: bool
    reason: str
    """Why it waits (empty when it launches)."""


def queue_decisions(
    queued: Sequence[RunRecord], running: Sequence[RunRecord], limits: QueueLimits
) -> list[QueueDecision]:
    """The queued runs in launch order, each launched now or waiting, and why.

    Runs launched earlier in the same pass count as running for the runs after them.
    A run blocked by a tag limit does not block a later run that the limit does not
    cover.
    """
    ordered = sorted(queued, key=lambda run: (-run_priority(run.tags), run.created_event_id))
    running_tags = [dict(run.tags) for run in running]
    started_here: list[int] = []  # priorities of the runs launched in this pass
    decisions: list[QueueDecision] = []
    for run in ordered:
        priority = run_priority(run.tags)
        reason = _wait_reason(run.tags, running_tags, limits, priority, started_here)
        if not reason:
            running_tags.append(dict(run.tags))
            started_here.append(priority)
        decisions.append(
            QueueDecision(run_id=run.run_id, priority=priority, launch=not reason, reason=reason)
        )
    return decisions


def _wait_reason(
    tags: Mapping[str, str],
    running_tags: Sequence[Mapping[str, str]],
    limits: QueueLimits,
    priority: int,
    started_here: Sequence[int],
) -> str:
    limit = limits.max_concurrent_runs
    if limit is not None and len(running_tags) >= limit:
        text = f"global limit {len(running_tags)}/{limit} running"
        if started_here:
            higher = sum(1 for other in started_here if other > priority)
            ahead = f"{len(started_here)} run(s) launching now"
            if higher:
                ahead += f", {higher} of higher priority"
            return f"behind {ahead}; {text}"
        return text
    for tag_limit in limits.tag_limits:
        if not tag_limit.applies_to(tags):
            continue
        value = tags[tag_limit.key]
        count = sum(1 for other in running_tags if other.get(tag_limit.key) == value)
        if count >= tag_limit.limit:
            scope = "" if tag_limit.value is not None else f" (per value of {tag_limit.key})"
            return f"tag {tag_limit.key}={value} at limit {count}/{tag_limit.limit}{scope}"
    return ""


def _selection_strings(selection: Sequence[Any] | None) -> tuple[str, ...] | None:
    if selection is None:
        return None
    if isinstance(selection, str):
        raise ArcoError(
            "a queued run's asset_selection is a list of asset keys, not a selection string; "
            "resolve the selection first"
        )
    strings: list[str] = []
    for item in selection:
        if isinstance(item, AssetCheckKey):
            strings.append("check:" + item.to_user_string())
        elif isinstance(item, str):
            strings.append(AssetKey.from_user_string(item).to_user_string())
        else:
            strings.append(AssetKey.from_coercible(item).to_user_string())
    return tuple(strings)


def _selection_keys(strings: Sequence[str] | None) -> list[AssetKey | AssetCheckKey] | None:
    if strings is None:
        return None
    return [
        AssetCheckKey.from_user_string(text[len("check:") :])
        if text.startswith("check:")
        else AssetKey.from_user_string(text)
        for text in strings
    ]


def submit_run(
    job: JobDefinition,
    instance: ArcoInstance,
    *,
    run_id: str,
    code_location: Mapping[str, str] | None,
    executor: Executor = "in_process",
    run_config: Mapping[str, Any] | None = None,
    asset_selection: Sequence[Any] | None = None,
    tags: Mapping[str, str] | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    max_concurrent: int | None = None,
    parent_run_id: str | None = None,
) -> RunRecord:
    """Queues a run of `job`: recorded now as QUEUED, launched by the daemon's queue loop.

    Submitting a run id twice records it once (the second returns the first).

    Raises:
        ConfigError: the priority tag is not an integer.
    """
    return submit_named_run(
        instance,
        job.name,
        job_tags=job.tags,
        run_id=run_id,
        code_location=code_location,
        executor=executor,
        run_config=run_config,
        asset_selection=asset_selection,
        tags=tags,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        max_concurrent=max_concurrent,
        parent_run_id=parent_run_id,
    )


def submit_named_run(
    instance: ArcoInstance,
    job_name: str,
    *,
    job_tags: Mapping[str, str] | None = None,
    run_id: str,
    code_location: Mapping[str, str] | None,
    executor: Executor = "in_process",
    run_config: Mapping[str, Any] | None = None,
    asset_selection: Sequence[Any] | None = None,
    tags: Mapping[str, str] | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    max_concurrent: int | None = None,
    parent_run_id: str | None = None,
) -> RunRecord:
    """Queues a run of the job named `job_name`, without its definitions at hand.

    What `submit_run` does, for a process that knows the job only by name and tags (from
    a manifest): the job is resolved when the queue loop starts the run, so an unknown
    name fails the run then.

    Args:
        instance: Where the run is recorded.
        job_name: The job to run.
        job_tags: The job's own tags (a run's tags are added over them).
        run_id: The run's id; submitting it twice records it once.
        code_location: Where the queue loop loads the job from.
        executor: How the run's tasks will execute.
        run_config: The run's config.
        asset_selection: Asset (or check) keys to run, instead of the whole job.
        tags: The run's tags.
        partition_key: The partition the run covers.
        partition_key_range: The partitions the run covers.
        max_concurrent: Tasks running at once.
        parent_run_id: The run this one re-executes.

    Returns:
        The run's record (the first one's, when the id was submitted before).

    Raises:
        ConfigError: the priority tag is not an integer.
    """
    run_tags = {**(job_tags or {}), **(tags or {})}
    run_priority(run_tags)
    event = RunQueued(
        run_id=run_id,
        job_name=job_name,
        tags=run_tags,
        asset_selection=_selection_strings(asset_selection),
        partition_key=partition_key,
        partition_range_start=partition_key_range.start if partition_key_range else None,
        partition_range_end=partition_key_range.end if partition_key_range else None,
        run_config=dict(run_config or {}),
        code_location=dict(code_location or {}),
        executor=executor,
        max_concurrent=max_concurrent,
        parent_run_id=parent_run_id,
    )
    instance.append([NewEvent(event=event, idempotency_key=idempotency_key(event))])
    return instance.get_run(run_id)


def _queued_event(instance: ArcoInstance, run_id: str) -> RunQueued:
    for record in instance.all_logs(run_id, event_types=[RunQueued.EVENT_TYPE]):
        if isinstance(record.event, RunQueued):
            return record.event
    raise ArcoError(f"run {run_id} was not submitted to the queue; nothing to launch")


def launch_queued_run(
    instance: ArcoInstance,
    run_id: str,
    *,
    loader: Loader = load_code_location,
    on_planned: Callable[[PreparedRun], None] | None = None,
) -> RunOutcome:
    """Plans and runs a queued run under its queued id, until it ends.

    The run is claimed first (`claim_queued_run`), so it is started once whoever races.

    Raises:
        ArcoError: the run is not queued, or cannot be planned (its `RunFailed` says
            why: the run does not stay QUEUED).
        RunClaimedError: another process holds the run's claim, or won it (the run is
            left as it is).
    """
    run = instance.get_run(run_id)
    if run.status is not RunStatus.QUEUED:
        raise ArcoError(f"run {run_id} is {run.status.value}, not QUEUED; nothing to launch")
    queued = _queued_event(instance, run_id)
    claim_queued_run(instance, run_id)
    executor: Executor = "process_pool" if queued.executor == "process_pool" else "in_process"
    try:
        job = loader(queued.code_location).resolve_job_def(queued.job_name)
        partition_range = None
        if queued.partition_range_start is not None and queued.partition_range_end is not None:
            from arco_flow.core.partitions import PartitionKeyRange

            partition_range = PartitionKeyRange(
                queued.partition_range_start, queued.partition_range_end
            )
        return launch_into_instance(
            job,
            instance,
            code_location=dict(queued.code_location) or None,
            executor=executor,
            run_config=dict(queued.run_config) or None,
            asset_selection=_selection_keys(queued.asset_selection),
            max_concurrent=queued.max_concurrent,
            tags=dict(queued.tags),
            parent_run_id=queued.parent_run_id,
            run_id=run_id,
            on_planned=on_planned,
            partition_key=queued.partition_key,
            partition_key_range=partition_range,
        )
    except Exception as error:
        if instance.get_run(run_id).plan_id == "":  # it never started: fail it, not hang
            failed = RunFailed(
                run_id=run_id, error=ErrorInfo.from_exception(error, is_user_code=False)
            )
            instance.append([NewEvent(event=failed, idempotency_key=idempotency_key(failed))])
        raise


class RunClaimedError(ArcoError):
    """A queued run could not be claimed: another process holds it, or already started it."""


_PROCESS_TOKEN = uuid.uuid4().hex
"""Tells this process apart from an earlier one with the same pid (a restarted container)."""


def _this_process() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "process": _PROCESS_TOKEN}


def claim_is_held(claimer: Mapping[str, Any]) -> bool:
    """Whether the process that claimed a queued run (its record's coordinator) still lives.

    An empty mapping (never claimed) is not held. A claim of this very process holds; one
    made by an earlier process that had this pid does not; any other holds while its pid
    runs on this host (`coordinator_is_alive`, the monitor's rule).
    """
    if not claimer:
        return False
    if claimer.get("host") == socket.gethostname() and claimer.get("pid") == os.getpid():
        return claimer.get("process") == _PROCESS_TOKEN
    return coordinator_is_alive(claimer)


def _claims(instance: ArcoInstance, run_id: str) -> list[RunClaimed]:
    records = instance.all_logs(run_id, event_types=[RunClaimed.EVENT_TYPE])
    return [record.event for record in records if isinstance(record.event, RunClaimed)]


def claim_queued_run(instance: ArcoInstance, run_id: str) -> RunClaimed:
    """Claims queued run `run_id` for this process, which alone may then start it.

    The claim is refused when the run is no longer queued, when the holder of its last
    claim still lives (see the module docstring), or when another process appended the
    same claim number first: the log keeps one claim per number.

    Returns:
        The claim this process now holds.

    Raises:
        NotFoundError: no such run.
        RunClaimedError: the claim was refused; the message names the holder.
    """
    _check_not_started(instance.get_run(run_id))
    claims = _claims(instance, run_id)
    if claims and claim_is_held(claims[-1].claimer):
        raise RunClaimedError(
            f"queued run {run_id} is being started by process {_holder(claims[-1])}; "
            "it is not started twice"
        )
    claim = RunClaimed(run_id=run_id, claim_id=uuid.uuid4().hex, claimer=_this_process())
    (record,) = instance.append(
        [NewEvent(event=claim, idempotency_key=idempotency_key(claim, len(claims)))]
    )
    kept = record.event
    if not isinstance(kept, RunClaimed) or kept.claim_id != claim.claim_id:
        holder = _holder(kept) if isinstance(kept, RunClaimed) else "another"
        raise RunClaimedError(
            f"queued run {run_id} was claimed first by process {holder}; it is not started twice"
        )
    # Read again after the claim: the holder of an earlier claim may have started the run
    # before it died, after the check above.
    _check_not_started(instance.get_run(run_id))
    return claim


def _check_not_started(run: RunRecord) -> None:
    if run.status is not RunStatus.QUEUED or run.plan_id:
        raise RunClaimedError(
            f"run {run.run_id} is {run.status.value} and was started already; nothing to launch"
        )


def _holder(claim: RunClaimed) -> str:
    return f"{claim.claimer.get('pid')} on {claim.claimer.get('host')}"


def cancel_queued_run(instance: ArcoInstance, run_id: str, reason: str = "") -> RunRecord:
    """Cancels a run; a QUEUED one ends CANCELED at once, a started one is asked to stop.

    A QUEUED run that a live process has claimed is being started (its `RunStarted` may
    not be recorded yet): it is asked to stop, like a started one.

    Raises:
        NotFoundError: no such run.
        ArcoError: the run already ended.
    """
    run = instance.get_run(run_id)
    if run.status.is_finished:
        raise ArcoError(f"run {run_id} already ended ({run.status.value}); nothing to cancel")
    instance.request_cancel(run_id, reason=reason)
    if run.plan_id == "" and not claim_is_held(run.coordinator):
        canceled = RunCanceled(run_id=run_id)
        instance.append([NewEvent(event=canceled, idempotency_key=idempotency_key(canceled))])
    return instance.get_run(run_id)
