"""Arco Flow: an asset-centric data orchestrator.

The public SDK, with Dagster's names: Dagster asset code ports by changing its import.
`import arco_flow` loads layers 0-1 only (core and sdk); the engine entry points
(`materialize`, `materialize_to_memory`) load the execution layer on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import (
    ArcoError,
    ConfigError,
    DefinitionError,
    DefinitionsValidationError,
    ExecutionError,
    NotFoundError,
    PlanError,
    ResourceError,
    SelectionError,
)
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import Manifest
from arco_flow.core.plan import Plan, Task, build_plan
from arco_flow.core.retry import Backoff, Jitter, RetryPolicy
from arco_flow.core.selection import AssetSelection
from arco_flow.sdk.asset_spec import AssetDep, AssetIn, AssetOut, AssetSpec
from arco_flow.sdk.assets import AssetsDefinition
from arco_flow.sdk.config import (
    Array,
    Bool,
    Config,
    EnvVar,
    Field,
    Float,
    Int,
    Noneable,
    Permissive,
    PermissiveConfig,
    RunConfig,
    Shape,
    String,
)
from arco_flow.sdk.context import AssetExecutionContext, OpExecutionContext, build_asset_context
from arco_flow.sdk.decorators import asset, multi_asset
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.io_managers import (
    ConfigurableIOManager,
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    IOManager,
    OutputContext,
)
from arco_flow.sdk.jobs import JobDefinition, define_asset_job
from arco_flow.sdk.metadata import (
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableConstraints,
    TableRecord,
    TableSchema,
)
from arco_flow.sdk.resources import (
    ConfigurableResource,
    InitResourceContext,
    ResourceParam,
    resource,
)
from arco_flow.sdk.results import DataVersion, Failure, MaterializeResult, Output, RetryRequested

if TYPE_CHECKING:
    from arco_flow.execution.materialize import (
        ExecuteInProcessResult,
        materialize,
        materialize_to_memory,
    )

__version__ = "0.1.0"

__all__ = [
    "ArcoError",
    "Array",
    "AssetCheckKey",
    "AssetDep",
    "AssetExecutionContext",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetOut",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "Backoff",
    "Bool",
    "Config",
    "ConfigError",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "DataVersion",
    "DefinitionError",
    "Definitions",
    "DefinitionsValidationError",
    "EnvVar",
    "ExecuteInProcessResult",
    "ExecutionError",
    "Failure",
    "Field",
    "FilesystemIOManager",
    "Float",
    "IOManager",
    "InMemoryIOManager",
    "InitResourceContext",
    "InputContext",
    "Int",
    "Jitter",
    "JobDefinition",
    "Manifest",
    "MaterializeResult",
    "MetadataValue",
    "Noneable",
    "NotFoundError",
    "OpExecutionContext",
    "Output",
    "OutputContext",
    "Permissive",
    "PermissiveConfig",
    "Plan",
    "PlanError",
    "ResourceError",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "RunConfig",
    "SelectionError",
    "Shape",
    "String",
    "TableColumn",
    "TableColumnConstraints",
    "TableConstraints",
    "TableRecord",
    "TableSchema",
    "Task",
    "asset",
    "build_asset_context",
    "build_plan",
    "define_asset_job",
    "materialize",
    "materialize_to_memory",
    "multi_asset",
    "resource",
]

# Names served by the execution layer, loaded on first access (PEP 562) so that
# `import arco_flow` stays within layers 0-1.
_ENGINE_NAMES = frozenset({"ExecuteInProcessResult", "materialize", "materialize_to_memory"})


def __getattr__(name: str) -> Any:
    if name in _ENGINE_NAMES:
        from arco_flow.execution import materialize as engine

        value = getattr(engine, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'arco_flow' has no attribute {name!r}")
