"""The cursor's data form: folding the recorded changes gives back a cursor that ticks
exactly as the in-memory one, and the evaluation records read back without definitions."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.automation import (
    AutomationCondition,
    AutomationCursor,
    apply_cursor_change,
    cursor_change_to_data,
    evaluations_from_change,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import DailyPartitionsDefinition, StaticPartitionsDefinition
from tests.unit.core.automation.conftest import World, build

AC = AutomationCondition
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
COLORS = StaticPartitionsDefinition(["blue", "green", "red"])
DEPS = {"a": [], "b": ["a"], "c": ["b"], "d": [], "e": ["d"]}
CONDITIONS = {
    "b": AC.eager(),
    "c": AC.on_missing() | AC.eager(),
    "d": AC.on_cron("*/5 * * * *"),
    "e": AC.any_deps_updated().since(AC.newly_requested()) & ~AC.in_progress(),
}
PARTITIONS = {"a": DAILY, "b": DAILY, "c": DAILY, "d": COLORS, "e": COLORS}
KEYS = {"a": ["2024-01-09", "2024-01-08"], "d": ["blue", "red"]}


def _fold(changes: list[dict[str, Any]], world: World) -> AutomationCursor | None:
    cursor = None
    for change in changes:
        cursor = apply_cursor_change(cursor, change, lambda key: world.definition(key.path[-1]))
    return cursor


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["", "a", "b", "c", "d", "ad"]), st.integers(1, 7)),
        min_size=2,
        max_size=8,
    )
)
def test_a_folded_cursor_ticks_as_the_in_memory_one(steps: list[tuple[str, int]]) -> None:
    live = World(build(DEPS, CONDITIONS, PARTITIONS))
    folded = World(build(DEPS, CONDITIONS, PARTITIONS))
    changes: list[dict[str, Any]] = []
    for names, minutes in steps:
        for world in (live, folded):
            for name in names:
                keys = KEYS.get(name, [])
                world.materialize(name, *keys, run_asset_keys=list(names))
        previous = _fold(changes, folded)
        folded.cursor = previous
        expected = live.tick(minutes)
        got = folded.tick(minutes)
        assert {k: _keys(v) for k, v in got.requests.items()} == {
            k: _keys(v) for k, v in expected.requests.items()
        }
        change = cursor_change_to_data(previous, got.cursor, got.evaluations)
        changes.append(json.loads(json.dumps(change)))


def _keys(status: Any) -> Any:
    return status if isinstance(status, bool) else status.get_partition_keys()


def test_evaluation_records_read_back_labels_and_counts() -> None:
    world = World(build({"a": [], "b": ["a"]}, {"b": AC.eager()}, {"a": DAILY, "b": DAILY}))
    first = world.tick()
    world.materialize("a", "2024-01-09")
    result = world.tick()
    change = cursor_change_to_data(first.cursor, result.cursor, result.evaluations)
    [record] = evaluations_from_change(json.loads(json.dumps(change)), asset_key=AssetKey("b"))
    assert record.num_requested == 1
    assert record.root.label == "eager"
    assert record.evaluation_id == result.cursor.evaluation_id
    deps_updated = [
        node
        for child in record.root.children
        for node in child.children
        for node in node.children
        if node.label == "any_deps_updated"
    ]
    assert deps_updated
    assert deps_updated[0].children[0].key == AssetKey("a")
    assert evaluations_from_change(change, asset_key=AssetKey("a")) == []


def test_only_moved_event_ids_are_written() -> None:
    world = World(build({"a": [], "b": ["a"]}, {"b": AC.eager()}))
    first = world.tick()
    world.materialize("a")
    second = world.tick()
    change = cursor_change_to_data(first.cursor, second.cursor, second.evaluations)
    assert change["latest_event_ids"] == [[["a"], 1]]
    third = world.tick()
    assert cursor_change_to_data(second.cursor, third.cursor, {})["latest_event_ids"] == []


def _nested(result: Any, key: AssetKey) -> dict[str, Any]:
    """The result tree as versions before the flat ``tree`` wrote it."""
    true = result.true_subset
    data: dict[str, Any] = {
        "true": true if isinstance(true, bool) else [list(pair) for pair in true.ranges]
    }
    if result.key != key:
        data["key"] = list(result.key.path)
    if result.child_results:
        data["children"] = [_nested(child, result.key) for child in result.child_results]
    return data


def test_records_written_with_nested_result_trees_read_the_same() -> None:
    world = World(build(DEPS, CONDITIONS, PARTITIONS))
    first = world.tick()
    world.materialize("a", "2024-01-09", "2024-01-08")
    world.materialize("d", "blue")
    second = world.tick(5)
    change = json.loads(
        json.dumps(cursor_change_to_data(first.cursor, second.cursor, second.evaluations))
    )
    old = json.loads(json.dumps(change))
    for entry in old["assets"]:
        key = AssetKey(entry["key"])
        entry["result"] = _nested(second.cursor.assets[key].evaluation.result, key)
        del entry["tree"]
    assert len(json.dumps(change)) < len(json.dumps(old))
    assert evaluations_from_change(old) == evaluations_from_change(change)
    folded_new = _fold([change], world)
    folded_old = _fold([old], world)
    assert folded_new is not None
    assert folded_old is not None
    for key, entry in folded_new.assets.items():
        assert folded_old.assets[key].evaluation == entry.evaluation
        assert entry.evaluation == second.cursor.assets[key].evaluation
