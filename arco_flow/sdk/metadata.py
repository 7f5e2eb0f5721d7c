"""Metadata values: Dagster's ``MetadataValue`` API, and the one codec that stores them.

Pure. Users attach metadata as raw values (``{"rows": 3}``) or typed values
(``MetadataValue.md(...)``); `normalize_metadata` turns either into typed values, and
`metadata_to_data` / `metadata_from_data` convert typed values to and from plain data that
canonical JSON can hold. The codec round-trips every value exactly, including through
canonical JSON text: NaN, infinities, ``-0.0``, integral floats in table cells and integers
past ±(2**53 - 1) are written as strings and restored, and large floats in JSON data that
canonical JSON writes as integer literals come back as floats. The persisted ``"type"`` tags
are fixed strings, independent of the class names.

Skipped from Dagster: ``ObjectMetadataValue`` and ``CodeLocationReconstructionMetadataValue``
(private there, and an in-process object cannot cross a process), ``CodeReferencesMetadataValue``
and the metadata sets (a separate feature), ``ExternalMetadataValue`` (Pipes), the deprecated
``MetadataEntry``, and ``normalize_metadata(allow_invalid=True)``.
"""

from __future__ import annotations

import builtins
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeAlias, TypeVar

from arco_flow.core.errors import ArcoError, DefinitionError
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey

__all__ = [
    "BoolMetadataValue",
    "DagsterAssetMetadataValue",
    "DagsterJobMetadataValue",
    "DagsterRunMetadataValue",
    "FloatMetadataValue",
    "IntMetadataValue",
    "JsonMetadataValue",
    "MarkdownMetadataValue",
    "MetadataCodecError",
    "MetadataValue",
    "NotebookMetadataValue",
    "NullMetadataValue",
    "PathMetadataValue",
    "PoolMetadataValue",
    "PythonArtifactMetadataValue",
    "RawMetadataMapping",
    "RawMetadataValue",
    "TableColumn",
    "TableColumnConstraints",
    "TableColumnDep",
    "TableColumnLineage",
    "TableColumnLineageMetadataValue",
    "TableConstraints",
    "TableMetadataValue",
    "TableRecord",
    "TableSchema",
    "TableSchemaMetadataValue",
    "TextMetadataValue",
    "TimestampMetadataValue",
    "UrlMetadataValue",
    "metadata_from_data",
    "metadata_to_data",
    "normalize_metadata",
]

T_co = TypeVar("T_co", covariant=True)

# The largest integer an IEEE double holds exactly; canonical JSON numbers are doubles.
_MAX_SAFE_INT = 2**53 - 1

TableCell: TypeAlias = str | int | float | bool | None


class MetadataCodecError(ArcoError, ValueError):
    """Metadata could not be converted to or from its stored data form."""


def _expect_str(value: object, what: str) -> str:
    if value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a str subclass (e.g. an enum) as a plain str
    raise DefinitionError(f"{what} must be a str, got {type(value).__name__} {value!r}")


def _expect_float(value: object, what: str) -> float:
    if value.__class__ is float:
        return value
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    raise DefinitionError(f"{what} must be a float, got {type(value).__name__} {value!r}")


def _expect_fspath(value: object, what: str) -> str:
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    return _expect_str(path, what)


class MetadataValue(Generic[T_co]):
    """Base class of typed metadata values, with a static constructor for each kind.

    ``MetadataValue.md("# Report")``, ``MetadataValue.int(3)``; plain values passed as
    metadata are wrapped by `normalize_metadata`.
    """

    __slots__ = ()

    @property
    def value(self) -> T_co:
        """The wrapped value."""
        raise NotImplementedError

    @staticmethod
    def text(text: str) -> TextMetadataValue:
        """Plain text."""
        return TextMetadataValue(text)

    @staticmethod
    def url(url: str) -> UrlMetadataValue:
        """A URL, shown as a link."""
        return UrlMetadataValue(url)

    @staticmethod
    def path(path: str | os.PathLike[str]) -> PathMetadataValue:
        """A filesystem path."""
        return PathMetadataValue(path)

    @staticmethod
    def notebook(path: str | os.PathLike[str]) -> NotebookMetadataValue:
        """The path of a notebook."""
        return NotebookMetadataValue(path)

    @staticmethod
    def json(data: Sequence[Any] | Mapping[str, Any]) -> JsonMetadataValue:
        """JSON data: dicts, lists, strings, finite numbers, booleans and None."""
        return JsonMetadataValue(data)

    @staticmethod
    def md(data: str) -> MarkdownMetadataValue:
        """Markdown text."""
        return MarkdownMetadataValue(data)

    @staticmethod
    def python_artifact(python_artifact: Callable[..., Any]) -> PythonArtifactMetadataValue:
        """A Python class or function, recorded by module and name.

        Raises:
            DefinitionError: if `python_artifact` is not a named callable.
        """
        module = getattr(python_artifact, "__module__", None)
        name = getattr(python_artifact, "__name__", None)
        if not callable(python_artifact) or module is None or name is None:
            raise DefinitionError(
                f"MetadataValue.python_artifact needs a class or function, got "
                f"{type(python_artifact).__name__} {python_artifact!r}"
            )
        return PythonArtifactMetadataValue(module, name)

    @staticmethod
    def float(value: builtins.float) -> FloatMetadataValue:
        """A float; NaN and infinities are kept."""
        return FloatMetadataValue(value)

    @staticmethod
    def int(value: builtins.int) -> IntMetadataValue:
        """An integer, of any size."""
        return IntMetadataValue(value)

    @staticmethod
    def bool(value: builtins.bool) -> BoolMetadataValue:
        """A boolean."""
        return BoolMetadataValue(value)

    @staticmethod
    def timestamp(value: builtins.float | datetime) -> TimestampMetadataValue:
        """A point in time, from UNIX seconds or a timezone-aware datetime.

        Raises:
            DefinitionError: for a datetime without a timezone, whose instant is ambiguous.
        """
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise DefinitionError(
                    f"MetadataValue.timestamp got the naive datetime {value.isoformat()!r}, "
                    "whose instant is ambiguous; give it a timezone, e.g. "
                    "value.replace(tzinfo=datetime.timezone.utc)"
                )
            return TimestampMetadataValue(value.timestamp())
        return TimestampMetadataValue(value)

    @staticmethod
    def dagster_run(run_id: str) -> DagsterRunMetadataValue:
        """A reference to a run, by id (Dagster's name, kept for porting)."""
        return DagsterRunMetadataValue(run_id)

    @staticmethod
    def asset(asset_key: AssetKey) -> DagsterAssetMetadataValue:
        """A reference to an asset, by key."""
        return DagsterAssetMetadataValue(asset_key)

    @staticmethod
    def job(
        job_name: str, location_name: str, *, repository_name: str | None = None
    ) -> DagsterJobMetadataValue:
        """A reference to a job, by name and code location."""
        return DagsterJobMetadataValue(job_name, location_name, repository_name)

    @staticmethod
    def table(
        records: Sequence[TableRecord], schema: TableSchema | None = None
    ) -> TableMetadataValue:
        """Rows of a table; the schema is inferred from the first record if not given."""
        return TableMetadataValue(records, schema)

    @staticmethod
    def table_schema(schema: TableSchema) -> TableSchemaMetadataValue:
        """The schema of a table."""
        return TableSchemaMetadataValue(schema)

    @staticmethod
    def column_lineage(lineage: TableColumnLineage) -> TableColumnLineageMetadataValue:
        """Which upstream columns each column of a table is computed from."""
        return TableColumnLineageMetadataValue(lineage)

    @staticmethod
    def null() -> NullMetadataValue:
        """No value."""
        return NullMetadataValue()

    @staticmethod
    def pool(pool: str) -> PoolMetadataValue:
        """A reference to a concurrency pool, by name."""
        return PoolMetadataValue(pool)


@dataclass(frozen=True, slots=True)
class TextMetadataValue(MetadataValue[str]):
    """Plain text."""

    text: str = field(default="")  # type: ignore[assignment]  # Dagster name; hides constructor

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _expect_str(self.text, "text metadata"))

    @property
    def value(self) -> str:
        """The text."""
        return self.text


@dataclass(frozen=True, slots=True)
class UrlMetadataValue(MetadataValue[str]):
    """A URL."""

    url: str = field(default="")  # type: ignore[assignment]  # Dagster name; hides constructor

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _expect_str(self.url, "URL metadata"))

    @property
    def value(self) -> str:
        """The URL."""
        return self.url


@dataclass(frozen=True, slots=True, init=False)
class PathMetadataValue(MetadataValue[str]):
    """A filesystem path, kept as a string."""

    path: str = field()  # type: ignore[assignment]  # Dagster name; hides constructor

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", _expect_fspath(path, "path metadata"))

    @property
    def value(self) -> str:
        """The path."""
        return self.path


@dataclass(frozen=True, slots=True, init=False)
class NotebookMetadataValue(MetadataValue[str]):
    """The path of a notebook, kept as a string."""

    path: str = field()  # type: ignore[assignment]  # Dagster name; hides constructor

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", _expect_fspath(path, "notebook metadata"))

    @property
    def value(self) -> str:
        """The path."""
        return self.path


@dataclass(frozen=True, slots=True)
class JsonMetadataValue(MetadataValue[Sequence[Any] | Mapping[str, Any] | None]):
    """JSON data, copied on construction into plain dicts, lists and scalars.

    As ``json.dumps`` would, tuples become lists and int, float, bool and None keys become
    strings. NaN, infinities and integers past ±(2**53 - 1) are refused: canonical JSON
    cannot hold them.
    """

    data: Sequence[Any] | Mapping[str, Any] | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _plain_json(self.data))

    @property
    def value(self) -> Sequence[Any] | Mapping[str, Any] | None:
        """The JSON data."""
        return self.data


def _plain_json(data: Any) -> Any:
    try:
        text = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DefinitionError(
            f"JSON metadata must hold only dicts, lists, strings, finite numbers, booleans and "
            f"None ({error}); convert other values first, e.g. with str(), and put NaN or "
            "infinity in a MetadataValue.float"
        ) from error
    return json.loads(text, parse_int=_safe_json_int)


def _safe_json_int(text: str) -> int:
    number = int(text)
    if not -_MAX_SAFE_INT <= number <= _MAX_SAFE_INT:
        raise DefinitionError(
            f"JSON metadata holds the integer {number}, outside ±(2**53 - 1), which JSON "
            "numbers cannot hold exactly; store it as a string or in a MetadataValue.int"
        )
    return number


@dataclass(frozen=True, slots=True)
class MarkdownMetadataValue(MetadataValue[str]):
    """Markdown text."""

    md_str: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "md_str", _expect_str(self.md_str, "markdown metadata"))

    @property
    def value(self) -> str:
        """The markdown text."""
        return self.md_str


@dataclass(frozen=True, slots=True)
class PythonArtifactMetadataValue(MetadataValue["PythonArtifactMetadataValue"]):
    """A Python class or function, by module and name."""

    module: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "module", _expect_str(self.module, "python artifact module"))
        object.__setattr__(self, "name", _expect_str(self.name, "python artifact name"))

    @property
    def value(self) -> PythonArtifactMetadataValue:
        """This value itself, as in Dagster."""
        return self


@dataclass(frozen=True, slots=True)
class FloatMetadataValue(MetadataValue[float]):
    """A float; an int is converted."""

    value: float = field()

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _expect_float(self.value, "float metadata"))


@dataclass(frozen=True, slots=True)
class IntMetadataValue(MetadataValue[int]):
    """An integer, of any size."""

    value: int = field()

    def __post_init__(self) -> None:
        if self.value.__class__ is not int:
            if isinstance(self.value, bool) or not isinstance(self.value, int):
                raise DefinitionError(
                    f"int metadata must be an int, got {type(self.value).__name__} "
                    f"{self.value!r}; use MetadataValue.bool or MetadataValue.float for those"
                )
            object.__setattr__(self, "value", int(self.value))


@dataclass(frozen=True, slots=True)
class BoolMetadataValue(MetadataValue[bool]):
    """A boolean."""

    value: bool = field()

    def __post_init__(self) -> None:
        if self.value is not True and self.value is not False:
            raise DefinitionError(
                f"bool metadata must be True or False, got {type(self.value).__name__} "
                f"{self.value!r}; use bool(x) to convert"
            )


@dataclass(frozen=True, slots=True)
class TimestampMetadataValue(MetadataValue[float]):
    """A point in time, in seconds since the UNIX epoch."""

    value: float = field()

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _expect_float(self.value, "timestamp metadata"))


@dataclass(frozen=True, slots=True)
class DagsterRunMetadataValue(MetadataValue[str]):
    """A reference to a run."""

    run_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_id", _expect_str(self.run_id, "run metadata"))

    @property
    def value(self) -> str:
        """The run id."""
        return self.run_id


@dataclass(frozen=True, slots=True)
class DagsterJobMetadataValue(MetadataValue["DagsterJobMetadataValue"]):
    """A reference to a job."""

    job_name: str
    location_name: str
    repository_name: str | None = None
    """None when the job is in the same repository as the thing holding this metadata."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "job_name", _expect_str(self.job_name, "job metadata name"))
        location = _expect_str(self.location_name, "job metadata location name")
        object.__setattr__(self, "location_name", location)
        if self.repository_name is not None:
            repository = _expect_str(self.repository_name, "job metadata repository name")
            object.__setattr__(self, "repository_name", repository)

    @property
    def value(self) -> DagsterJobMetadataValue:
        """This value itself, as in Dagster."""
        return self


@dataclass(frozen=True, slots=True)
class DagsterAssetMetadataValue(MetadataValue[AssetKey]):
    """A reference to an asset."""

    asset_key: AssetKey

    def __post_init__(self) -> None:
        if not isinstance(self.asset_key, AssetKey):
            raise DefinitionError(
                f"asset metadata needs an AssetKey, got {type(self.asset_key).__name__} "
                f"{self.asset_key!r}; wrap it, e.g. AssetKey(['raw', 'orders'])"
            )

    @property
    def value(self) -> AssetKey:
        """The asset key."""
        return self.asset_key


@dataclass(frozen=True, slots=True)
class PoolMetadataValue(MetadataValue[str]):
    """A reference to a concurrency pool."""

    pool: str = field()  # type: ignore[assignment]  # Dagster name; hides constructor

    def __post_init__(self) -> None:
        object.__setattr__(self, "pool", _expect_str(self.pool, "pool metadata"))

    @property
    def value(self) -> str:
        """The pool name."""
        return self.pool


@dataclass(frozen=True, slots=True)
class NullMetadataValue(MetadataValue[None]):
    """No value."""

    @property
    def value(self) -> None:
        """None."""
        return None


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


def _expect_all(items: Sequence[Any], cls: type, what: str) -> tuple[Any, ...]:
    result = tuple(items)
    for item in result:
        if not isinstance(item, cls):
            raise DefinitionError(
                f"{what} must be {cls.__name__} objects, got {type(item).__name__} {item!r}; "
                f"wrap it, e.g. {cls.__name__}(...)"
            )
    return result


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
        object.__setattr__(self, "name", _expect_str(self.name, "table column name"))
        object.__setattr__(self, "type", _expect_str(self.type, "table column type"))
        if self.constraints is None:
            object.__setattr__(self, "constraints", _DEFAULT_COLUMN_CONSTRAINTS)
        object.__setattr__(self, "tags", {} if self.tags is None else dict(self.tags))


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The columns of a table and its table-level constraints."""

    columns: Sequence[TableColumn]
    constraints: TableConstraints = _DEFAULT_TABLE_CONSTRAINTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _expect_all(self.columns, TableColumn, "columns"))
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
        object.__setattr__(self, "column_name", _expect_str(column_name, "column dep name"))


@dataclass(frozen=True, slots=True)
class TableColumnLineage:
    """For each column of a table, the upstream columns it is computed from.

    Each column's deps are sorted by asset key, then column name.
    """

    deps_by_column: Mapping[str, Sequence[TableColumnDep]]

    def __post_init__(self) -> None:
        sorted_deps: dict[str, tuple[TableColumnDep, ...]] = {}
        for column, deps in self.deps_by_column.items():
            checked = _expect_all(deps, TableColumnDep, f"column lineage deps of {column!r}")
            ordered = tuple(sorted(checked, key=lambda dep: (dep.asset_key, dep.column_name)))
            if len(set(ordered)) != len(ordered):
                raise DefinitionError(
                    f"column lineage of {column!r} lists the same upstream column twice; "
                    "list each (asset key, column name) once"
                )
            sorted_deps[column] = ordered
        object.__setattr__(self, "deps_by_column", sorted_deps)


@dataclass(frozen=True, slots=True, init=False)
class TableMetadataValue(MetadataValue["TableMetadataValue"]):
    """Rows of a table, with its schema.

    Every record has the same columns. Without a schema, one is inferred from the first
    record; with no records, a schema is required.
    """

    records: Sequence[TableRecord]
    schema: TableSchema

    def __init__(self, records: Sequence[TableRecord], schema: TableSchema | None = None) -> None:
        rows: tuple[TableRecord, ...] = _expect_all(records, TableRecord, "table records")
        if rows:
            columns = rows[0].data.keys()
            for index, row in enumerate(rows):
                if row.data.keys() != columns:
                    raise DefinitionError(
                        f"table record {index} has columns {sorted(row.data)}, but record 0 "
                        f"has {sorted(columns)}; give every record the same columns"
                    )
            if schema is None:
                schema = TableSchema(
                    [
                        TableColumn(name, TableMetadataValue.infer_column_type(cell))
                        for name, cell in rows[0].data.items()
                    ]
                )
        elif schema is None:
            raise DefinitionError(
                "table metadata with no records needs a schema: pass "
                "schema=TableSchema(columns=[TableColumn('name', 'string'), ...])"
            )
        object.__setattr__(self, "records", rows)
        object.__setattr__(self, "schema", schema)

    @staticmethod
    def infer_column_type(value: object) -> str:
        """The schema type name of a cell: ``"bool"``, ``"int"``, ``"float"`` or ``"string"``."""
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        return "string"

    @property
    def value(self) -> TableMetadataValue:
        """This value itself, as in Dagster."""
        return self


@dataclass(frozen=True, slots=True)
class TableSchemaMetadataValue(MetadataValue[TableSchema]):
    """The schema of a table."""

    schema: TableSchema

    @property
    def value(self) -> TableSchema:
        """The schema."""
        return self.schema


@dataclass(frozen=True, slots=True)
class TableColumnLineageMetadataValue(MetadataValue[TableColumnLineage]):
    """Which upstream columns each column of a table is computed from."""

    column_lineage: TableColumnLineage = field()  # type: ignore[assignment]  # Dagster name; hides constructor

    @property
    def value(self) -> TableColumnLineage:
        """The column lineage."""
        return self.column_lineage


RawMetadataValue: TypeAlias = (
    MetadataValue[Any]
    | TableSchema
    | TableColumnLineage
    | AssetKey
    | os.PathLike[str]
    | dict[str, Any]
    | list[Any]
    | str
    | float
    | int
    | datetime
    | None
)
"""What users may pass as one metadata value; `normalize_metadata` types it."""

RawMetadataMapping: TypeAlias = Mapping[str, RawMetadataValue]


# Exact classes of the common raw values; subclasses take the isinstance chain.
_RAW_CONSTRUCTORS: dict[type, Callable[[Any], MetadataValue[Any]]] = {
    str: TextMetadataValue,
    int: IntMetadataValue,
    float: FloatMetadataValue,
    bool: BoolMetadataValue,
    type(None): lambda _: NullMetadataValue(),
    dict: JsonMetadataValue,
    list: JsonMetadataValue,
}


def normalize_metadata(raw: Mapping[str, Any]) -> dict[str, MetadataValue[Any]]:
    """Types each raw metadata value as Dagster does.

    str, int, float, bool and None become text, int, float, bool and null values; dicts and
    lists become JSON; an `AssetKey` an asset reference; an ``os.PathLike`` a path; a
    `TableSchema` or `TableColumnLineage` their metadata values; a timezone-aware datetime a
    timestamp. A `MetadataValue` is kept.

    Args:
        raw: metadata as the user wrote it.

    Returns:
        The same keys, in order, with typed values.

    Raises:
        DefinitionError: naming every key whose value cannot be typed, with the fix.
    """
    normalized: dict[str, MetadataValue[Any]] = {}
    problems: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(f"metadata key {key!r} has type {type(key).__name__}; use a str key")
            continue
        try:
            constructor = _RAW_CONSTRUCTORS.get(value.__class__)
            if constructor is not None:
                normalized[key] = constructor(value)
            elif isinstance(value, MetadataValue):
                normalized[key] = value
            else:
                normalized[key] = _normalize_other(key, value)
        except DefinitionError as error:
            problems.append(f"metadata {key!r}: {error}")
    if len(problems) == 1:
        raise DefinitionError(problems[0])
    if problems:
        raise DefinitionError(
            "\n".join([f"{len(problems)} problems in metadata:", *(f"  - {p}" for p in problems)])
        )
    return normalized


def _normalize_other(key: str, value: object) -> MetadataValue[Any]:
    if isinstance(value, str):
        return TextMetadataValue(value)
    if isinstance(value, float):
        return FloatMetadataValue(value)
    if isinstance(value, bool):
        return BoolMetadataValue(value)
    if isinstance(value, int):
        return IntMetadataValue(value)
    if isinstance(value, dict | list):
        return JsonMetadataValue(value)
    if isinstance(value, os.PathLike):
        return PathMetadataValue(value)
    if isinstance(value, AssetKey):
        return DagsterAssetMetadataValue(value)
    if isinstance(value, TableSchema):
        return TableSchemaMetadataValue(value)
    if isinstance(value, TableColumnLineage):
        return TableColumnLineageMetadataValue(value)
    if isinstance(value, datetime):
        return MetadataValue.timestamp(value)
    if isinstance(value, tuple | set | frozenset):
        wrapped = "MetadataValue.json(list(value))"
    else:
        wrapped = "MetadataValue.text(str(value))"
    raise DefinitionError(
        f"value {value!r} of type {type(value).__name__} has no metadata form; pass a str, "
        "int, float, bool, None, dict, list, AssetKey, path, TableSchema, TableColumnLineage "
        f"or aware datetime, or wrap it, e.g. {{{key!r}: {wrapped}}}"
    )


# --- Codec. Each entry is {"type": tag, "value": data}; tags never change once stored.

_FLOAT_NAMES = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float_to_data(number: float) -> float | str:
    if number != 0.0 and number - number == 0.0:  # finite and nonzero: the common case
        return number
    if number == 0.0:
        return "-0.0" if math.copysign(1.0, number) < 0 else 0.0
    return _FLOAT_NAMES[repr(number)]


def _int_to_data(number: int) -> int | str:
    return number if -_MAX_SAFE_INT <= number <= _MAX_SAFE_INT else str(number)


def _cell_to_data(cell: TableCell) -> Any:
    # Canonical JSON writes 3.0 as 3, so integral floats are tagged too, or they return as ints.
    # TableRecord made every cell an exact builtin, so class identity suffices.
    if cell.__class__ is float:
        if _is_plain_float(cell):
            return cell
        return {"float": _FLOAT_NAMES.get(repr(cell), repr(cell))}
    if cell.__class__ is int and not -_MAX_SAFE_INT <= cell <= _MAX_SAFE_INT:
        return {"int": str(cell)}
    return cell


def _is_plain_float(number: float) -> bool:
    """Whether canonical JSON text of the float parses back as the same float."""
    return number - number == 0.0 and not number.is_integer()


def _cell_from_data(data: Any) -> TableCell:
    if data.__class__ is dict:
        if "float" in data:
            return float(data["float"])
        return int(data["int"])
    return data  # type: ignore[no-any-return]  # plain str, int, float, bool or None


def _schema_to_data(schema: TableSchema) -> dict[str, Any]:
    return {
        "columns": [
            {
                "name": column.name,
                "type": column.type,
                "description": column.description,
                "constraints": {
                    "nullable": column.constraints.nullable,
                    "unique": column.constraints.unique,
                    "other": list(column.constraints.other),
                },
                "tags": dict(column.tags),
            }
            for column in schema.columns
        ],
        "constraints": {"other": list(schema.constraints.other)},
    }


def _schema_from_data(data: Mapping[str, Any]) -> TableSchema:
    columns = [
        TableColumn(
            column["name"],
            column["type"],
            column["description"],
            TableColumnConstraints(
                column["constraints"]["nullable"],
                column["constraints"]["unique"],
                column["constraints"]["other"],
            ),
            column["tags"],
        )
        for column in data["columns"]
    ]
    return TableSchema(columns, TableConstraints(data["constraints"]["other"]))


def _table_to_data(value: TableMetadataValue) -> dict[str, Any]:
    return {
        "records": [
            {name: _cell_to_data(cell) for name, cell in record.data.items()}
            for record in value.records
        ],
        "schema": _schema_to_data(value.schema),
    }


def _table_from_data(data: Mapping[str, Any]) -> TableMetadataValue:
    records = [
        TableRecord({name: _cell_from_data(cell) for name, cell in record.items()})
        for record in data["records"]
    ]
    return TableMetadataValue(records, _schema_from_data(data["schema"]))


def _lineage_to_data(value: TableColumnLineageMetadataValue) -> dict[str, Any]:
    return {
        column: [
            {"asset_key": list(dep.asset_key.path), "column_name": dep.column_name} for dep in deps
        ]
        for column, deps in value.column_lineage.deps_by_column.items()
    }


def _lineage_from_data(data: Mapping[str, Any]) -> TableColumnLineageMetadataValue:
    deps_by_column = {
        column: [TableColumnDep(AssetKey(dep["asset_key"]), dep["column_name"]) for dep in deps]
        for column, deps in data.items()
    }
    return TableColumnLineageMetadataValue(TableColumnLineage(deps_by_column))


def _json_from_data(data: Any) -> JsonMetadataValue:
    # Stored JSON data was made plain when the value was built; skip copying it again.
    value = object.__new__(JsonMetadataValue)
    if _holds_unsafe_int(data):
        data = _unsafe_ints_to_floats(data)
    object.__setattr__(value, "data", data)
    return value


# Canonical JSON writes a float in [2**53, 1e21) as an integer literal, which Python parses
# as an int. JSON metadata never holds such ints (they are refused on construction), so any
# found when decoding were floats. The scan allocates nothing; the copy is the rare case.
def _holds_unsafe_int(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        cls = item.__class__
        if cls is int:
            if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                return True
        elif cls is dict:
            stack.extend(item.values())
        elif cls is list:
            stack.extend(item)
    return False


def _unsafe_ints_to_floats(data: Any) -> Any:
    cls = data.__class__
    if cls is int and not -_MAX_SAFE_INT <= data <= _MAX_SAFE_INT:
        return float(data)
    if cls is dict:
        return {key: _unsafe_ints_to_floats(item) for key, item in data.items()}
    if cls is list:
        return [_unsafe_ints_to_floats(item) for item in data]
    return data


# Encoders take the exact class they are registered under; Any is the user data inside.
_ENCODERS: dict[type, tuple[str, Callable[[Any], Any]]] = {
    TextMetadataValue: ("text", lambda v: v.text),
    IntMetadataValue: ("int", lambda v: _int_to_data(v.value)),
    FloatMetadataValue: ("float", lambda v: _float_to_data(v.value)),
    BoolMetadataValue: ("bool", lambda v: v.value),
    NullMetadataValue: ("null", lambda v: None),
    JsonMetadataValue: ("json", lambda v: v.data),
    MarkdownMetadataValue: ("md", lambda v: v.md_str),
    UrlMetadataValue: ("url", lambda v: v.url),
    PathMetadataValue: ("path", lambda v: v.path),
    NotebookMetadataValue: ("notebook", lambda v: v.path),
    TimestampMetadataValue: ("timestamp", lambda v: _float_to_data(v.value)),
    DagsterAssetMetadataValue: ("asset", lambda v: list(v.asset_key.path)),
    DagsterRunMetadataValue: ("dagster_run", lambda v: v.run_id),
    DagsterJobMetadataValue: (
        "job",
        lambda v: {
            "job_name": v.job_name,
            "location_name": v.location_name,
            "repository_name": v.repository_name,
        },
    ),
    PythonArtifactMetadataValue: (
        "python_artifact",
        lambda v: {"module": v.module, "name": v.name},
    ),
    PoolMetadataValue: ("pool", lambda v: v.pool),
    TableMetadataValue: ("table", _table_to_data),
    TableSchemaMetadataValue: ("table_schema", lambda v: _schema_to_data(v.schema)),
    TableColumnLineageMetadataValue: ("column_lineage", _lineage_to_data),
}

_DECODERS: dict[str, Callable[[Any], MetadataValue[Any]]] = {
    "text": TextMetadataValue,
    "int": lambda d: IntMetadataValue(int(d)),
    "float": lambda d: FloatMetadataValue(float(d)),
    "bool": BoolMetadataValue,
    "null": lambda d: NullMetadataValue(),
    "json": _json_from_data,
    "md": MarkdownMetadataValue,
    "url": UrlMetadataValue,
    "path": PathMetadataValue,
    "notebook": NotebookMetadataValue,
    "timestamp": lambda d: TimestampMetadataValue(float(d)),
    "asset": lambda d: DagsterAssetMetadataValue(AssetKey(d)),
    "dagster_run": DagsterRunMetadataValue,
    "job": lambda d: DagsterJobMetadataValue(
        d["job_name"], d["location_name"], d["repository_name"]
    ),
    "python_artifact": lambda d: PythonArtifactMetadataValue(d["module"], d["name"]),
    "pool": PoolMetadataValue,
    "table": _table_from_data,
    "table_schema": lambda d: TableSchemaMetadataValue(_schema_from_data(d)),
    "column_lineage": _lineage_from_data,
}


def metadata_to_data(values: Mapping[str, MetadataValue[Any]]) -> dict[str, Any]:
    """Converts typed metadata to plain data that canonical JSON can hold.

    ``{"rows": MetadataValue.int(3)}`` becomes ``{"rows": {"type": "int", "value": 3}}``.
    The result may share JSON data with the values; treat it as read-only.

    Args:
        values: typed metadata, as `normalize_metadata` returns it.

    Returns:
        One ``{"type": ..., "value": ...}`` entry per key, in order.

    Raises:
        MetadataCodecError: if a value is not a `MetadataValue`.
    """
    data: dict[str, Any] = {}
    for key, value in values.items():
        entry = _ENCODERS.get(value.__class__) or _encoder_of_subclass(key, value)
        data[key] = {"type": entry[0], "value": entry[1](value)}
    return data


def _encoder_of_subclass(key: str, value: object) -> tuple[str, Callable[[Any], Any]]:
    for cls in type(value).__mro__[1:]:
        entry = _ENCODERS.get(cls)
        if entry is not None:
            return entry
    raise MetadataCodecError(
        f"metadata {key!r} is a {type(value).__name__}, not a MetadataValue; "
        "pass the metadata through normalize_metadata first"
    )


def metadata_from_data(data: Mapping[str, Any]) -> dict[str, MetadataValue[Any]]:
    """Converts data written by `metadata_to_data` back to typed metadata.

    Args:
        data: ``{"type": ..., "value": ...}`` entries, as stored (or parsed from canonical JSON).

    Returns:
        Values equal to those that were written, with the same keys in order.

    Raises:
        MetadataCodecError: naming the key of an entry with an unknown type or a bad value.
    """
    values: dict[str, MetadataValue[Any]] = {}
    for key, entry in data.items():
        try:
            decode = _DECODERS[entry["type"]]
            values[key] = decode(entry["value"])
        except (AttributeError, KeyError, TypeError, ValueError, ArcoError) as error:
            raise MetadataCodecError(_decode_problem(key, entry, error)) from error
    return values


def _decode_problem(key: str, entry: object, error: Exception) -> str:
    tag = entry.get("type") if isinstance(entry, Mapping) else None
    if isinstance(tag, str) and tag not in _DECODERS:
        return (
            f"stored metadata {key!r} has the unknown type {tag!r} (known: "
            f"{', '.join(sorted(_DECODERS))}); it may come from a newer Arco Flow, so upgrade"
        )
    return (
        f"stored metadata {key!r} is not a valid encoded metadata value ({error!r}); "
        f"expected {{'type': ..., 'value': ...}} as written by metadata_to_data, got {entry!r}"
    )
