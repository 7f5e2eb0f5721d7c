"""The data form of partitions definitions and mappings, for the manifest.

Pure. `partitions_def_to_data` writes a definition as plain JSON data (dicts, lists,
strings, integers), deterministic and canonical-JSON-able: equal definitions give equal
data, and `partitions_def_from_data` gives back an equal definition of the same class.
Instants are ISO 8601 strings with their UTC offset. The same holds for mappings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._mapping import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    PartitionMapping,
)
from arco_flow.core.partitions._multi import MultiPartitionsDefinition
from arco_flow.core.partitions._multi_mapping import (
    DimensionPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
)
from arco_flow.core.partitions._static import (
    DynamicPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco_flow.core.partitions._static_mapping import StaticPartitionMapping
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._time_window_mapping import TimeWindowPartitionMapping
from arco_flow.core.partitions._time_window_subclasses import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

__all__ = [
    "partition_mapping_from_data",
    "partition_mapping_to_data",
    "partitions_def_from_data",
    "partitions_def_to_data",
]

_TIME_CLASSES: dict[str, type[TimeWindowPartitionsDefinition]] = {
    "time_window": TimeWindowPartitionsDefinition,
    "hourly": HourlyPartitionsDefinition,
    "daily": DailyPartitionsDefinition,
    "weekly": WeeklyPartitionsDefinition,
    "monthly": MonthlyPartitionsDefinition,
}
_TIME_NAMES = {cls: name for name, cls in _TIME_CLASSES.items()}


def partitions_def_to_data(partitions_def: PartitionsDefinition) -> dict[str, Any]:
    """The data form of a definition."""
    if isinstance(partitions_def, StaticPartitionsDefinition):
        return {"kind": "static", "partition_keys": list(partitions_def.partition_keys)}
    if isinstance(partitions_def, DynamicPartitionsDefinition):
        return {"kind": "dynamic", "name": partitions_def.name}
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return _time_window_data(partitions_def)
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return {
            "kind": "multi",
            "dimensions": [
                {"name": d.name, "partitions_def": partitions_def_to_data(d.partitions_def)}
                for d in partitions_def.partitions_defs
            ],
        }
    raise PartitionError(f"{partitions_def!r} has no data form")


def _time_window_data(definition: TimeWindowPartitionsDefinition) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "time_window",
        "class": _TIME_NAMES.get(type(definition), "time_window"),
        "start": definition.start.isoformat(),
        "fmt": definition.fmt,
        "cron_schedule": definition.cron_schedule,
        "timezone": definition.timezone,
        "end_offset": definition.end_offset,
    }
    if definition.end is not None:
        data["end"] = definition.end.isoformat()
    if definition.exclusions:
        data["exclusions"] = [
            {"cron_schedule": e} if isinstance(e, str) else {"time": e.isoformat()}
            for e in definition.exclusions
        ]
    return data


def partitions_def_from_data(data: dict[str, Any]) -> PartitionsDefinition:
    """Rebuilds a definition from `partitions_def_to_data` output.

    Raises:
        PartitionError: The data is not a definition's data form.
    """
    try:
        kind = data["kind"]
        if kind == "static":
            return StaticPartitionsDefinition(data["partition_keys"])
        if kind == "dynamic":
            return DynamicPartitionsDefinition(name=data["name"])
        if kind == "multi":
            return MultiPartitionsDefinition(
                {
                    d["name"]: partitions_def_from_data(d["partitions_def"])
                    for d in data["dimensions"]
                }
            )
        if kind == "time_window":
            return _time_window_from_data(data)
    except (KeyError, TypeError) as error:
        raise PartitionError(
            f"not a partitions definition's data form: {data!r} ({error!r})"
        ) from None
    raise PartitionError(f"unknown partitions definition kind {kind!r} in {data!r}")


def _time_window_from_data(data: dict[str, Any]) -> TimeWindowPartitionsDefinition:
    cls = _TIME_CLASSES[data["class"]]
    exclusions = [
        e["cron_schedule"] if "cron_schedule" in e else datetime.fromisoformat(e["time"])
        for e in data.get("exclusions", ())
    ]
    definition = object.__new__(cls)
    definition._build(
        datetime.fromisoformat(data["start"]),
        data["fmt"],
        datetime.fromisoformat(data["end"]) if "end" in data else None,
        data["cron_schedule"],
        data["timezone"],
        data["end_offset"],
        exclusions or None,
    )
    return definition


def partition_mapping_to_data(mapping: PartitionMapping) -> dict[str, Any]:
    """The data form of a built-in partition mapping.

    Raises:
        PartitionError: The mapping is not one of the built-in ones.
    """
    if isinstance(mapping, IdentityPartitionMapping):
        return {"kind": "identity"}
    if isinstance(mapping, AllPartitionMapping):
        return {"kind": "all"}
    if isinstance(mapping, LastPartitionMapping):
        return {"kind": "last"}
    if isinstance(mapping, TimeWindowPartitionMapping):
        return {
            "kind": "time_window",
            "start_offset": mapping.start_offset,
            "end_offset": mapping.end_offset,
            "allow_nonexistent_upstream_partitions": mapping.allow_nonexistent_upstream_partitions,
        }
    if isinstance(mapping, StaticPartitionMapping):
        table = mapping.downstream_partition_keys_by_upstream_partition_key
        return {
            "kind": "static",
            "downstream_partition_keys_by_upstream_partition_key": {
                key: sorted(values) for key, values in sorted(table.items())
            },
        }
    if isinstance(mapping, MultiToSingleDimensionPartitionMapping):
        return {
            "kind": "multi_to_single",
            "partition_dimension_name": mapping.partition_dimension_name,
        }
    if isinstance(mapping, MultiPartitionMapping):
        dims = mapping.downstream_mappings_by_upstream_dimension
        return {
            "kind": "multi",
            "downstream_mappings_by_upstream_dimension": {
                name: {
                    "dimension_name": dim.dimension_name,
                    "partition_mapping": partition_mapping_to_data(dim.partition_mapping),
                }
                for name, dim in sorted(dims.items())
            },
        }
    raise PartitionError(f"{mapping!r} is not a built-in partition mapping and has no data form")


def partition_mapping_from_data(data: dict[str, Any]) -> PartitionMapping:
    """Rebuilds a mapping from `partition_mapping_to_data` output.

    Raises:
        PartitionError: The data is not a mapping's data form.
    """
    simple: dict[str, type[PartitionMapping]] = {
        "identity": IdentityPartitionMapping,
        "all": AllPartitionMapping,
        "last": LastPartitionMapping,
    }
    try:
        kind = data["kind"]
        if kind in simple:
            return simple[kind]()
        if kind == "time_window":
            return TimeWindowPartitionMapping(
                start_offset=data["start_offset"],
                end_offset=data["end_offset"],
                allow_nonexistent_upstream_partitions=data["allow_nonexistent_upstream_partitions"],
            )
        if kind == "static":
            return StaticPartitionMapping(
                data["downstream_partition_keys_by_upstream_partition_key"]
            )
        if kind == "multi_to_single":
            return MultiToSingleDimensionPartitionMapping(data["partition_dimension_name"])
        if kind == "multi":
            return MultiPartitionMapping(
                {
                    name: DimensionPartitionMapping(
                        dim["dimension_name"], partition_mapping_from_data(dim["partition_mapping"])
                    )
                    for name, dim in data["downstream_mappings_by_upstream_dimension"].items()
                }
            )
    except (KeyError, TypeError) as error:
        raise PartitionError(f"not a partition mapping's data form: {data!r} ({error!r})") from None
    raise PartitionError(f"unknown partition mapping kind {kind!r} in {data!r}")
