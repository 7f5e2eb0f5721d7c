"""What table metadata holds: records, schemas, columns, constraints and column lineage.

Pure. Plain frozen dataclasses, checked on construction; they are not metadata values
themselves (`TableMetadataValue`, `TableSchemaMetadataValue` and
`TableColumnLineageMetadataValue` wrap them). A record's cells are exact builtins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.sdk.metadata._checks import expect_all, expect_str

TableCell: TypeAlias = str | int | float | bool | None
"""What one cell of a `TableRecord` holds."""


@dataclass(frozen=True, slots=True)
class TableRecord:
    """One row of a table: column name to a str, int, float, bool or None."""

    data: Mapping[str, TableCell]

    def __post_init__(self) -> None:
        data = dict(self.data)
        for name, cell in data.items():
            if name.__class__ is not str:
                raise DefinitionError(f"table record column {name!r} must be a str")
            if cell.__class__ not in _CELL_CLASSES:
                data[name] = _plain_cell(name, cell)
        object.__setattr__(self, "data", data)


_CELL_CLASSES = frozenset({str, int, float, bool, type(None)})


def _plain_cell(name: str, cell: object) -> TableCell:
    # Subclasses (enums) become their base class, so the codec can dispatch on exact classes.
    if isinstance(cell, str):
        return str.__str__(cell)
    if isinstance(cell, bool):
        return bool(cell)
    if isinstance(cell, int):
        return int(cell)
    if isinstance(cell, float):
        return float(cell)
    raise DefinitionError(
        f"table record column {name!r} holds {type(cell).__name__} {cell!r}; "
        "cells must be str, int, float, bool or None, so convert it, e.g. str(x)"
    )


@dataclass(frozen=True, slots=True)
class TableConstraints:
    """Table-level constraints, described in words (e.g. ``"a < b"``)."""

    other: Sequence[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "other", tuple(self.other))


@dataclass(frozen=True, slots=True)
class TableColumnConstraints:
    """The constraints of one column."""

    nullable: bool = True
    unique: bool = False
    other: Sequence[str] = ()
    """Other constraints, described in words (e.g. ``"> 0"``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "other", () if self.other is None else tuple(self.other))


_DEFAULT_COLUMN_CONSTRAINTS = TableColumnConstraints()
_DEFAULT_TABLE_CONSTRAINTS = TableConstraints(())


@dataclass(frozen=True, slots=True)
class TableColumn:
    """One column of a table schema."""

    name: str
    type: str = "string"
    """Any type name; `TableMetadataValue.infer_column_type` gives string, int, float, bool."""
    description: str | None = None
    constraints: TableColumnConstraints = _DEFAULT_COLUMN_CONSTRAINTS
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", expect_str(self.name, "table column name"))
        object.__setattr__(self, "type", expect_str(self.type, "table column type"))
        if self.constraints is None:
            object.__setattr__(self, "constraints", _DEFAULT_COLUMN_CONSTRAINTS)
        object.__setattr__(self, "tags", {} if self.tags is None else dict(self.tags))


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The columns of a table and its table-level constraints."""

    columns: Sequence[TableColumn]
    constraints: TableConstraints = _DEFAULT_TABLE_CONSTRAINTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", expect_all(self.columns, TableColumn, "columns"))
        if self.constraints is None:
            object.__setattr__(self, "constraints", _DEFAULT_TABLE_CONSTRAINTS)

    @staticmethod
    def from_name_type_dict(name_type_dict: Mapping[str, str]) -> TableSchema:
        """A schema from ``{column name: type name}``."""
        return TableSchema(
            [TableColumn(name, type_name) for name, type_name in name_type_dict.items()]
        )


@dataclass(frozen=True, slots=True, init=False)
class TableColumnDep:
    """A column of an upstream asset."""

    asset_key: AssetKey
    column_name: str

    def __init__(self, asset_key: CoercibleToAssetKey, column_name: str) -> None:
        object.__setattr__(self, "asset_key", AssetKey.from_coercible(asset_key))
        object.__setattr__(self, "column_name", expect_str(column_name, "column dep name"))


@dataclass(frozen=True, slots=True)
class TableColumnLineage:
    """For each column of a table, the upstream columns it is computed from.

    Each column's deps are sorted by asset key, then column name.
    """

    deps_by_column: Mapping[str, Sequence[TableColumnDep]]

    def __post_init__(self) -> None:
        sorted_deps: dict[str, tuple[TableColumnDep, ...]] = {}
        for column, deps in self.deps_by_column.items():
            checked = expect_all(deps, TableColumnDep, f"column lineage deps of {column!r}")
            ordered = tuple(sorted(checked, key=lambda dep: (dep.asset_key, dep.column_name)))
            if len(set(ordered)) != len(ordered):
                raise DefinitionError(
                    f"column lineage of {column!r} lists the same upstream column twice; "
                    "list each (asset key, column name) once"
                )
            sorted_deps[column] = ordered
        object.__setattr__(self, "deps_by_column", sorted_deps)
