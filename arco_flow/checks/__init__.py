"""Built-in asset checks: freshness, DataFrame columns and tables, SQL queries.

Imported explicitly (``from arco_flow.checks import build_sql_check``); the two freshness
builders are also lazily exported from `arco_flow`, as Dagster exports them. Importing this
package loads no pandas, polars, duckdb or SQLAlchemy: each is loaded when a check that
needs it is defined or run.
"""

from arco_flow.checks._frame_checks import build_column_checks, build_table_checks
from arco_flow.checks._freshness import (
    build_last_update_freshness_checks,
    build_time_partition_freshness_checks,
)
from arco_flow.checks._sql_check import build_sql_check

__all__ = [
    "build_column_checks",
    "build_last_update_freshness_checks",
    "build_sql_check",
    "build_table_checks",
    "build_time_partition_freshness_checks",
]
