"""The `MetadataValue` base class, its static constructors, and every typed value class.

Pure. Each value is a frozen dataclass, checked on construction, with Dagster's class and
attribute names. The table values live here too, beside the other values that
``MetadataValue.table(...)`` and friends construct; the records and schemas they hold are in
`arco_flow.sdk.metadata._table`.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.metadata._checks import expect_all, expect_float, expect_fspath, expect_str
from arco_flow.sdk.metadata._table import TableColumn, TableColumnLineage, TableRecord, TableSchema

T_co = TypeVar("T_co", covariant=True)

# The largest integer an IEEE double holds exactly; canonical JSON numbers are doubles.
MAX_SAFE_INT = 2**53 - 1


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
        object.__setattr__(self, "text", expect_str(self.text, "text metadata"))

    @property
    def value(self) -> str:
        """The text."""
        return self.text


@dataclass(frozen=True, slots=True)
class UrlMetadataValue(MetadataValue[str]):
    """A URL."""

    url: str = field(default="")  # type: ignore[assignment]  # Dagster name; hides constructor

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", expect_str(self.url, "URL metadata"))

    @property
    def value(self) -> str:
        """The URL."""
        return self.url


@dataclass(frozen=True, slots=True, init=False)
class PathMetadataValue(MetadataValue[str]):
    """A filesystem path, kept as a string."""

    path: str = field()  # type: ignore[assignment]  # Dagster name; hides constructor

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", expect_fspath(path, "path metadata"))

    @property
    def value(self) -> str:
        """The path."""
        return self.path


@dataclass(frozen=True, slots=True, init=False)
class NotebookMetadataValue(MetadataValue[str]):
    """The path of a notebook, kept as a string."""

    path: str = field()  # type: ignore[assignment]  # Dagster name; hides constructor

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", expect_fspath(path, "notebook metadata"))

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
    if not -MAX_SAFE_INT <= number <= MAX_SAFE_INT:
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
        object.__setattr__(self, "md_str", expect_str(self.md_str, "markdown metadata"))

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
        object.__setattr__(self, "module", expect_str(self.module, "python artifact module"))
        object.__setattr__(self, "name", expect_str(self.name, "python artifact name"))

    @property
    def value(self) -> PythonArtifactMetadataValue:
        """This value itself, as in Dagster."""
        return self


@dataclass(frozen=True, slots=True)
class FloatMetadataValue(MetadataValue[float]):
    """A float; an int is converted."""

    value: float = field()

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", expect_float(self.value, "float metadata"))


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
        object.__setattr__(self, "value", expect_float(self.value, "timestamp metadata"))


@dataclass(frozen=True, slots=True)
class DagsterRunMetadataValue(MetadataValue[str]):
    """A reference to a run."""

    run_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_id", expect_str(self.run_id, "run metadata"))

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
        object.__setattr__(self, "job_name", expect_str(self.job_name, "job metadata name"))
        location = expect_str(self.location_name, "job metadata location name")
        object.__setattr__(self, "location_name", location)
        if self.repository_name is not None:
            repository = expect_str(self.repository_name, "job metadata repository name")
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
        object.__setattr__(self, "pool", expect_str(self.pool, "pool metadata"))

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


@dataclass(frozen=True, slots=True, init=False)
class TableMetadataValue(MetadataValue["TableMetadataValue"]):
    """Rows of a table, with its schema.

    Every record has the same columns. Without a schema, one is inferred from the first
    record; with no records, a schema is required.
    """

    records: Sequence[TableRecord]
    schema: TableSchema

    def __init__(self, records: Sequence[TableRecord], schema: TableSchema | None = None) -> None:
        rows: tuple[TableRecord, ...] = expect_all(records, TableRecord, "table records")
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
