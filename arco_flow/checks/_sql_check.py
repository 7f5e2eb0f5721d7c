"""`build_sql_check`: an asset check whose SQL query returns the failing rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arco_flow.checks._sql import SqlTarget, run_query, validate_query
from arco_flow.checks._targets import single_asset_key, validated_severity
from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import is_valid_name
from arco_flow.sdk.checks import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)

__all__ = ["build_sql_check"]


def build_sql_check(
    asset: Any,
    *,
    name: str,
    query: str,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
    database: str | None = None,
    url: str | None = None,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
    description: str | None = None,
) -> AssetChecksDefinition:
    """A check that runs `query`, which returns the failing rows: zero rows pass.

    The query runs on DuckDB (`database`: a file path or ``":memory:"``) or on any database
    SQLAlchemy reaches (`url`). Parameters are bound by the driver, never formatted into
    the SQL: ``?``, ``$1`` or ``$name`` for DuckDB (`params` a list, or a dict for
    ``$name``), ``:name`` for SQLAlchemy (`params` a dict).

    At definition time the parameters must match the query's, and the query must parse:
    DuckDB parses it (one SELECT statement), a SQLite URL prepares it on a throwaway
    in-memory database (unknown tables are fine then), other URLs check it when the check
    first runs. See `arco_flow.checks._sql`.

    A failed result's metadata holds ``failing_row_count`` and ``failing_rows_sample``
    (the first 5 rows the query returned).

    Args:
        asset: The checked asset: a definition, a spec, a key or a ``"a/b"`` string.
        name: The check's name.
        query: SQL returning the rows that fail the check.
        params: Values of the query's parameters.
        database: A DuckDB database file, or ``":memory:"``.
        url: A SQLAlchemy URL, e.g. ``"postgresql+psycopg://user@host/db"``.
        severity: The severity of a failed result.
        blocking: Whether a failed ``ERROR`` result stops the asset's downstream.
        description: Shown with the check; defaults to the query.

    Returns:
        The check.

    Raises:
        DefinitionError: Not exactly one of `database` and `url`, a query that does not
            parse, parameters that do not match, or another invalid argument.
    """
    key = single_asset_key(asset, f"build_sql_check(name={name!r})")
    where = f"SQL check {key.to_user_string()}:{name}"
    if not isinstance(name, str) or not is_valid_name(name):
        raise DefinitionError(f"{where}: the name must use letters, digits and '_'")
    if (database is None) == (url is None):
        raise DefinitionError(
            f"{where}: pass exactly one of database= (a DuckDB file or ':memory:') and url= "
            "(a SQLAlchemy URL)"
        )
    for label, value in (("database", database), ("url", url)):
        if value is not None and (not isinstance(value, str) or not value):
            raise DefinitionError(f"{where}: {label} must be a non-empty str, got {value!r}")
    severity = validated_severity(severity, where)
    target = SqlTarget(database=database, url=url)
    validate_query(where, target, query, params)
    bound = dict(params) if isinstance(params, Mapping) else list(params) if params else None

    def sql_check() -> AssetCheckResult:
        outcome = run_query(target, query, bound)
        passed = outcome.failing_row_count == 0
        metadata: dict[str, Any] = {"failing_row_count": outcome.failing_row_count}
        if not passed:
            metadata["failing_rows_sample"] = outcome.sample
        return AssetCheckResult(
            passed=passed,
            asset_key=key,
            check_name=name,
            severity=severity,
            description=(
                "the query returned no failing rows"
                if passed
                else f"the query returned {outcome.failing_row_count} failing rows"
            ),
            metadata=metadata,
        )

    return asset_check(
        asset=key, name=name, description=description or query.strip(), blocking=blocking
    )(sql_check)
