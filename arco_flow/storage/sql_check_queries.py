"""The read side of the SQL store for asset checks: latest evaluations, history, a run's.

Each function takes a connection and returns records; none writes. Every query filters by
tenant and workspace first (they lead every index), and lists in the order the memory
store does (`query_rules.check_sort_key`, or event ids).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select

from arco_flow.core.keys import AssetKey
from arco_flow.storage import schema
from arco_flow.storage.query_rules import check_sort_key
from arco_flow.storage.records import AssetCheckEvaluationRecord
from arco_flow.storage.rows import check_evaluation_from_row
from arco_flow.storage.sql_queries import in_scope

__all__ = ["check_evaluation_history", "latest_check_evaluations", "run_check_evaluations"]

_history = schema.asset_check_evaluations
_latest = schema.latest_asset_check_evaluations


def _evaluations(connection: Connection, query: Select[Any]) -> list[AssetCheckEvaluationRecord]:
    return [check_evaluation_from_row(row._mapping) for row in connection.execute(query)]


def latest_check_evaluations(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    *,
    asset_key: AssetKey | None,
    check_name: str | None,
    per_partition: bool,
) -> list[AssetCheckEvaluationRecord]:
    """The newest evaluation of each check (or of each check's partition), sorted."""
    conditions = [in_scope(_latest, tenant_id, workspace_id)]
    if asset_key is not None:
        conditions.append(_latest.c.asset_key == asset_key.to_user_string())
    if check_name is not None:
        conditions.append(_latest.c.check_name == check_name)
    if per_partition:
        newest = select(_latest.c.event_id).where(*conditions)
    else:
        # Event ids grow with time, so the newest of a check's partitions has the largest.
        newest = (
            select(func.max(_latest.c.event_id))
            .where(*conditions)
            .group_by(_latest.c.asset_key, _latest.c.check_name)
        )
    query = select(_history).where(_history.c.event_id.in_(newest.scalar_subquery()))
    return sorted(_evaluations(connection, query), key=check_sort_key)


def check_evaluation_history(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_key: AssetKey,
    check_name: str,
    *,
    partition_key: str | None,
    before_event_id: int | None,
    limit: int | None,
) -> list[AssetCheckEvaluationRecord]:
    """Evaluations of one check, newest first."""
    query = select(_history).where(
        in_scope(_history, tenant_id, workspace_id),
        _history.c.asset_key == asset_key.to_user_string(),
        _history.c.check_name == check_name,
    )
    if partition_key is not None:
        query = query.where(_history.c.partition_key == partition_key)
    if before_event_id is not None:
        query = query.where(_history.c.event_id < before_event_id)
    return _evaluations(connection, query.order_by(_history.c.event_id.desc()).limit(limit))


def run_check_evaluations(
    connection: Connection, tenant_id: str, workspace_id: str, run_id: str
) -> list[AssetCheckEvaluationRecord]:
    """The check evaluations of a run, in event id order."""
    query = (
        select(_history)
        .where(in_scope(_history, tenant_id, workspace_id), _history.c.run_id == run_id)
        .order_by(_history.c.event_id)
    )
    return _evaluations(connection, query)
