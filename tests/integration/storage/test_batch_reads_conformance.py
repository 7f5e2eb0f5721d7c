"""Reads of many assets at once agree with the same reads asset by asset, on every backend.

The automation daemon reads thousands of assets' state per tick through these; each must
answer exactly what the one-asset read answers, across chunk boundaries and tenants.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arco_flow.core.events import NewEvent, RunFailed, RunSucceeded, idempotency_key
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import DynamicPartitionsDefinition
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.sql_store import SqlEventStore
from tests.integration.storage.test_partitions_conformance import (
    DAILY,
    NOW,
    _append,
    _failed,
    _materialized,
    _other_tenant,
    _started,
    instance,  # noqa: F401  # the memory/sqlite fixture
)

DAYS = [f"2024-01-{day:02d}" for day in range(1, 11)]


def _statuses_one_by_one(target: ArcoInstance, definitions) -> dict:
    return {
        key: target.get_partition_status(key, definition, current_time=NOW)
        for key, definition in definitions.items()
    }


def _keys(status) -> tuple:
    return tuple(
        tuple(subset.get_partition_keys())
        for subset in (status.materialized, status.failed, status.in_progress, status.missing)
    )


def _same(batch: dict, single: dict) -> None:
    assert batch.keys() == single.keys()
    for key in single:
        assert _keys(batch[key]) == _keys(single[key]), key


def test_batched_status_equals_the_status_read_asset_by_asset(instance):  # noqa: F811
    assets = [AssetKey(f"a{i}") for i in range(4)]
    customers = DynamicPartitionsDefinition(name="customers")
    instance.add_dynamic_partitions("customers", ["x", "y", "z"])
    _append(instance, _started("done", DAYS[0], asset=assets[0]))
    _append(instance, _materialized("done", DAYS[0], asset=assets[0]))
    _append(instance, RunSucceeded(run_id="done"))
    _append(instance, _started("bad", DAYS[1], asset=assets[1]), _failed("bad"))
    _append(instance, RunFailed(run_id="bad"))
    _append(instance, _started("going", DAYS[2], DAYS[5], asset=assets[2]))
    _append(instance, _materialized("going", DAYS[3], asset=assets[2]))
    _append(instance, _started("dyn", "y", asset=assets[3]), _materialized("dyn", "y", assets[3]))
    definitions = {assets[0]: DAILY, assets[1]: DAILY, assets[2]: DAILY, assets[3]: customers}
    # First read: no cache yet; second read: from the caches the first one kept.
    for _ in range(2):
        batch = instance.get_partition_statuses(definitions, current_time=NOW)
        _same(batch, _statuses_one_by_one(instance, definitions))
    assert _keys(batch[assets[2]])[2] == (DAYS[2], DAYS[4], DAYS[5])  # in progress
    instance.delete_dynamic_partition("customers", "x")  # indices move: caches are stale
    _same(
        instance.get_partition_statuses(definitions, current_time=NOW),
        _statuses_one_by_one(instance, definitions),
    )


def test_batched_status_crosses_chunks_with_caches_of_different_ages(instance):  # noqa: F811
    assets = [AssetKey(f"asset_{i:04d}") for i in range(1_100)]
    run_id = "bulk"
    _append(instance, _started(run_id, DAYS[0], DAYS[9], asset=assets[0]))
    instance.append(
        [
            _new(_materialized(run_id, DAYS[i % 10], asset=key))
            for i, key in enumerate(assets)
            if i % 3
        ]
    )
    definitions = dict.fromkeys(assets, DAILY)
    instance.get_partition_statuses(dict.fromkeys(assets[:600], DAILY), current_time=NOW)
    instance.append([_new(_materialized(run_id, DAYS[9], asset=key)) for key in assets[::7]])
    _append(instance, RunFailed(run_id=run_id))
    _same(
        instance.get_partition_statuses(definitions, current_time=NOW),
        _statuses_one_by_one(instance, definitions),
    )


def _new(event):
    return NewEvent(event=event, idempotency_key=idempotency_key(event))


_STEP = st.tuples(
    st.sampled_from(["materialize", "fail", "start", "succeed"]),
    st.integers(0, 2),  # asset
    st.integers(0, 9),  # day
    st.integers(0, 3),  # range length
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_STEP, max_size=12), read_between=st.booleans())
def test_batched_status_agrees_on_any_history(tmp_path_factory, steps, read_between):
    made = ArcoInstance(SqlEventStore(tmp_path_factory.mktemp("db") / "arco.db"), None)
    memory = ArcoInstance(MemoryEventStore(), None)
    assets = [AssetKey(f"h{i}") for i in range(3)]
    definitions = dict.fromkeys(assets, DAILY)
    try:
        for number, (action, asset, day, length) in enumerate(steps):
            run_id = f"r{number}"
            end = DAYS[min(day + length, 9)] if length else None
            events = [_started(run_id, DAYS[day], end, asset=assets[asset])]
            if action == "materialize":
                events.append(_materialized(run_id, DAYS[day], asset=assets[asset]))
            if action in ("materialize", "succeed"):
                events.append(RunSucceeded(run_id=run_id))
            if action == "fail":
                events += [_failed(run_id), RunFailed(run_id=run_id)]
            for target in (made, memory):
                _append(target, *events)
                if read_between:  # caches kept between appends, then extended
                    target.get_partition_statuses(definitions, current_time=NOW)
        for target in (made, memory):
            _same(
                target.get_partition_statuses(definitions, current_time=NOW),
                _statuses_one_by_one(target, definitions),
            )
    finally:
        made.dispose()
        memory.dispose()


def test_materializations_after_each_assets_own_event_id(instance):  # noqa: F811
    assets = [AssetKey(f"m{i:04d}") for i in range(700)]
    _append(instance, _started("r", DAYS[0], DAYS[9], asset=assets[0]))
    instance.append(
        [_new(_materialized("r", day, asset=key)) for key in assets for day in DAYS[:3]]
    )
    history = {key: instance.get_materialization_history(key) for key in assets}
    after = {key: history[key][i % 4].event_id if i % 4 < 3 else 0 for i, key in enumerate(assets)}
    after[assets[5]] = history[assets[5]][0].event_id  # the newest: nothing after it
    found = instance.get_materializations_after(after)
    assert assets[5] not in found
    for key in assets:
        expected = [r for r in reversed(history[key]) if r.event_id > after[key]]
        assert found.get(key, []) == expected
    assert _other_tenant(instance).get_materializations_after(after) == {}


def test_latest_runs_by_asset_are_the_newest_run_of_each(instance):  # noqa: F811
    assets = [AssetKey(f"l{i}") for i in range(5)]
    for number in range(6):
        run_id = f"run{number}"
        _append(instance, _started(run_id, DAYS[number], asset=assets[number % 3]))
        _append(instance, RunFailed(run_id=run_id) if number % 2 else RunSucceeded(run_id=run_id))
    found = instance.get_latest_runs_by_asset(assets)
    for key in assets:
        runs = instance.get_runs(asset_key=key, limit=1)
        assert found.get(key) == (runs[0] if runs else None)
    assert found[assets[0]].run_id == "run3"
    assert assets[4] not in found
    assert _other_tenant(instance).get_latest_runs_by_asset(assets) == {}


def test_last_event_id_is_of_the_instances_own_workspace(instance):  # noqa: F811
    scope = {"tenant_id": instance.tenant_id, "workspace_id": instance.workspace_id}
    assert instance.storage.last_event_id(**scope) == 0
    _append(instance, _started("r", DAYS[0]))
    mine = instance.storage.last_event_id(**scope)
    other = _other_tenant(instance)
    _append(other, _started("s", DAYS[0]))
    assert instance.storage.last_event_id(**scope) == mine
    assert other.storage.last_event_id(tenant_id="other", workspace_id=other.workspace_id) > mine


def test_latest_sequences_are_the_newest_of_the_types_asked_newest_first(instance):  # noqa: F811
    scope = {"tenant_id": instance.tenant_id, "workspace_id": instance.workspace_id}
    stream = "run:r"
    assert instance.storage.latest_sequences(stream, event_types=["x/1"], limit=2, **scope) == []
    _append(instance, _started("r", DAYS[0], DAYS[3]))
    for day in DAYS[:3]:
        _append(instance, _materialized("r", day))
    _append(instance, RunSucceeded(run_id="r"))
    records = instance.read_stream(stream)
    materialized = [
        r.stream_sequence for r in records if r.event.EVENT_TYPE == "asset.materialized/1"
    ]
    assert len(materialized) == 3
    found = instance.storage.latest_sequences(
        stream, event_types=["asset.materialized/1"], limit=2, **scope
    )
    assert found == materialized[:-3:-1]
    both = instance.storage.latest_sequences(
        stream, event_types=["asset.materialized/1", RunSucceeded.EVENT_TYPE], limit=10, **scope
    )
    assert both == sorted([*materialized, records[-1].stream_sequence], reverse=True)
    other = {"tenant_id": "other", "workspace_id": instance.workspace_id}
    assert instance.storage.latest_sequences(stream, event_types=["x"], limit=9, **other) == []
