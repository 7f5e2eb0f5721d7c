"""Asset sensors: fired once per new materialization, the cursor remembering the last event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.asset_sensors import (
    AssetSensorDefinition,
    asset_sensor,
    build_multi_asset_sensor_context,
    multi_asset_sensor,
)
from arco_flow.sdk.jobs import define_asset_job
from arco_flow.sdk.run_requests import RunRequest
from arco_flow.sdk.sensors import build_sensor_context

JOB = define_asset_job("downstream_job")


@dataclass(frozen=True)
class Materialization:
    event_id: int
    asset_key: AssetKey
    partition_key: str | None = None


@dataclass
class FakeInstance:
    """The one query asset sensors make: materializations of a key, newest first."""

    events: list[Materialization] = field(default_factory=list)
    next_id: int = 1

    def materialize(self, key: str, partition_key: str | None = None) -> None:
        self.events.append(
            Materialization(self.next_id, AssetKey.from_coercible(key), partition_key)
        )
        self.next_id += 1

    def get_materialization_history(self, asset_key, *, limit=None):
        found = [e for e in reversed(self.events) if e.asset_key == asset_key]
        return found[:limit] if limit else found


@asset_sensor(asset_key="orders", job=JOB)
def on_orders(context, asset_event):
    return RunRequest(run_key=f"orders-{asset_event.event_id}", partition_key=None)


def tick(definition: Any, instance: Any, cursor: str | None) -> Any:
    return definition.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))


def test_fires_once_per_new_materialization_oldest_first():
    instance = FakeInstance()
    instance.materialize("orders")
    instance.materialize("customers")
    instance.materialize("orders")
    result = tick(on_orders, instance, None)
    assert [r.run_key for r in result.run_requests] == ["orders-1", "orders-3"]
    assert result.cursor == "3"


def test_materializations_already_seen_do_not_fire_again():
    instance = FakeInstance()
    instance.materialize("orders")
    first = tick(on_orders, instance, None)
    again = tick(on_orders, instance, first.cursor)
    assert again.run_requests == []
    assert "no new materialization of orders" in again.skip_message
    instance.materialize("orders")
    later = tick(on_orders, instance, again.cursor)
    assert [r.run_key for r in later.run_requests] == ["orders-2"]
    assert later.cursor == "2"


def test_the_event_is_handed_to_the_function_with_its_partition():
    seen = []

    @asset_sensor(asset_key=AssetKey(["raw", "orders"]), job=JOB)
    def record(context, asset_event):
        seen.append((asset_event.asset_key.to_user_string(), asset_event.partition_key))

    instance = FakeInstance()
    instance.materialize("raw/orders", "2026-01-01")
    result = tick(record, instance, None)
    assert seen == [("raw/orders", "2026-01-01")]
    assert result.cursor == "1"
    assert result.run_requests == []


def test_asset_sensor_without_instance_says_how_to_give_one():
    with pytest.raises(DefinitionError, match="instance="):
        on_orders.evaluate_tick(build_sensor_context())


def test_asset_sensor_with_a_foreign_cursor_says_how_to_reset_it():
    with pytest.raises(DefinitionError, match="event id"):
        tick(on_orders, FakeInstance(), "not-a-number")


def test_asset_sensor_is_a_sensor_definition_with_its_key():
    assert isinstance(on_orders, AssetSensorDefinition)
    assert on_orders.asset_key == AssetKey(["orders"])
    assert on_orders.required_resource_keys == frozenset()


@multi_asset_sensor(monitored_assets=["a", "b"], job=JOB)
def both_updated(context):
    latest = context.latest_materialization_records_by_key()
    if all(latest.values()):
        context.advance_all_cursors()
        return RunRequest(
            run_key=f"{latest[AssetKey(['a'])].event_id}-{latest[AssetKey(['b'])].event_id}"
        )
    return None


def test_multi_asset_sensor_fires_when_every_asset_has_a_new_materialization():
    instance = FakeInstance()
    instance.materialize("a")
    waiting = tick(both_updated, instance, None)
    assert waiting.run_requests == []
    assert waiting.cursor is None
    instance.materialize("b")
    fired = tick(both_updated, instance, waiting.cursor)
    assert [r.run_key for r in fired.run_requests] == ["1-2"]
    assert json.loads(fired.cursor) == {"a": 1, "b": 2}
    assert tick(both_updated, instance, fired.cursor).run_requests == []


def test_multi_asset_context_lists_unconsumed_records_per_key():
    instance = FakeInstance()
    for _ in range(3):
        instance.materialize("a")
    context = build_multi_asset_sensor_context(["a", "b"], instance=instance, cursor='{"a": 1}')
    assert [r.event_id for r in context.materialization_records_for_key("a")] == [2, 3]
    assert [r.event_id for r in context.materialization_records_for_key("a", limit=1)] == [2]
    with pytest.raises(DefinitionError, match="does not monitor"):
        context.materialization_records_for_key("c")


def test_multi_asset_sensor_needs_assets_to_monitor():
    def nothing(context):
        return None

    with pytest.raises(DefinitionError, match="monitored_assets"):
        multi_asset_sensor(monitored_assets=[], job=JOB)(nothing)


def test_asset_sensor_reads_the_materializations_of_an_ephemeral_instance():
    from arco_flow.execution.materialize import materialize_to_memory
    from arco_flow.sdk.decorators import asset
    from arco_flow.storage.instance import ArcoInstance

    @asset
    def orders():
        return 1

    instance = ArcoInstance.ephemeral()
    materialize_to_memory([orders], instance=instance)
    first = tick(on_orders, instance, None)
    assert len(first.run_requests) == 1
    assert tick(on_orders, instance, first.cursor).run_requests == []
    materialize_to_memory([orders], instance=instance)
    assert len(tick(on_orders, instance, first.cursor).run_requests) == 1
