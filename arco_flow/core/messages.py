"""The dispatch protocol: `TaskRequest`, what a worker is asked to do.

Pure. A request is plain data that crosses processes and machines (DESIGN.md §4): it
names the task, the attempt and the code location, and carries the node's resolved
config and the run's snapshot of the dynamic partition keys the task uses. It never
carries secret values: resources reach secrets by reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_flow.core.events import ErrorInfo, TaskUsage
from arco_flow.core.keys import AssetKey
from arco_flow.core.plan import PlanPartition

__all__ = ["TaskOutcome", "TaskRequest", "request_from_data", "request_to_data"]

REQUEST_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRequest:
    """One attempt of one task, as handed to a worker."""

    run_id: str
    task_id: str
    attempt: int
    """1 for the first attempt."""
    node: str
    asset_keys: tuple[AssetKey, ...]
    partition: PlanPartition | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict)
    """The run's whole plain-dict config; the worker picks its node's part."""
    code_location: str = ""
    """How the worker finds the definitions: a module name, or "" for in-process."""
    timeout_s: float | None = None
    tenant_id: str = "default"
    workspace_id: str = "default"
    job_name: str = "__asset_job"
    tags: Mapping[str, str] = field(default_factory=dict)
    check_names: tuple[str, ...] = ()
    """Asset checks the task evaluates, as ``"asset/key:check_name"`` strings (the task's
    `check_keys`); empty: none (an asset task) or all of its node's (a direct call)."""
    heartbeat_interval_s: float | None = None
    """How often the worker reports that the attempt is alive; the dispatcher's default."""
    trace_context: Mapping[str, str] = field(default_factory=dict)
    """W3C trace context of the run, so that the task's spans join the run's trace."""
    dynamic_partitions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Definition name -> keys: the run's snapshot of each dynamic partitions definition the
    task's assets and inputs use (only those), so that the worker never reads a store."""
    held_asset_keys: tuple[AssetKey, ...] = ()
    """Assets whose value of this run waits in quarantine for standalone blocking checks
    (the task's `held_keys`): an asset task stores them there, a check task reads them."""
    promoted_asset_keys: tuple[AssetKey, ...] = ()
    """The held assets a promotion task moves to their normal location (`promotes`)."""

    @property
    def idempotency_key(self) -> str:
        """Unique per (run, task, attempt): a redelivered request is recognised by it."""
        return f"{self.run_id}/{self.task_id}/{self.attempt}"


def request_to_data(request: TaskRequest) -> dict[str, Any]:
    """The request as plain data (format version 1)."""
    partition = request.partition
    data: dict[str, Any] = {
        "version": REQUEST_FORMAT_VERSION,
        "run_id": request.run_id,
        "task_id": request.task_id,
        "attempt": request.attempt,
        "node": request.node,
        "asset_keys": [list(key.path) for key in request.asset_keys],
        "partition": (
            None
            if partition is None
            else [partition.key, partition.range_start, partition.range_end]
        ),
        "run_config": dict(request.run_config),
        "code_location": request.code_location,
        "timeout_s": request.timeout_s,
        "tenant_id": request.tenant_id,
        "workspace_id": request.workspace_id,
        "job_name": request.job_name,
        "tags": dict(request.tags),
        "check_names": list(request.check_names),
        "heartbeat_interval_s": request.heartbeat_interval_s,
        "trace_context": dict(request.trace_context),
    }
    if request.dynamic_partitions:
        # Left out when empty: unpartitioned and static or time runs send nothing more.
        data["dynamic_partitions"] = {
            name: list(keys) for name, keys in request.dynamic_partitions.items()
        }
    if request.held_asset_keys or request.promoted_asset_keys:
        data["held_asset_keys"] = [list(key.path) for key in request.held_asset_keys]
        data["promoted_asset_keys"] = [list(key.path) for key in request.promoted_asset_keys]
    return data


def request_from_data(data: Mapping[str, Any]) -> TaskRequest:
    """Inverse of `request_to_data`."""
    partition = data.get("partition")
    return TaskRequest(
        run_id=data["run_id"],
        task_id=data["task_id"],
        attempt=data["attempt"],
        node=data["node"],
        asset_keys=tuple(AssetKey(key) for key in data["asset_keys"]),
        partition=(
            None
            if partition is None
            else PlanPartition(key=partition[0], range_start=partition[1], range_end=partition[2])
        ),
        run_config=dict(data.get("run_config", {})),
        code_location=data.get("code_location", ""),
        timeout_s=data.get("timeout_s"),
        tenant_id=data.get("tenant_id", "default"),
        workspace_id=data.get("workspace_id", "default"),
        job_name=data.get("job_name", "__asset_job"),
        tags=dict(data.get("tags", {})),
        check_names=tuple(data.get("check_names", ())),
        heartbeat_interval_s=data.get("heartbeat_interval_s"),
        trace_context=dict(data.get("trace_context", {})),
        dynamic_partitions={
            name: tuple(keys) for name, keys in data.get("dynamic_partitions", {}).items()
        },
        held_asset_keys=tuple(AssetKey(key) for key in data.get("held_asset_keys", ())),
        promoted_asset_keys=tuple(AssetKey(key) for key in data.get("promoted_asset_keys", ())),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOutcome:
    """How one attempt of a task ended, as the worker reports it to the coordinator."""

    request: TaskRequest
    succeeded: bool
    error: ErrorInfo | None = None
    allow_retries: bool = True
    """False when user code raised ``Failure(allow_retries=False)``."""
    retry_requested: tuple[int, float] | None = None
    """(max_retries, seconds_to_wait) when user code raised ``RetryRequested``."""
    usage: TaskUsage | None = None
    failed_blocking_checks: tuple[str, ...] = ()
    """``"asset/key:check_name"`` of each blocking check whose ``ERROR`` result failed in
    this attempt: the coordinator skips the tasks they gate."""
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    """The exception object itself; only set when the worker ran in this process."""
