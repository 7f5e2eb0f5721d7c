import json
from datetime import datetime

import pytest

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    partition_mapping_from_data,
    partition_mapping_to_data,
    partitions_def_from_data,
    partitions_def_to_data,
)

DEFINITIONS = [
    StaticPartitionsDefinition(["b", "a"]),
    DynamicPartitionsDefinition(name="customers"),
    DailyPartitionsDefinition(start_date="2000-01-01"),
    DailyPartitionsDefinition(
        start_date="2024-03-01",
        end_date="2024-06-01",
        hour_offset=2,
        minute_offset=30,
        timezone="America/New_York",
        end_offset=1,
        exclusions=["0 2 * * 0", datetime(2024, 3, 5, 2, 30)],
    ),
    HourlyPartitionsDefinition(start_date="2021-01-01-00:00", timezone="Asia/Kolkata"),
    WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=3),
    MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=31),
    TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 9 * * 1-5"),
    MultiPartitionsDefinition(
        {
            "region": StaticPartitionsDefinition(["eu"]),
            "date": DailyPartitionsDefinition("2024-01-01"),
        }
    ),
]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=repr)
def test_definitions_round_trip_through_canonical_json(definition):
    data = partitions_def_to_data(definition)
    text = canonical_json(data)
    again = partitions_def_from_data(json.loads(text))
    assert again == definition
    assert type(again) is type(definition)
    assert canonical_json(partitions_def_to_data(again)) == text


def test_the_data_form_is_plain_and_readable():
    data = partitions_def_to_data(DailyPartitionsDefinition(start_date="2000-01-01"))
    assert data == {
        "kind": "time_window",
        "class": "daily",
        "start": "2000-01-01T00:00:00+00:00",
        "fmt": "%Y-%m-%d",
        "cron_schedule": "0 0 * * *",
        "timezone": "UTC",
        "end_offset": 0,
    }


MAPPINGS = [
    IdentityPartitionMapping(),
    AllPartitionMapping(),
    LastPartitionMapping(),
    TimeWindowPartitionMapping(start_offset=-1, allow_nonexistent_upstream_partitions=True),
    StaticPartitionMapping({"a": ["y", "x"], "b": "x"}),
    MultiToSingleDimensionPartitionMapping("date"),
    MultiPartitionMapping(
        {"date": DimensionPartitionMapping("day", TimeWindowPartitionMapping(end_offset=1))}
    ),
]


@pytest.mark.parametrize("mapping", MAPPINGS, ids=repr)
def test_mappings_round_trip_through_canonical_json(mapping):
    text = canonical_json(partition_mapping_to_data(mapping))
    assert partition_mapping_from_data(json.loads(text)) == mapping


@pytest.mark.parametrize("data", [{}, {"kind": "spiral"}, {"kind": "static"}])
def test_bad_data_is_a_partition_error(data):
    with pytest.raises(PartitionError):
        partitions_def_from_data(data)
    with pytest.raises(PartitionError):
        partition_mapping_from_data(data)
