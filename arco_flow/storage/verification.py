"""Comparing live projections with a rebuild from the log, row by row.

Pure. Both sides are `TableRows` (see `arco_flow.storage.rows`), so one comparison serves
every backend. Each difference is one line that names the table, the row's key and the
column, with both values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arco_flow.storage.rows import PROJECTION_TABLES, Row, TableRows

__all__ = ["MAX_DIFFERENCES", "diff_projections"]

MAX_DIFFERENCES = 200
"""At most this many lines; a last line counts the rest."""


def diff_projections(
    live: TableRows, rebuilt: TableRows, *, max_lines: int = MAX_DIFFERENCES
) -> list[str]:
    """The differences between the live projections and those rebuilt from the log.

    Args:
        live: The rows the store holds now.
        rebuilt: The rows a replay of the whole log gives.
        max_lines: At most this many difference lines, then one that counts the rest.

    Returns:
        One line per missing, extra or different row column; empty when they agree.
    """
    lines: list[str] = []
    for table in PROJECTION_TABLES:
        lines.extend(_diff_table(table, live.get(table, {}), rebuilt.get(table, {})))
    if len(lines) > max_lines:
        rest = len(lines) - max_lines
        lines = [*lines[:max_lines], f"... and {rest} more difference{'s' * (rest != 1)}"]
    return lines


def _diff_table(
    table: str,
    live: Mapping[tuple[Any, ...], Row],
    rebuilt: Mapping[tuple[Any, ...], Row],
) -> list[str]:
    lines: list[str] = []
    for key in sorted(live.keys() | rebuilt.keys(), key=_sort_key):
        name = f"{table}[{', '.join(str(part) for part in key)}]"
        live_row, rebuilt_row = live.get(key), rebuilt.get(key)
        if rebuilt_row is None:
            lines.append(f"{name}: in the live projection, but the log does not produce it")
        elif live_row is None:
            lines.append(f"{name}: produced by the log, but missing from the live projection")
        else:
            for column in sorted(live_row.keys() | rebuilt_row.keys()):
                live_value, rebuilt_value = live_row.get(column), rebuilt_row.get(column)
                if live_value != rebuilt_value:
                    lines.append(
                        f"{name}: {column} is {live_value!r} live, "
                        f"but {rebuilt_value!r} rebuilt from the log"
                    )
    return lines


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(f"{part:020d}" if isinstance(part, int) else str(part) for part in key)
