"""Metadata values: Dagster's ``MetadataValue`` API, and the one codec that stores them.

Pure. Users attach metadata as raw values (``{"rows": 3}``) or typed values
(``MetadataValue.md(...)``); `normalize_metadata` turns either into typed values, and
`metadata_to_data` / `metadata_from_data` convert typed values to and from plain data that
canonical JSON can hold. The value classes are in `_values`, what table metadata holds in
`_table`, and typing and the codec in `_codec`; import them all from here.

Skipped from Dagster: ``ObjectMetadataValue`` and ``CodeLocationReconstructionMetadataValue``
(private there, and an in-process object cannot cross a process), ``CodeReferencesMetadataValue``
and the metadata sets (a separate feature), ``ExternalMetadataValue`` (Pipes), the deprecated
``MetadataEntry``, and ``normalize_metadata(allow_invalid=True)``.
"""

from arco_flow.core.errors import MetadataCodecError
from arco_flow.sdk.metadata._codec import (
    RawMetadataMapping,
    RawMetadataValue,
    metadata_from_data,
    metadata_to_data,
    normalize_metadata,
)
from arco_flow.sdk.metadata._table import (
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableRecord,
    TableSchema,
)
from arco_flow.sdk.metadata._values import (
    BoolMetadataValue,
    DagsterAssetMetadataValue,
    DagsterJobMetadataValue,
    DagsterRunMetadataValue,
    FloatMetadataValue,
    IntMetadataValue,
    JsonMetadataValue,
    MarkdownMetadataValue,
    MetadataValue,
    NotebookMetadataValue,
    NullMetadataValue,
    PathMetadataValue,
    PoolMetadataValue,
    PythonArtifactMetadataValue,
    TableColumnLineageMetadataValue,
    TableMetadataValue,
    TableSchemaMetadataValue,
    TextMetadataValue,
    TimestampMetadataValue,
    UrlMetadataValue,
)

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
