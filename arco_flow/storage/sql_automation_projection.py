"""The automation evaluations table of the SQL stores, folded from the ticks on query.

The only writer of ``automation_evaluations`` and ``automation_evaluation_checkpoints``
(besides `clear`, which a rebuild calls). `automation_projection.evaluation_history` runs
the fold; this module gives it one workspace's rows and ticks (`EvaluationRowStore`). Ticks
are read and split in read transactions; their rows and the new range are written in one
short write transaction, so the daemon's appends wait on no decoding. The write happens
only if the kept range is still the one the fold started from (another reader may have
folded the same ticks, or a rebuild emptied the table), which keeps the invariant of
`automation_projection`: the rows are exactly those of the ticks in the kept range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, desc, func, select
from sqlalchemy.dialects import postgresql, sqlite

from arco_flow.core.errors import StoreError
from arco_flow.core.events import EventRecord
from arco_flow.core.keys import AssetKey
from arco_flow.storage import automation_projection as projection
from arco_flow.storage import schema
from arco_flow.storage.automation_projection import EvaluationRow, FoldedRange
from arco_flow.storage.rows import event_from_row
from arco_flow.storage.sql_bulk import BulkStatement
from arco_flow.storage.sql_engine import transaction
from arco_flow.storage.sql_queries import in_scope

if TYPE_CHECKING:
    from arco_flow.core.automation import EvaluationRecord

__all__ = ["SqlAutomationEvaluations"]

_COLUMNS = (
    "tenant_id",
    "workspace_id",
    "asset_key",
    "evaluation_id",
    "timestamp",
    "num_requested",
    "record",
    "condition_fingerprint",
)
_rows = schema.automation_evaluations
_conditions = schema.automation_evaluation_conditions
_ranges = schema.automation_evaluation_checkpoints
_events = schema.events


class SqlAutomationEvaluations:
    """Each asset's automation evaluation records in one database.

    Args:
        engine: The store's engine (SQLite or Postgres).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        if dialect.name == "sqlite":
            insert: Any = sqlite.insert
        elif dialect.name == "postgresql":
            insert = postgresql.insert
        else:
            raise StoreError(f"the event store does not support {dialect.name!r} databases")
        self._insert_rows = BulkStatement(_rows.insert(), dialect)
        self._keep_conditions = BulkStatement(
            insert(_conditions).on_conflict_do_nothing(
                index_elements=["tenant_id", "workspace_id", "fingerprint"]
            ),
            dialect,
        )
        statement = insert(_ranges)
        self._set_range = BulkStatement(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "workspace_id"],
                set_={
                    "low_sequence": statement.excluded.low_sequence,
                    "high_sequence": statement.excluded.high_sequence,
                },
            ),
            dialect,
        )

    def history(
        self,
        asset_key: AssetKey,
        *,
        limit: int | None,
        before_evaluation_id: int | None,
        tenant_id: str,
        workspace_id: str,
    ) -> list[EvaluationRecord]:
        """See `automation_projection.evaluation_history`.

        Args:
            asset_key: The asset.
            limit: At most this many records.
            before_evaluation_id: Only records of evaluations older than this one.
            tenant_id: The tenant of the asset.
            workspace_id: The workspace of the asset.

        Raises:
            StoreError: a tick holds a change this version cannot read.
        """
        rows = _SqlRows(self, tenant_id, workspace_id)
        return projection.evaluation_history(
            rows, asset_key, limit=limit, before_evaluation_id=before_evaluation_id
        )

    @staticmethod
    def clear(connection: Connection) -> None:
        """Deletes every row and range; the next query folds the ticks again."""
        connection.execute(delete(_rows))
        connection.execute(delete(_conditions))
        connection.execute(delete(_ranges))


class _SqlRows:
    """`EvaluationRowStore` over one workspace, each call its own transaction."""

    def __init__(self, owner: SqlAutomationEvaluations, tenant_id: str, workspace_id: str) -> None:
        self._owner, self._engine = owner, owner._engine
        self._scope = (tenant_id, workspace_id)

    def _in_scope(self, table: Any) -> Any:
        return in_scope(table, *self._scope)

    def _read_range(self, connection: Connection) -> FoldedRange | None:
        query = select(_ranges.c.low_sequence, _ranges.c.high_sequence).where(
            self._in_scope(_ranges)
        )
        found = connection.execute(query).first()
        return FoldedRange(low=found[0], high=found[1]) if found is not None else None

    def folded(self) -> FoldedRange | None:
        with transaction(self._engine, write=False) as connection:
            return self._read_range(connection)

    def _ticks(self) -> Any:
        return select(_events).where(
            self._in_scope(_events),
            _events.c.stream == projection.AUTOMATION_STREAM,
            _events.c.event_type.in_(projection.TICK_EVENT_TYPES),
        )

    def head(self) -> int:
        query = select(func.max(_events.c.stream_sequence)).where(
            self._in_scope(_events),
            _events.c.stream == projection.AUTOMATION_STREAM,
            _events.c.event_type.in_(projection.TICK_EVENT_TYPES),
        )
        with transaction(self._engine, write=False) as connection:
            return int(connection.execute(query).scalar() or 0)

    def ticks_after(self, sequence: int, limit: int) -> Sequence[EventRecord]:
        query = self._ticks().where(_events.c.stream_sequence > sequence)
        return self._records(query.order_by(_events.c.stream_sequence).limit(limit))

    def ticks_before(self, sequence: int, limit: int) -> Sequence[EventRecord]:
        query = self._ticks().where(_events.c.stream_sequence < sequence)
        return self._records(query.order_by(desc(_events.c.stream_sequence)).limit(limit))

    def _records(self, query: Any) -> list[EventRecord]:
        with transaction(self._engine, write=False) as connection:
            return [event_from_row(row._mapping) for row in connection.execute(query)]

    def write(
        self, rows: Sequence[EvaluationRow], expected: FoldedRange | None, folded: FoldedRange
    ) -> FoldedRange | None:
        tenant_id, workspace_id = self._scope
        with transaction(self._engine, write=True) as connection:
            found = self._read_range(connection)
            if found != expected:
                return found
            # The range grows over ticks never folded: none of their rows is there yet.
            self._owner._insert_rows.execute_values(
                connection,
                _COLUMNS,
                [
                    (
                        tenant_id,
                        workspace_id,
                        row.asset_key.to_user_string(),
                        row.evaluation_id,
                        row.timestamp,
                        row.num_requested,
                        row.record,
                        row.condition_fingerprint,
                    )
                    for row in rows
                ],
            )
            shared = {row.condition_fingerprint: row.condition for row in rows}
            self._owner._keep_conditions.execute_values(
                connection,
                ("tenant_id", "workspace_id", "fingerprint", "condition"),
                [(tenant_id, workspace_id, key, text) for key, text in sorted(shared.items())],
            )
            values = {"low_sequence": folded.low, "high_sequence": folded.high}
            self._owner._set_range.execute(
                connection, [{"tenant_id": tenant_id, "workspace_id": workspace_id, **values}]
            )
        return folded

    def _asset_rows(self, asset_key: AssetKey, before_evaluation_id: int | None) -> Any:
        query = select(_rows.c.evaluation_id).where(
            self._in_scope(_rows), _rows.c.asset_key == asset_key.to_user_string()
        )
        if before_evaluation_id is not None:
            query = query.where(_rows.c.evaluation_id < before_evaluation_id)
        return query

    def count(self, asset_key: AssetKey, before_evaluation_id: int | None, at_most: int) -> int:
        page = self._asset_rows(asset_key, before_evaluation_id).limit(at_most).subquery()
        with transaction(self._engine, write=False) as connection:
            return int(connection.execute(select(func.count()).select_from(page)).scalar() or 0)

    def page(
        self, asset_key: AssetKey, limit: int | None, before_evaluation_id: int | None
    ) -> list[tuple[str, str]]:
        query = (
            select(_rows.c.record, _conditions.c.condition)
            .join(
                _conditions,
                (_conditions.c.tenant_id == _rows.c.tenant_id)
                & (_conditions.c.workspace_id == _rows.c.workspace_id)
                & (_conditions.c.fingerprint == _rows.c.condition_fingerprint),
            )
            .where(self._in_scope(_rows), _rows.c.asset_key == asset_key.to_user_string())
        )
        if before_evaluation_id is not None:
            query = query.where(_rows.c.evaluation_id < before_evaluation_id)
        query = query.order_by(desc(_rows.c.evaluation_id)).limit(limit)
        with transaction(self._engine, write=False) as connection:
            return [(record, condition) for record, condition in connection.execute(query)]
