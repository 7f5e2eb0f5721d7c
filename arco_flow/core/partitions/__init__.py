"""Partitions: definitions, subsets as index ranges, mappings between definitions, and codec.

Pure. Names and semantics follow Dagster's; subsets and mappings work on ranges of indices,
never on lists of keys, so that decades of daily partitions or a million dynamic keys are
counted, intersected and mapped in milliseconds.
"""

from arco_flow.core.partitions._codec import (
    partition_mapping_from_data,
    partition_mapping_to_data,
    partitions_def_from_data,
    partitions_def_to_data,
)
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._mapping import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    PartitionMapping,
    UpstreamPartitionsResult,
)
from arco_flow.core.partitions._multi import (
    MultiPartitionKey,
    MultiPartitionKeyList,
    MultiPartitionsDefinition,
    PartitionDimensionDefinition,
)
from arco_flow.core.partitions._multi_mapping import (
    DimensionPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    infer_partition_mapping,
)
from arco_flow.core.partitions._multi_space import MultiKeySpace
from arco_flow.core.partitions._space import KeySpace, ListKeySpace
from arco_flow.core.partitions._static import (
    DynamicPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco_flow.core.partitions._static_mapping import StaticPartitionMapping
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._time_space import TimeKeySpace
from arco_flow.core.partitions._time_window import ScheduleType, TimeWindowPartitionsDefinition
from arco_flow.core.partitions._time_window_mapping import TimeWindowPartitionMapping
from arco_flow.core.partitions._time_window_subclasses import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from arco_flow.core.partitions._values import (
    DynamicPartitionsStore,
    InMemoryDynamicPartitionsStore,
    PartitionKeyRange,
    TimeWindow,
)

__all__ = [
    "AllPartitionMapping",
    "DailyPartitionsDefinition",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "DynamicPartitionsStore",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
    "InMemoryDynamicPartitionsStore",
    "KeySpace",
    "LastPartitionMapping",
    "ListKeySpace",
    "MonthlyPartitionsDefinition",
    "MultiKeySpace",
    "MultiPartitionKey",
    "MultiPartitionKeyList",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionDimensionDefinition",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionsDefinition",
    "PartitionsSubset",
    "ScheduleType",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TimeKeySpace",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "UpstreamPartitionsResult",
    "WeeklyPartitionsDefinition",
    "infer_partition_mapping",
    "partition_mapping_from_data",
    "partition_mapping_to_data",
    "partitions_def_from_data",
    "partitions_def_to_data",
]
