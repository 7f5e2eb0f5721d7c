"""Quarantine: a failed blocking check keeps the value apart until release or discard."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.errors import NotFoundError
from arco_flow.core.events import AssetMaterialized, AssetQuarantined, TaskSkipped
from arco_flow.execution.quarantine import discard_quarantine, release_quarantine
from arco_flow.execution.run_operations import reexecute_run
from arco_flow.storage.records import QuarantineStatus


def pipeline(data, partitions_def=None):
    """orders (quarantined when a value is not positive) -> report (its length)."""

    @af.asset(
        check_specs=[af.AssetCheckSpec("positive", asset="orders", blocking=True)],
        quarantine_on_failed_check=True,
        partitions_def=partitions_def,
    )
    def orders():
        value = list(data["orders"])
        yield af.Output(value)
        yield af.AssetCheckResult(check_name="positive", passed=all(v > 0 for v in value))

    @af.asset(partitions_def=partitions_def)
    def report(orders):
        return len(orders)

    return [orders, report]


@pytest.fixture
def instance():
    instance = af.ArcoInstance.ephemeral()
    yield instance
    instance.dispose()


def run(assets, io, instance, **kwargs):
    return af.materialize(
        assets,
        instance=instance,
        resources={"io_manager": io},
        raise_on_error=False,
        **kwargs,
    )


def quarantined_run(instance, io, data, **kwargs):
    assets = pipeline(data, kwargs.pop("partitions_def", None))
    data["orders"] = [1, 2]
    good = run(assets, io, instance, **kwargs)
    data["orders"] = [-1]
    bad = run(assets, io, instance, **kwargs)
    return assets, good, bad


def test_a_failed_blocking_check_quarantines_the_value_and_keeps_the_latest_one(instance):
    io, data = af.InMemoryIOManager(), {}
    _, good, bad = quarantined_run(instance, io, data)
    assert good.success
    assert not bad.success
    quarantined = [e for e in bad.all_events if isinstance(e, AssetQuarantined)]
    assert [(e.asset_key.to_user_string(), e.check_names) for e in quarantined] == [
        ("orders", ("positive",))
    ]
    assert not [e for e in bad.all_events if isinstance(e, AssetMaterialized)]
    skipped = [e for e in bad.all_events if isinstance(e, TaskSkipped)]
    assert [e.task_id for e in skipped] == ["report"]
    assert io.values[("orders",)] == [1, 2]
    assert io.values[("_quarantine", bad.run_id, "orders")] == [-1]
    assert instance.get_latest_materialization_event("orders").run_id == good.run_id
    [record] = instance.get_quarantines()
    assert (record.asset_key, record.run_id, record.check_names) == (
        af.AssetKey("orders"),
        bad.run_id,
        ("positive",),
    )


def test_a_released_quarantine_materializes_downstream(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, _, bad = quarantined_run(instance, io, data)
    definitions = af.Definitions(assets=assets, resources={"io_manager": io})

    release_quarantine(instance, "orders", loader=lambda _: definitions)

    assert io.values[("orders",)] == [-1]
    assert ("_quarantine", bad.run_id, "orders") not in io.values
    assert instance.get_latest_materialization_event("orders").run_id == bad.run_id
    assert instance.get_quarantines() == []
    [released] = instance.get_quarantines(status=QuarantineStatus.RELEASED)
    assert released.resolved_event_id is not None

    outcome = reexecute_run(instance, bad.run_id, from_failure=True, loader=lambda _: definitions)

    assert outcome.succeeded
    assert io.values[("report",)] == 1
    assert instance.get_latest_materialization_event("report").run_id != bad.run_id
    assert instance.verify() == []


def test_a_discarded_quarantine_drops_the_value_and_keeps_the_last_good_one(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, good, bad = quarantined_run(instance, io, data)
    definitions = af.Definitions(assets=assets, resources={"io_manager": io})

    discard_quarantine(instance, "orders", reason="bad feed", loader=lambda _: definitions)

    assert ("_quarantine", bad.run_id, "orders") not in io.values
    assert io.values[("orders",)] == [1, 2]
    assert instance.get_latest_materialization_event("orders").run_id == good.run_id
    assert [r.status for r in instance.get_quarantines(status=None)] == [QuarantineStatus.DISCARDED]
    with pytest.raises(NotFoundError, match="no value in quarantine"):
        release_quarantine(instance, "orders", loader=lambda _: definitions)


def test_a_partitioned_asset_is_quarantined_and_released_per_partition(instance):
    io, data = af.InMemoryIOManager(), {}
    partitions = af.StaticPartitionsDefinition(["a", "b"])
    assets = pipeline(data, partitions)
    data["orders"] = [1]
    run(assets, io, instance, partition_key="b")
    data["orders"] = [-1]
    bad = run(assets, io, instance, partition_key="a")
    [record] = instance.get_quarantines()
    assert record.partition_key == "a"
    assert io.values[("_quarantine", bad.run_id, "orders", "a")] == [-1]
    assert io.values[("orders", "b")] == [1]
    definitions = af.Definitions(assets=assets, resources={"io_manager": io})

    with pytest.raises(NotFoundError, match="partition 'b'"):
        release_quarantine(instance, "orders", partition_key="b", loader=lambda _: definitions)
    release_quarantine(instance, "orders", partition_key="a", loader=lambda _: definitions)

    assert io.values[("orders", "a")] == [-1]
    latest = instance.get_latest_materialization_event("orders")
    assert (latest.partition_key, latest.run_id) == ("a", bad.run_id)


def test_quarantine_projection_rebuilt_from_the_log_is_unchanged(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, _, _ = quarantined_run(instance, io, data)
    data["orders"] = [-2]
    run(assets, io, instance)
    definitions = af.Definitions(assets=assets, resources={"io_manager": io})
    first = instance.get_quarantines()[0]
    discard_quarantine(instance, "orders", run_id=first.run_id, loader=lambda _: definitions)
    before = instance.get_quarantines(status=None)

    instance.rebuild_projections()

    assert instance.get_quarantines(status=None) == before
    assert [r.status for r in before] == [
        QuarantineStatus.DISCARDED,
        QuarantineStatus.QUARANTINED,
    ]
    assert instance.verify() == []


def test_several_quarantined_values_need_a_run_to_pick_one(instance):
    io, data = af.InMemoryIOManager(), {}
    assets, _, _ = quarantined_run(instance, io, data)
    run(assets, io, instance)
    definitions = af.Definitions(assets=assets, resources={"io_manager": io})
    with pytest.raises(af.ArcoError, match="pick one with --partition and/or --run"):
        release_quarantine(instance, "orders", loader=lambda _: definitions)


def test_a_passing_check_materializes_normally(instance):
    io, data = af.InMemoryIOManager(), {}
    data["orders"] = [3]
    result = run(pipeline(data), io, instance)
    assert result.success
    assert io.values[("orders",)] == [3]
    assert instance.get_quarantines(status=None) == []
