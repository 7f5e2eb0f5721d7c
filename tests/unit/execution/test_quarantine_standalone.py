"""Quarantine decided by standalone blocking checks: held, then promoted or kept apart."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.events import (
    AssetCheckEvaluated,
    AssetMaterialized,
    AssetQuarantined,
    TaskSkipped,
)
from arco_flow.execution.quarantine import discard_quarantine, release_quarantine
from arco_flow.execution.run_operations import reexecute_run
from arco_flow.storage.records import QuarantineStatus


def pipeline(data, partitions_def=None, seen=None):
    """orders (held for the standalone check `positive`) -> report (its length)."""

    @af.asset(quarantine_on_failed_check=True, partitions_def=partitions_def)
    def orders():
        return af.MaterializeResult(value=list(data["orders"]), metadata={"rows": 1})

    @af.asset_check(asset=orders, blocking=True)
    def positive(orders):
        if seen is not None:
            seen.append(list(orders))
        return af.AssetCheckResult(passed=all(v > 0 for v in orders))

    @af.asset(partitions_def=partitions_def)
    def report(orders):
        return len(orders)

    return [orders, positive, report]


@pytest.fixture
def instance():
    instance = af.ArcoInstance.ephemeral()
    yield instance
    instance.dispose()


def run(definitions, io, instance, **kwargs):
    return af.materialize(
        definitions,
        instance=instance,
        resources={"io_manager": io},
        raise_on_error=False,
        **kwargs,
    )


def good_then_bad(instance, io, data, **kwargs):
    definitions = pipeline(data, kwargs.pop("partitions_def", None))
    data["orders"] = [1, 2]
    good = run(definitions, io, instance, **kwargs)
    data["orders"] = [-1]
    bad = run(definitions, io, instance, **kwargs)
    return definitions, good, bad


def test_a_passing_standalone_check_promotes_the_value_and_downstream_reads_it(instance):
    io, data, seen = af.InMemoryIOManager(), {"orders": [3, 4]}, []

    result = run(pipeline(data, seen=seen), io, instance)

    assert result.success
    assert seen == [[3, 4]]  # the check read the held value
    assert io.values[("orders",)] == [3, 4]
    assert io.values[("report",)] == 2
    assert not [key for key in io.values if key[0] == "_quarantine"]
    latest = instance.get_latest_materialization_event("orders")
    assert latest.run_id == result.run_id
    assert latest.task_id == "orders.promote"
    assert latest.metadata["rows"] == {"type": "int", "value": 1}
    [held] = [e for e in result.all_events if isinstance(e, AssetQuarantined)]
    assert held.pending
    assert held.check_names == ("positive",)
    assert instance.get_quarantines() == []
    [promoted] = instance.get_quarantines(status=None)
    assert promoted.status is QuarantineStatus.RELEASED
    [evaluation] = [e for e in result.all_events if isinstance(e, AssetCheckEvaluated)]
    assert evaluation.target_run_id == result.run_id
    assert instance.verify() == []


def test_a_failing_standalone_check_keeps_the_value_quarantined_and_skips_downstream(instance):
    io, data = af.InMemoryIOManager(), {}

    _, good, bad = good_then_bad(instance, io, data)

    assert good.success
    assert not bad.success
    skipped = {e.task_id: e.reason for e in bad.all_events if isinstance(e, TaskSkipped)}
    assert skipped == {
        "orders.promote": "blocking check orders:positive failed",
        "report": "blocking check orders:positive failed",
    }
    assert not [e for e in bad.all_events if isinstance(e, AssetMaterialized)]
    assert io.values[("orders",)] == [1, 2]
    assert io.values[("_quarantine", bad.run_id, "orders")] == [-1]
    assert instance.get_latest_materialization_event("orders").run_id == good.run_id
    [record] = instance.get_quarantines()
    assert (record.run_id, record.check_names) == (bad.run_id, ("positive",))


def test_a_released_quarantine_materializes_downstream(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, _, bad = good_then_bad(instance, io, data)
    definitions = af.Definitions(
        assets=[assets[0], assets[2]], asset_checks=[assets[1]], resources={"io_manager": io}
    )

    release_quarantine(instance, "orders", loader=lambda _: definitions)
    outcome = reexecute_run(instance, bad.run_id, from_failure=True, loader=lambda _: definitions)

    assert io.values[("orders",)] == [-1]
    assert instance.get_latest_materialization_event("orders").run_id == bad.run_id
    assert outcome.succeeded
    assert io.values[("report",)] == 1
    assert instance.get_latest_materialization_event("report").run_id == outcome.run_id
    assert instance.verify() == []


def test_a_discarded_quarantine_keeps_the_last_good_value(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, good, bad = good_then_bad(instance, io, data)
    definitions = af.Definitions(
        assets=[assets[0], assets[2]], asset_checks=[assets[1]], resources={"io_manager": io}
    )

    discard_quarantine(instance, "orders", loader=lambda _: definitions)

    assert ("_quarantine", bad.run_id, "orders") not in io.values
    assert instance.get_latest_materialization_event("orders").run_id == good.run_id


def test_a_partitioned_asset_is_held_and_promoted_per_partition(instance):
    io, data = af.InMemoryIOManager(), {}
    partitions = af.StaticPartitionsDefinition(["a", "b"])
    definitions = pipeline(data, partitions)
    data["orders"] = [1]
    good = run(definitions, io, instance, partition_key="b")
    data["orders"] = [-1]
    bad = run(definitions, io, instance, partition_key="a")

    assert good.success
    assert not bad.success
    assert io.values[("orders", "b")] == [1]
    assert io.values[("report", "b")] == 1
    assert io.values[("_quarantine", bad.run_id, "orders", "a")] == [-1]
    assert ("orders", "a") not in io.values
    [record] = instance.get_quarantines()
    assert (record.partition_key, record.run_id) == ("a", bad.run_id)
    latest = instance.get_latest_materialization_event("orders")
    assert (latest.partition_key, latest.run_id) == ("b", good.run_id)


def test_a_partition_range_is_promoted_partition_by_partition(instance):
    io, data = af.InMemoryIOManager(), {"orders": [5]}
    partitions = af.StaticPartitionsDefinition(["a", "b", "c"])

    @af.asset(quarantine_on_failed_check=True, partitions_def=partitions)
    def orders(context: af.AssetExecutionContext):
        return {key: list(data["orders"]) for key in context.partition_keys}

    @af.asset_check(asset=orders, blocking=True)
    def positive(orders):
        return af.AssetCheckResult(passed=all(v > 0 for values in orders.values() for v in values))

    result = run(
        [orders, positive],
        io,
        instance,
        partition_key_range=af.PartitionKeyRange("a", "b"),
    )

    assert result.success
    assert io.values[("orders", "a")] == [5]
    assert io.values[("orders", "b")] == [5]
    assert not [key for key in io.values if key[0] == "_quarantine"]
    assert [r.partition_key for r in instance.get_quarantines(status=None)] == ["a", "b"]


def test_projections_rebuilt_after_holds_and_promotions_are_unchanged(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, _, _ = good_then_bad(instance, io, data)
    run(assets, io, instance)
    before = (
        instance.get_quarantines(status=None),
        instance.get_latest_materialization_event("orders").event_id,
    )

    instance.rebuild_projections()

    after = (
        instance.get_quarantines(status=None),
        instance.get_latest_materialization_event("orders").event_id,
    )
    assert after == before
    assert [r.status for r in before[0]] == [
        QuarantineStatus.RELEASED,
        QuarantineStatus.QUARANTINED,
        QuarantineStatus.QUARANTINED,
    ]
    assert instance.verify() == []


def test_without_the_check_the_value_is_stored_normally(instance):
    io, data = af.InMemoryIOManager(), {"orders": [-7]}
    definitions = pipeline(data)

    result = run(definitions, io, instance, selection=af.AssetSelection.all().without_checks())

    assert result.success
    assert io.values[("orders",)] == [-7]
    assert instance.get_quarantines(status=None) == []
