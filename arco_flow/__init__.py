"""Arco Flow: an asset-centric data orchestrator.

The public SDK, with Dagster's names: Dagster asset code ports by changing its import.
`import arco_flow` loads layers 0-1 only (core and sdk); the engine entry points
(`materialize`, `materialize_to_memory`) load the execution layer on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from arco_flow.core.backfill_policy import BackfillPolicy, BackfillPolicyType
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
from arco_flow.core.freshness_policy import FreshnessPolicy
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import Manifest
from arco_flow.core.plan import Plan, Task, build_plan
from arco_flow.core.retry import Backoff, Jitter, RetryPolicy
from arco_flow.core.selection import AssetSelection
from arco_flow.sdk.asset_spec import AssetDep, AssetIn, AssetOut, AssetSpec
from arco_flow.sdk.assets import AssetsDefinition
from arco_flow.sdk.checks import (
    AssetCheckExecutionContext,
    AssetCheckFailedError,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    asset_check,
    build_asset_check_context,
    multi_asset_check,
)
from arco_flow.sdk.context import AssetExecutionContext, OpExecutionContext, build_asset_context
from arco_flow.sdk.decorators import asset, multi_asset
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.io_managers import (
    InMemoryIOManager,
    InputContext,
    IOManager,
    OutputContext,
    QuarantiningIOManager,
)
from arco_flow.sdk.jobs import JobDefinition, define_asset_job
from arco_flow.sdk.results import DataVersion, Failure, MaterializeResult, Output, RetryRequested

if TYPE_CHECKING:
    from arco_flow.checks import (
        build_last_update_freshness_checks,
        build_time_partition_freshness_checks,
    )
    from arco_flow.core.automation import AutomationCondition
    from arco_flow.core.partitions import (
        AllPartitionMapping,
        DailyPartitionsDefinition,
        DimensionPartitionMapping,
        DynamicPartitionsDefinition,
        HourlyPartitionsDefinition,
        IdentityPartitionMapping,
        LastPartitionMapping,
        MonthlyPartitionsDefinition,
        MultiPartitionKey,
        MultiPartitionMapping,
        MultiPartitionsDefinition,
        MultiToSingleDimensionPartitionMapping,
        PartitionKeyRange,
        PartitionMapping,
        PartitionsDefinition,
        StaticPartitionMapping,
        StaticPartitionsDefinition,
        TimeWindow,
        TimeWindowPartitionMapping,
        TimeWindowPartitionsDefinition,
        WeeklyPartitionsDefinition,
    )
    from arco_flow.daemon.automation import evaluate_automation_conditions
    from arco_flow.execution.materialize import (
        ExecuteInProcessResult,
        materialize,
        materialize_to_memory,
    )
    from arco_flow.sdk.asset_sensors import (
        AssetSensorDefinition,
        MultiAssetSensorDefinition,
        MultiAssetSensorEvaluationContext,
        asset_sensor,
        build_multi_asset_sensor_context,
        multi_asset_sensor,
    )
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
    from arco_flow.sdk.fs_io_manager import ConfigurableIOManager, FilesystemIOManager
    from arco_flow.sdk.metadata import (
        MetadataValue,
        TableColumn,
        TableColumnConstraints,
        TableConstraints,
        TableRecord,
        TableSchema,
    )
    from arco_flow.sdk.partitioned_schedules import (
        build_schedule_from_partitioned_job,
    )
    from arco_flow.sdk.resources import (
        ConfigurableResource,
        InitResourceContext,
        ResourceParam,
        resource,
    )
    from arco_flow.sdk.run_requests import (
        AddDynamicPartitionsRequest,
        DeleteDynamicPartitionsRequest,
        RunRequest,
        SkipReason,
    )
    from arco_flow.sdk.run_status_sensors import (
        RunFailureSensorContext,
        RunStatusSensorContext,
        RunStatusSensorDefinition,
        build_run_status_sensor_context,
        run_failure_sensor,
        run_status_sensor,
    )
    from arco_flow.sdk.schedules import (
        DefaultScheduleStatus,
        ScheduleDefinition,
        ScheduleEvaluationContext,
        build_schedule_context,
        schedule,
    )
    from arco_flow.sdk.sensors import (
        DefaultSensorStatus,
        SensorDefinition,
        SensorEvaluationContext,
        SensorResult,
        build_sensor_context,
        sensor,
    )
    from arco_flow.storage.instance import ArcoInstance

__version__ = "0.1.0"

__all__ = [
    "AddDynamicPartitionsRequest",
    "AllPartitionMapping",
    "ArcoError",
    "ArcoInstance",
    "Array",
    "AssetCheckExecutionContext",
    "AssetCheckFailedError",
    "AssetCheckKey",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetOut",
    "AssetSelection",
    "AssetSensorDefinition",
    "AssetSpec",
    "AssetsDefinition",
    "AutomationCondition",
    "BackfillPolicy",
    "BackfillPolicyType",
    "Backoff",
    "Bool",
    "Config",
    "ConfigError",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "DailyPartitionsDefinition",
    "DataVersion",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "DefinitionError",
    "Definitions",
    "DefinitionsValidationError",
    "DeleteDynamicPartitionsRequest",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "EnvVar",
    "ExecuteInProcessResult",
    "ExecutionError",
    "Failure",
    "Field",
    "FilesystemIOManager",
    "Float",
    "FreshnessPolicy",
    "HourlyPartitionsDefinition",
    "IOManager",
    "IdentityPartitionMapping",
    "InMemoryIOManager",
    "InitResourceContext",
    "InputContext",
    "Int",
    "Jitter",
    "JobDefinition",
    "LastPartitionMapping",
    "Manifest",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiAssetSensorDefinition",
    "MultiAssetSensorEvaluationContext",
    "MultiPartitionKey",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "Noneable",
    "NotFoundError",
    "OpExecutionContext",
    "Output",
    "OutputContext",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionsDefinition",
    "Permissive",
    "PermissiveConfig",
    "Plan",
    "PlanError",
    "QuarantiningIOManager",
    "ResourceError",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "RunConfig",
    "RunFailureSensorContext",
    "RunRequest",
    "RunStatusSensorContext",
    "RunStatusSensorDefinition",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "SelectionError",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "Shape",
    "SkipReason",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "String",
    "TableColumn",
    "TableColumnConstraints",
    "TableConstraints",
    "TableRecord",
    "TableSchema",
    "Task",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "asset_sensor",
    "build_asset_check_context",
    "build_asset_context",
    "build_last_update_freshness_checks",
    "build_multi_asset_sensor_context",
    "build_plan",
    "build_run_status_sensor_context",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_sensor_context",
    "build_time_partition_freshness_checks",
    "define_asset_job",
    "evaluate_automation_conditions",
    "materialize",
    "materialize_to_memory",
    "multi_asset",
    "multi_asset_check",
    "multi_asset_sensor",
    "resource",
    "run_failure_sensor",
    "run_status_sensor",
    "schedule",
    "sensor",
]

# Names loaded on first access (PEP 562): the execution layer (so that `import arco_flow`
# stays within layers 0-1), the pydantic-based config, resources and metadata modules, and
# the partitions package (so that it stays fast), and schedules and sensors (their cron
# library loads on first use).
_LAZY_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("ExecuteInProcessResult", "materialize", "materialize_to_memory"),
        "arco_flow.execution.materialize",
    ),
    "ArcoInstance": "arco_flow.storage.instance",
    "evaluate_automation_conditions": "arco_flow.daemon.automation",
    "AutomationCondition": "arco_flow.core.automation",
    **dict.fromkeys(
        (
            "AllPartitionMapping",
            "DailyPartitionsDefinition",
            "DimensionPartitionMapping",
            "DynamicPartitionsDefinition",
            "HourlyPartitionsDefinition",
            "IdentityPartitionMapping",
            "LastPartitionMapping",
            "MonthlyPartitionsDefinition",
            "MultiPartitionKey",
            "MultiPartitionMapping",
            "MultiPartitionsDefinition",
            "MultiToSingleDimensionPartitionMapping",
            "PartitionKeyRange",
            "PartitionMapping",
            "PartitionsDefinition",
            "StaticPartitionMapping",
            "StaticPartitionsDefinition",
            "TimeWindow",
            "TimeWindowPartitionMapping",
            "TimeWindowPartitionsDefinition",
            "WeeklyPartitionsDefinition",
        ),
        "arco_flow.core.partitions",
    ),
    **dict.fromkeys(
        (
            "Array",
            "Bool",
            "Config",
            "EnvVar",
            "Field",
            "Float",
            "Int",
            "Noneable",
            "Permissive",
            "PermissiveConfig",
            "RunConfig",
            "Shape",
            "String",
        ),
        "arco_flow.sdk.config",
    ),
    **dict.fromkeys(
        ("ConfigurableResource", "InitResourceContext", "ResourceParam", "resource"),
        "arco_flow.sdk.resources",
    ),
    **dict.fromkeys(
        ("ConfigurableIOManager", "FilesystemIOManager"), "arco_flow.sdk.fs_io_manager"
    ),
    **dict.fromkeys(
        (
            "MetadataValue",
            "TableColumn",
            "TableColumnConstraints",
            "TableConstraints",
            "TableRecord",
            "TableSchema",
        ),
        "arco_flow.sdk.metadata",
    ),
    **dict.fromkeys(
        ("build_last_update_freshness_checks", "build_time_partition_freshness_checks"),
        "arco_flow.checks",
    ),
    **dict.fromkeys(
        (
            "AssetSensorDefinition",
            "MultiAssetSensorDefinition",
            "MultiAssetSensorEvaluationContext",
            "asset_sensor",
            "build_multi_asset_sensor_context",
            "multi_asset_sensor",
        ),
        "arco_flow.sdk.asset_sensors",
    ),
    **dict.fromkeys(
        ("build_schedule_from_partitioned_job",),
        "arco_flow.sdk.partitioned_schedules",
    ),
    **dict.fromkeys(
        (
            "AddDynamicPartitionsRequest",
            "DeleteDynamicPartitionsRequest",
            "RunRequest",
            "SkipReason",
        ),
        "arco_flow.sdk.run_requests",
    ),
    **dict.fromkeys(
        (
            "RunFailureSensorContext",
            "RunStatusSensorContext",
            "RunStatusSensorDefinition",
            "build_run_status_sensor_context",
            "run_failure_sensor",
            "run_status_sensor",
        ),
        "arco_flow.sdk.run_status_sensors",
    ),
    **dict.fromkeys(
        (
            "DefaultScheduleStatus",
            "ScheduleDefinition",
            "ScheduleEvaluationContext",
            "build_schedule_context",
            "schedule",
        ),
        "arco_flow.sdk.schedules",
    ),
    **dict.fromkeys(
        (
            "DefaultSensorStatus",
            "SensorDefinition",
            "SensorEvaluationContext",
            "SensorResult",
            "build_sensor_context",
            "sensor",
        ),
        "arco_flow.sdk.sensors",
    ),
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'arco_flow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))
