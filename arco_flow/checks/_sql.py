"""Running a check query on DuckDB or through SQLAlchemy, and checking it at definition time.

A check query returns the failing rows. It runs wrapped as
``SELECT *, COUNT(*) OVER () ... FROM (<query>) LIMIT <sample>``, so that the database
counts the failing rows and only a sample crosses the connection. Parameters are always
bound by the driver, never formatted into the SQL.

Definition-time checks (no connection to the user's database is opened then):

- DuckDB: the query is parsed by DuckDB's own parser on a throwaway in-memory connection;
  it must be one statement that returns rows (SELECT, or WITH ... SELECT), and its ``?`` /
  ``$1`` / ``$name`` parameters must match `params`.
- SQLAlchemy: `text()` finds the ``:name`` parameters, which must match `params`. For a
  SQLite URL the query is also prepared (``EXPLAIN``) on a throwaway in-memory SQLite
  database: syntax errors and multiple statements fail; unknown tables and columns do
  not (they belong to the real database). For other databases (PostgreSQL, MySQL, ...)
  the query is parsed by sqlglot in that database's dialect: a syntax error, several
  statements or a statement that returns no rows fail. A database sqlglot has no dialect
  for checks its syntax when the check first runs, and the error then names the check.

duckdb, SQLAlchemy and sqlglot are imported only when a check of theirs is defined or run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arco_flow.checks._frames import SAMPLE_ROWS, plain_cell
from arco_flow.core.errors import DefinitionError

__all__ = ["QueryOutcome", "SqlTarget", "run_query", "validate_query"]

_COUNT_COLUMN = "arco_failing_row_count"
_SQLITE_SYNTAX = ("syntax error", "incomplete input", "unrecognized token")


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlTarget:
    """Where a check query runs: a DuckDB database or a SQLAlchemy URL (exactly one)."""

    database: str | None = None
    """A DuckDB file path, or ``":memory:"``."""
    url: str | None = None
    """A SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryOutcome:
    """The failing rows a query found: how many, and the first few."""

    failing_row_count: int
    sample: list[dict[str, Any]]


def _normalized(query: str) -> str:
    return query.strip().rstrip(";").strip()


def _wrapped(query: str, limit: int) -> str:
    # Newlines around the query: a trailing "-- comment" must not swallow the parenthesis.
    # The query is the check's own SQL text; values are bound, never formatted in.
    head = f"SELECT *, COUNT(*) OVER () AS {_COUNT_COLUMN} FROM ("  # noqa: S608  # see above
    return f"{head}\n{_normalized(query)}\n) AS arco_failing_rows LIMIT {int(limit)}"


def validate_query(
    where: str, target: SqlTarget, query: str, params: Mapping[str, Any] | Sequence[Any] | None
) -> None:
    """Checks that `query` parses and that `params` match its parameters.

    Raises:
        DefinitionError: Naming `where`, the problem and the parser's message.
    """
    if not isinstance(query, str) or not _normalized(query):
        raise DefinitionError(f"{where}: query must be a non-empty SQL string")
    if target.database is not None:
        _validate_duckdb(where, query, params)
    else:
        assert target.url is not None
        _validate_sqlalchemy(where, target.url, query, params)


def _validate_duckdb(
    where: str, query: str, params: Mapping[str, Any] | Sequence[Any] | None
) -> None:
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        statements = connection.extract_statements(_normalized(query))
    except duckdb.Error as error:
        raise DefinitionError(f"{where}: the query does not parse: {error}") from None
    finally:
        connection.close()
    if len(statements) != 1:
        raise DefinitionError(
            f"{where}: the query holds {len(statements)} statements; a check query is one "
            "SELECT that returns the failing rows"
        )
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise DefinitionError(
            f"{where}: the query is a {statement.type.name} statement; a check query is a "
            "SELECT that returns the failing rows"
        )
    names = set(statement.named_parameters)
    positional = bool(names) and all(name.isdigit() for name in names)
    if not names:
        if params:
            raise DefinitionError(
                f"{where}: params are given but the query has no parameters; bind them with "
                "? or $name in the query"
            )
    elif positional:
        if (
            isinstance(params, Mapping)
            or not isinstance(params, Sequence)
            or isinstance(params, str)
        ):
            raise DefinitionError(
                f"{where}: the query has {len(names)} positional parameters (? or $1); pass "
                "params as a list of that many values"
            )
        if len(params) != max(int(name) for name in names):
            raise DefinitionError(
                f"{where}: the query has {max(int(name) for name in names)} positional "
                f"parameters but params holds {len(params)} values"
            )
    else:
        _match_names(where, names, params, "$name")


def _match_names(where: str, names: set[str], params: object, style: str) -> None:
    if not isinstance(params, Mapping):
        raise DefinitionError(
            f"{where}: the query has named parameters {sorted(names)} ({style}); pass params "
            "as a dict of name -> value"
        )
    missing = sorted(names - set(params))
    unused = sorted(set(params) - names)
    if missing or unused:
        parts = []
        if missing:
            parts.append(f"the query's parameters {missing} have no value in params")
        if unused:
            parts.append(f"params {unused} appear nowhere in the query")
        raise DefinitionError(f"{where}: {'; '.join(parts)}")


def _validate_sqlalchemy(
    where: str, url: str, query: str, params: Mapping[str, Any] | Sequence[Any] | None
) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed_url = make_url(url)
    except ArgumentError as error:
        raise DefinitionError(f"{where}: url {url!r} is not a SQLAlchemy URL: {error}") from None
    names = set(text(_normalized(query))._bindparams)
    if names:
        _match_names(where, names, params, ":name")
    elif params:
        raise DefinitionError(
            f"{where}: params are given but the query has no parameters; bind them with "
            ":name in the query"
        )
    backend = parsed_url.get_backend_name()
    if backend == "sqlite":
        _prepare_on_sqlite(where, query, names)
    elif backend in _SQLGLOT_DIALECTS:
        _parse_with_sqlglot(where, query, _SQLGLOT_DIALECTS[backend])


_SQLGLOT_DIALECTS = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "redshift": "redshift",
    "trino": "trino",
    "duckdb": "duckdb",
}
"""SQLAlchemy backend names and the sqlglot dialect that parses their queries."""


def _parse_with_sqlglot(where: str, query: str, dialect: str) -> None:
    import sqlglot
    from sqlglot import expressions
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(_normalized(query), read=dialect) if s is not None]
    except ParseError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DefinitionError(
            f"{where}: the query does not parse as {dialect} SQL: {first}"
        ) from None
    if len(statements) != 1:
        raise DefinitionError(
            f"{where}: the query holds {len(statements)} statements; a check query is one "
            "SELECT that returns the failing rows"
        )
    if not isinstance(statements[0], expressions.Query):
        raise DefinitionError(
            f"{where}: the query is a {type(statements[0]).__name__.upper()}, not a SELECT; a "
            "check query returns the failing rows and changes nothing"
        )


def _prepare_on_sqlite(where: str, query: str, names: set[str]) -> None:
    import sqlite3

    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(f"EXPLAIN {_normalized(query)}", dict.fromkeys(names))
    except sqlite3.ProgrammingError as error:  # several statements
        raise DefinitionError(f"{where}: the query does not parse: {error}") from None
    except sqlite3.OperationalError as error:
        if any(marker in str(error) for marker in _SQLITE_SYNTAX):
            raise DefinitionError(f"{where}: the query does not parse: {error}") from None
        # "no such table/column": the names belong to the real database.
    finally:
        connection.close()


def run_query(
    target: SqlTarget,
    query: str,
    params: Mapping[str, Any] | Sequence[Any] | None,
    limit: int = SAMPLE_ROWS,
) -> QueryOutcome:
    """Runs a check query; returns the failing row count and the first `limit` rows."""
    wrapped = _wrapped(query, limit)
    if target.database is not None:
        columns, rows = _run_duckdb(target.database, wrapped, params)
    else:
        assert target.url is not None
        columns, rows = _run_sqlalchemy(target.url, wrapped, params)
    count_at = columns.index(_COUNT_COLUMN)
    count = int(rows[0][count_at]) if rows else 0
    sample = [
        {
            name: plain_cell(cell)
            for i, (name, cell) in enumerate(zip(columns, row, strict=True))
            if i != count_at
        }
        for row in rows
    ]
    return QueryOutcome(failing_row_count=count, sample=sample)


def _run_duckdb(
    database: str, query: str, params: Mapping[str, Any] | Sequence[Any] | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    import duckdb

    connection = duckdb.connect(database)
    try:
        cursor = connection.execute(query, params if params else None)
        columns = [str(column[0]) for column in cursor.description or ()]
        return columns, list(cursor.fetchall())
    finally:
        connection.close()


def _run_sqlalchemy(
    url: str, query: str, params: Mapping[str, Any] | Sequence[Any] | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(
                text(query), dict(params) if isinstance(params, Mapping) else {}
            )
            names = result.keys()
            columns = [str(name) for name in names]
            return columns, [tuple(row) for row in result.fetchall()]
    finally:
        engine.dispose()
