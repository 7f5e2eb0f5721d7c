"""Rules every backend's queries share: run filters, orders, not-found messages.

Pure. Backends that answer queries in Python (memory) use these directly; SQL backends
express the same rules in SQL, and the conformance suite checks that they agree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from arco_flow.core.errors import NotFoundError, did_you_mean
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    AssetRecord,
    RunRecord,
    RunsFilter,
    TaskRecord,
)

__all__ = [
    "asset_sort_key",
    "check_sort_key",
    "cursor_not_found",
    "partitions_stream",
    "run_stream",
    "run_matches",
    "run_not_found",
    "task_sort_key",
]


def run_matches(run: RunRecord, filters: RunsFilter, asset_run_ids: Collection[str] | None) -> bool:
    """Whether `run` meets every condition of `filters`.

    Args:
        run: The run.
        filters: The conditions.
        asset_run_ids: The ids of the runs that planned or materialized
            `filters.asset_key` (ignored when it is None).
    """
    if filters.run_ids and run.run_id not in filters.run_ids:
        return False
    if filters.statuses and run.status not in filters.statuses:
        return False
    if filters.job_name is not None and run.job_name != filters.job_name:
        return False
    if filters.parent_run_id is not None and run.parent_run_id != filters.parent_run_id:
        return False
    if any(run.tags.get(key) != value for key, value in filters.tags.items()):
        return False
    return filters.asset_key is None or (asset_run_ids is not None and run.run_id in asset_run_ids)


def run_stream(run_id: str) -> str:
    """The stream that holds the events of run `run_id` (as `events.stream_of` names it)."""
    return f"run:{run_id}"


def partitions_stream(partitions_def_name: str) -> str:
    """The stream of a dynamic definition's key changes (as `events.stream_of` names it)."""
    return f"partitions:{partitions_def_name}"


def task_sort_key(task: TaskRecord) -> tuple[bool, int, str]:
    """Tasks of a run list by stage, then task id; tasks the plan did not list come last."""
    return (task.stage is None, task.stage or 0, task.task_id)


def asset_sort_key(record: AssetRecord) -> str:
    """Asset records list by the user string of their key (as SQL text sorts, bytewise)."""
    return record.asset_key.to_user_string()


def check_sort_key(record: AssetCheckEvaluationRecord) -> tuple[str, str, str]:
    """Latest check evaluations list by asset key user string, check name, then partition."""
    return (record.asset_key.to_user_string(), record.check_name, record.partition_key or "")


def run_not_found(
    run_id: str, *, tenant_id: str, workspace_id: str, known_run_ids: Iterable[str]
) -> NotFoundError:
    """The error for a run id that names no run, with the closest known id if any."""
    return NotFoundError(
        f"run {run_id!r} does not exist in workspace {workspace_id!r} of tenant "
        f"{tenant_id!r}.{did_you_mean(run_id, known_run_ids)} "
        "List the runs with `arco-flow runs list`."
    )


def cursor_not_found(cursor: str, *, tenant_id: str, workspace_id: str) -> NotFoundError:
    """The error for a page cursor that names no run."""
    return NotFoundError(
        f"the cursor {cursor!r} names no run in workspace {workspace_id!r} of tenant "
        f"{tenant_id!r}; pass the id of the last run of the previous page, or no cursor "
        "for the first page."
    )
