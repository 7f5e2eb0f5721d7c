"""Multi-row writes compiled once and handed to the driver's ``executemany``.

SQLAlchemy processes every parameter of every row of an ``executemany`` in Python, which
at thousands of rows per append costs more than the database does. The store's columns are
plain strings, integers and doubles that need no conversion on their way to the driver, so
a `BulkStatement` compiles its statement once for the dialect and passes the rows to the
driver as they are: same SQL, same transaction, a fraction of the overhead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["BulkStatement"]


class BulkStatement:
    """A write statement compiled for one dialect, run with many rows at once.

    Args:
        statement: An INSERT, upsert or UPDATE whose bound parameters the rows name.
        dialect: The dialect of the connections it will run on.
    """

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), "a bulk statement is a DML statement"
        self.sql = compiled.string
        positions = compiled.positiontup
        self._positions: tuple[str, ...] | None = (
            tuple(positions) if compiled.positional and positions else None
        )

    def execute_values(
        self, connection: Connection, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Runs the statement once per row of values in `columns` order: no dict per row.

        For the largest writes (a million dynamic partition keys in one event).
        """
        if not rows:
            return
        positions = self._positions
        if positions is None:
            self.execute(connection, [dict(zip(columns, row, strict=True)) for row in rows])
        elif tuple(columns) == positions:
            connection.exec_driver_sql(self.sql, list(rows))
        else:
            order = [list(columns).index(name) for name in positions]
            connection.exec_driver_sql(self.sql, [tuple([row[i] for i in order]) for row in rows])

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Runs the statement once per row of `rows` (each maps parameter names to values)."""
        if not rows:
            return
        positions = self._positions
        if positions is None:
            connection.exec_driver_sql(self.sql, [dict(row) for row in rows])
        else:
            connection.exec_driver_sql(
                self.sql, [tuple([row[name] for name in positions]) for row in rows]
            )
