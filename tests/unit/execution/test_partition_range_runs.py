"""Runs over a partition range: planning, validation, the context, outputs and events."""

import datetime

import pytest

import arco_flow as af
from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
)
from arco_flow.core.plan import PlanPartition

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
LETTERS = StaticPartitionsDefinition(["a", "b", "c", "d"])
RANGE = PartitionKeyRange("2024-01-02", "2024-01-04")
UTC = datetime.UTC


@af.asset(partitions_def=DAILY)
def daily_values(context):
    return {key: key.replace("-", "") for key in context.partition_keys}


def test_a_range_run_is_planned_as_one_task_over_the_range():
    result = af.materialize_to_memory([daily_values], partition_key_range=RANGE)
    (task,) = result.plan.tasks
    assert task.partition == PlanPartition(range_start="2024-01-02", range_end="2024-01-04")
    assert task.task_id == "daily_values[2024-01-02...2024-01-04]"


def test_a_range_run_records_one_materialization_per_partition_with_shared_metadata():
    @af.asset(partitions_def=DAILY)
    def counted(context) -> af.MaterializeResult:
        return af.MaterializeResult(metadata={"partitions": len(context.partition_keys)})

    result = af.materialize_to_memory([counted], partition_key_range=RANGE)
    events = result.get_asset_materialization_events()
    assert [e.partition for e in events] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert {e.materialization.metadata["partitions"].value for e in events} == {3}


def test_a_one_key_range_is_planned_as_that_key():
    result = af.materialize_to_memory(
        [daily_values], partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-02")
    )
    assert result.plan.tasks[0].partition == PlanPartition(key="2024-01-02")
    assert result.asset_value("daily_values") == {"2024-01-02": "20240102"}


def test_dagster_range_tags_choose_the_range():
    tags = {
        "dagster/asset_partition_range_start": "2024-01-02",
        "dagster/asset_partition_range_end": "2024-01-04",
    }
    result = af.materialize_to_memory([daily_values], tags=tags)
    assert result.plan.partition == PlanPartition(range_start="2024-01-02", range_end="2024-01-04")
    job = af.Definitions(
        assets=[daily_values], resources={"io_manager": af.InMemoryIOManager()}
    ).resolve_implicit_global_asset_job_def()
    again = job.execute_in_process(tags=tags)
    assert len(again.get_asset_materialization_events()) == 3
    single = job.execute_in_process(tags={"dagster/partition": "2024-01-03"})
    assert single.plan.partition == PlanPartition(key="2024-01-03")


def test_execute_in_process_takes_a_partition_key_range():
    job = af.Definitions(assets=[daily_values]).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(partition_key_range=RANGE)
    assert result.asset_value("daily_values")["2024-01-03"] == "20240103"


def test_the_context_describes_a_daily_range_and_its_mapped_inputs():
    seen = {}

    @af.asset(partitions_def=DAILY)
    def described(context, daily_values):
        seen["has_key"] = context.has_partition_key
        seen["has_range"] = context.has_partition_key_range
        seen["keys"] = context.partition_keys
        seen["range"] = context.partition_key_range
        seen["window"] = context.partition_time_window
        seen["out_keys"] = context.asset_partition_keys_for_output()
        seen["out_range"] = context.asset_partition_key_range_for_output()
        seen["out_window"] = context.asset_partitions_time_window_for_output()
        seen["in_keys"] = context.asset_partition_keys_for_input("daily_values")
        seen["in_range"] = context.asset_partition_key_range_for_input("daily_values")
        seen["in_window"] = context.asset_partitions_time_window_for_input("daily_values")
        seen["input"] = daily_values
        with pytest.raises(af.DefinitionError, match=r"use context\.partition_key_range"):
            _ = context.partition_key
        with pytest.raises(af.DefinitionError, match="no single partition key"):
            context.asset_partition_key_for_output()
        return af.MaterializeResult()

    af.materialize_to_memory([daily_values, described], partition_key_range=RANGE)
    keys = ["2024-01-02", "2024-01-03", "2024-01-04"]
    window = (datetime.datetime(2024, 1, 2, tzinfo=UTC), datetime.datetime(2024, 1, 5, tzinfo=UTC))
    assert seen["has_key"] is False
    assert seen["has_range"] is True
    assert seen["keys"] == seen["out_keys"] == seen["in_keys"] == keys
    assert seen["range"] == seen["out_range"] == seen["in_range"] == RANGE
    assert (seen["window"].start, seen["window"].end) == window
    assert (seen["out_window"].start, seen["out_window"].end) == window
    assert (seen["in_window"].start, seen["in_window"].end) == window
    assert seen["input"] == {key: key.replace("-", "") for key in keys}


def test_the_context_describes_a_static_range():
    seen = {}

    @af.asset(partitions_def=LETTERS)
    def letters(context) -> af.MaterializeResult:
        seen["keys"] = context.partition_keys
        seen["range"] = context.partition_key_range
        seen["has_range"] = context.has_partition_key_range
        with pytest.raises(af.DefinitionError, match="not partitioned by time"):
            _ = context.partition_time_window
        return af.MaterializeResult()

    af.materialize_to_memory([letters], partition_key_range=PartitionKeyRange("b", "d"))
    assert seen == {
        "keys": ["b", "c", "d"],
        "range": PartitionKeyRange("b", "d"),
        "has_range": True,
    }


def test_a_single_partition_run_has_no_key_range():
    seen = {}

    @af.asset(partitions_def=LETTERS)
    def one(context) -> af.MaterializeResult:
        seen["flags"] = (context.has_partition_key, context.has_partition_key_range)
        return af.MaterializeResult()

    af.materialize_to_memory([one], partition_key="a")
    assert seen["flags"] == (True, False)


def test_a_range_output_round_trips_through_files_and_a_later_run_reads_one_partition(
    tmp_path,
):
    storage = af.FilesystemIOManager(base_dir=str(tmp_path))
    af.materialize([daily_values], partition_key_range=RANGE, resources={"io_manager": storage})
    assert sorted(p.name for p in (tmp_path / "daily_values").iterdir()) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]

    @af.asset(partitions_def=DAILY)
    def reader(daily_values):
        return daily_values + "!"

    result = af.materialize(
        [daily_values, reader],
        selection=["reader"],
        partition_key="2024-01-03",
        resources={"io_manager": storage},
    )
    assert result.asset_value("reader") == "20240103!"
    whole = af.materialize(
        [daily_values, reader],
        selection=["reader"],
        partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-03"),
        resources={"io_manager": storage},
        raise_on_error=False,
    )
    # A range run of `reader` loads both upstream partitions as a dict, and the body's
    # string concatenation fails on it: the failure is the user's, the loading worked.
    (failure,) = whole.get_task_failure_events()
    assert "dict" in failure.error.message


def test_an_in_memory_range_output_is_kept_per_partition():
    storage = af.InMemoryIOManager()
    af.materialize([daily_values], partition_key_range=RANGE, resources={"io_manager": storage})
    assert storage.values[("daily_values", "2024-01-03")] == "20240103"
    assert ("daily_values",) not in storage.values


def test_a_materialize_result_only_range_run_just_records_materializations(tmp_path):
    @af.asset(partitions_def=DAILY)
    def recorded(context) -> af.MaterializeResult:
        return af.MaterializeResult(metadata={"first": context.partition_key_range.start})

    storage = af.FilesystemIOManager(base_dir=str(tmp_path))
    result = af.materialize(
        [recorded], partition_key_range=RANGE, resources={"io_manager": storage}
    )
    assert len(result.get_asset_materialization_events()) == 3
    assert not (tmp_path / "recorded").exists()


# -- bad input -------------------------------------------------------------------------


def test_a_range_that_ends_before_it_starts_is_refused_with_the_swap():
    with pytest.raises(PartitionError, match=r"ends before it starts; did you mean '2024-01-02'"):
        af.materialize_to_memory(
            [daily_values], partition_key_range=PartitionKeyRange("2024-01-04", "2024-01-02")
        )


def test_an_unknown_key_in_a_range_is_named_with_the_valid_bounds():
    with pytest.raises(PartitionError) as raised:
        af.materialize_to_memory(
            [daily_values], partition_key_range=PartitionKeyRange("2023-12-01", "2024-01-02")
        )
    message = str(raised.value)
    assert "the start of partition range '2023-12-01'...'2024-01-02'" in message
    assert "Did you mean '2024-01-01'?" in message

    @af.asset(partitions_def=LETTERS)
    def letters():
        return None

    with pytest.raises(PartitionError) as raised:
        af.materialize_to_memory([letters], partition_key_range=PartitionKeyRange("a", "zz"))
    message = str(raised.value)
    assert "the end of partition range 'a'...'zz'" in message
    assert "partitions run from 'a' to 'd'" in message


def test_a_range_on_unpartitioned_assets_is_refused():
    @af.asset
    def plain():
        return 1

    with pytest.raises(PartitionError, match="none of the selected assets is partitioned"):
        af.materialize_to_memory([plain], partition_key_range=RANGE)


def test_a_key_and_a_range_together_are_refused():
    with pytest.raises(PartitionError, match="not both"):
        af.materialize_to_memory(
            [daily_values], partition_key="2024-01-02", partition_key_range=RANGE
        )
    with pytest.raises(PartitionError, match="not both"):
        af.materialize_to_memory(
            [daily_values],
            partition_key="2024-01-02",
            tags={
                "dagster/asset_partition_range_start": "2024-01-02",
                "dagster/asset_partition_range_end": "2024-01-04",
            },
        )


def test_a_half_tagged_range_or_a_disagreeing_tag_is_refused():
    with pytest.raises(PartitionError, match="needs both tags"):
        af.materialize_to_memory(
            [daily_values], tags={"dagster/asset_partition_range_start": "2024-01-02"}
        )
    with pytest.raises(PartitionError, match="disagrees"):
        af.materialize_to_memory(
            [daily_values], partition_key="2024-01-02", tags={"dagster/partition": "2024-01-03"}
        )


def test_a_range_output_that_is_not_a_dict_fails_with_the_fix():
    @af.asset(partitions_def=DAILY)
    def scalar():
        return 1

    result = af.materialize_to_memory([scalar], partition_key_range=RANGE, raise_on_error=False)
    (failure,) = result.get_task_failure_events()
    assert "must return a dict from each partition key" in failure.error.message
    assert "got int" in failure.error.message


def test_a_range_output_with_missing_or_extra_keys_names_them():
    @af.asset(partitions_def=DAILY)
    def partial():
        return {"2024-01-02": 1, "2024-01-09": 2}

    result = af.materialize_to_memory([partial], partition_key_range=RANGE, raise_on_error=False)
    (failure,) = result.get_task_failure_events()
    message = failure.error.message
    assert "missing 2: '2024-01-03', '2024-01-04'" in message
    assert "extra 1: '2024-01-09'" in message
    assert result.get_asset_materialization_events() == []
