"""Materializing one partition in process (W5 part e's path), and its errors."""

import pytest

import arco_flow as af
from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
)

DAILY = DailyPartitionsDefinition(start_date="2000-01-01")


@af.asset(partitions_def=DAILY)
def upstream(context):
    return context.partition_key


@af.asset(partitions_def=DAILY)
def downstream(context, upstream):
    assert context.partition_key == upstream
    return upstream + "!"


def test_one_partition_flows_through_the_identity_mapping():
    result = af.materialize_to_memory([upstream, downstream], partition_key="2026-11-26")
    assert result.asset_value("downstream") == "2026-11-26!"
    events = result.get_asset_materialization_events()
    assert [e.partition for e in events] == ["2026-11-26", "2026-11-26"]
    assert result.plan.tasks[0].task_id == "upstream[2026-11-26]"


def test_partitions_are_stored_one_file_each_and_read_back(tmp_path):
    storage = af.FilesystemIOManager(base_dir=str(tmp_path))
    for key in ("2026-11-25", "2026-11-26"):
        af.materialize([upstream], partition_key=key, resources={"io_manager": storage})
    assert sorted(p.name for p in (tmp_path / "upstream").iterdir()) == [
        "2026-11-25",
        "2026-11-26",
    ]
    result = af.materialize(
        [upstream, downstream],
        selection=["downstream"],
        partition_key="2026-11-25",
        resources={"io_manager": storage},
    )
    assert result.asset_value("downstream") == "2026-11-25!"


def test_the_manifest_carries_the_partitions_definition():
    defs = af.Definitions(assets=[upstream, downstream])
    (first, _) = defs.manifest.assets
    assert first.partitions is not None
    assert first.partitions["kind"] == "time_window"
    assert first.partitions["start"] == "2000-01-01T00:00:00+00:00"
    assert first.partitions["cron_schedule"] == "0 0 * * *"


def test_a_partitioned_run_needs_a_valid_key_and_names_the_fix():
    with pytest.raises(PartitionError, match="choose a partition with partition_key="):
        af.materialize_to_memory([upstream])
    with pytest.raises(PartitionError, match="1999-12-31"):
        af.materialize_to_memory([upstream], partition_key="1999-12-31")
    with pytest.raises(PartitionError):
        af.materialize_to_memory([upstream], partition_key="not-a-date")


def test_mixed_or_different_partitionings_are_refused():
    @af.asset
    def plain():
        return 1

    @af.asset(partitions_def=StaticPartitionsDefinition(["a", "b"]))
    def letters(context):
        return context.partition_key

    with pytest.raises(PartitionError, match="mixes partitioned assets"):
        af.materialize_to_memory([upstream, plain], partition_key="2026-11-26")
    with pytest.raises(PartitionError, match="partitioned differently"):
        af.materialize_to_memory([upstream, letters], partition_key="a")
    with pytest.raises(PartitionError, match="none of the selected assets is partitioned"):
        af.materialize_to_memory([plain], partition_key="a")


def test_a_time_window_mapping_loads_every_mapped_partition_as_a_dict():
    storage = af.InMemoryIOManager()
    for key in ("2026-11-25", "2026-11-26"):
        af.materialize([upstream], partition_key=key, resources={"io_manager": storage})

    @af.asset(
        partitions_def=DAILY,
        ins={"upstream": af.AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def two_days(upstream):
        return upstream

    @af.asset(
        partitions_def=DAILY,
        ins={
            "upstream": af.AssetIn(
                partition_mapping=TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
            )
        },
    )
    def yesterday(upstream):
        return upstream

    result = af.materialize(
        [upstream, two_days, yesterday],
        selection=["two_days", "yesterday"],
        partition_key="2026-11-26",
        resources={"io_manager": storage},
    )
    assert result.asset_value("two_days") == {
        "2026-11-25": "2026-11-25",
        "2026-11-26": "2026-11-26",
    }
    assert result.asset_value("yesterday") == "2026-11-25"


def test_an_upstream_partition_that_does_not_exist_is_a_clear_failure():
    @af.asset(
        partitions_def=DAILY,
        ins={
            "upstream": af.AssetIn(
                partition_mapping=TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
            )
        },
    )
    def yesterday(upstream):
        return upstream

    result = af.materialize_to_memory(
        [upstream, yesterday], partition_key="2000-01-01", raise_on_error=False
    )
    (failure,) = result.get_task_failure_events()
    assert "maps partition '2000-01-01' to no partition of 'upstream'" in failure.error.message


def test_the_context_describes_the_partition_and_the_mapped_inputs():
    import datetime

    seen = {}

    @af.asset(
        partitions_def=DAILY,
        ins={"upstream": af.AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def describe(context, upstream):
        seen["keys"] = context.partition_keys
        seen["range"] = (context.partition_key_range.start, context.partition_key_range.end)
        seen["window"] = context.partition_time_window
        seen["output"] = context.asset_partition_key_for_output()
        seen["input"] = context.asset_partition_keys_for_input("upstream")
        return 1

    storage = af.InMemoryIOManager()
    for key in ("2026-11-25", "2026-11-26"):
        af.materialize([upstream], partition_key=key, resources={"io_manager": storage})
    af.materialize(
        [upstream, describe],
        selection=["describe"],
        partition_key="2026-11-26",
        resources={"io_manager": storage},
    )
    assert seen["keys"] == ["2026-11-26"]
    assert seen["range"] == ("2026-11-26", "2026-11-26")
    assert seen["window"].start == datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)
    assert seen["window"].end == datetime.datetime(2026, 11, 27, tzinfo=datetime.UTC)
    assert seen["output"] == "2026-11-26"
    assert seen["input"] == ["2026-11-25", "2026-11-26"]


def test_a_static_partition_has_no_time_window():
    @af.asset(partitions_def=StaticPartitionsDefinition(["a", "b"]))
    def letter(context):
        return context.partition_time_window

    with pytest.raises(af.DefinitionError, match="not partitioned by time"):
        af.materialize_to_memory([letter], partition_key="a")
