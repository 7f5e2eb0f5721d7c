"""The read side of the instigator projections in SQL.

A schedule's or sensor's state and its tick history, without replaying its stream (see
`instigator_projection`).
"""

from __future__ import annotations

from sqlalchemy import Connection, or_, select

from arco_flow.storage import schema
from arco_flow.storage.instigator_projection import InstigatorState, TickRecord, TickStatus
from arco_flow.storage.rows import instigator_state_from_row, tick_from_row
from arco_flow.storage.sql_queries import in_scope

__all__ = ["instigator_state", "instigator_ticks"]


def instigator_state(
    connection: Connection, tenant_id: str, workspace_id: str, name: str
) -> InstigatorState:
    """The state row of `name`, with its unfinished ticks and its newest one."""
    states, ticks = schema.instigator_states, schema.instigator_ticks
    scope = in_scope(ticks, tenant_id, workspace_id)
    newest = (
        select(ticks.c.started_sequence)
        .where(scope, ticks.c.instigator_name == name)
        .order_by(ticks.c.started_sequence.desc())
        .limit(1)
        .scalar_subquery()
    )
    tick_query = (
        select(ticks)
        .where(scope, ticks.c.instigator_name == name)
        .where(or_(ticks.c.status == TickStatus.STARTED.value, ticks.c.started_sequence == newest))
        .order_by(ticks.c.started_sequence)
    )
    state_query = select(states).where(
        in_scope(states, tenant_id, workspace_id), states.c.instigator_name == name
    )
    row = connection.execute(state_query).first()
    tick_rows = connection.execute(tick_query).all()
    state = InstigatorState(name=name) if row is None else instigator_state_from_row(row._mapping)
    for tick_row in tick_rows:
        tick = tick_from_row(tick_row._mapping)
        state.ticks[tick.tick_id] = tick
    return state


def instigator_ticks(
    connection: Connection, tenant_id: str, workspace_id: str, name: str, limit: int | None
) -> list[TickRecord]:
    """The ticks of `name`, newest first, at most `limit`."""
    ticks = schema.instigator_ticks
    query = (
        select(ticks)
        .where(in_scope(ticks, tenant_id, workspace_id), ticks.c.instigator_name == name)
        .order_by(ticks.c.started_sequence.desc())
        .limit(limit)
    )
    return [tick_from_row(row._mapping) for row in connection.execute(query)]
