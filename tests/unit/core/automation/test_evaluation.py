"""The evaluator on small graphs: operands, operators, the composites, incrementality."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.automation import AutomationCondition, GraphState, evaluate
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)
from tests.unit.core.automation.conftest import START, World, build

AC = AutomationCondition
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
COLORS = StaticPartitionsDefinition(["blue", "green", "red"])


def _timeline(condition, steps, deps=None, partitions=None, target="b"):
    world = World(build(deps or {"a": [], "b": ["a"]}, {target: condition}, partitions))
    counts = []
    for step in steps:
        minutes = 1
        if isinstance(step, tuple):
            step, minutes = step
        for name in step:
            world.materialize(name, run_asset_keys=step)
        counts.append(world.tick(minutes).get_num_requested(AssetKey(target)))
    return counts


# -- composites, on timelines checked against Dagster 1.13 ---------------------------------


def test_eager_requests_once_per_parent_update_and_not_for_runs_that_built_both():
    steps = [[], ["a"], [], ["b"], ["a"], [], ["a", "b"], []]
    assert _timeline(AC.eager(), steps) == [0, 1, 0, 0, 1, 0, 0, 0]


def test_eager_waits_while_the_parent_is_in_progress():
    world = World(build({"a": [], "b": ["a"]}, {"b": AC.eager()}))
    world.tick()
    world.materialize("a")
    world.start("a")
    assert world.tick().requests == {}
    world.finish("a")
    assert world.tick().get_num_requested(AssetKey("b")) == 1


def test_on_missing_requests_nothing_for_assets_missing_before_the_first_tick():
    assert _timeline(AC.on_missing(), [[], ["a"], [], [], ["b"], []]) == [0] * 6


def test_on_cron_requests_once_per_tick_after_parents_updated():
    steps = [[], ([], 60), ["a"], [], ([], 60), [], ["a"], []]
    assert _timeline(AC.on_cron("0 * * * *"), steps) == [0, 0, 1, 0, 0, 0, 1, 0]


def test_on_missing_requests_each_new_daily_partition_once():
    world = World(build({"b": []}, {"b": AC.on_missing()}, {"b": DAILY}))
    assert world.tick().requests == {}  # the initial evaluation handles what is missing
    assert world.requested(world.tick(24 * 60), "b") == ["2024-01-10"]
    assert world.tick().requests == {}


def test_eager_on_daily_assets_requests_only_the_latest_partition():
    world = World(build({"a": [], "b": ["a"]}, {"b": AC.eager()}, {"a": DAILY, "b": DAILY}))
    world.tick()
    world.materialize("a", "2024-01-05", "2024-01-09")
    world.materialize("b", "2024-01-09")
    result = world.tick()
    assert result.requests == {}  # only 01-09 (latest) is eligible, and b has it
    world.materialize("a", "2024-01-09")
    assert world.requested(world.tick(), "b") == ["2024-01-09"]


# -- operands ---------------------------------------------------------------------------------


def test_missing_is_the_complement_of_materialized_per_partition():
    world = World(build({"b": []}, {"b": AC.missing()}, {"b": COLORS}))
    world.materialize("b", "green")
    assert world.requested(world.tick(), "b") == ["blue", "red"]


def test_newly_updated_holds_for_one_tick_only():
    world = World(build({"b": []}, {"b": AC.newly_updated()}))
    world.tick()
    world.materialize("b")
    assert world.tick().get_num_requested(AssetKey("b")) == 1
    assert world.tick().get_num_requested(AssetKey("b")) == 0


def test_newly_requested_is_the_previous_ticks_request():
    condition = AC.initial_evaluation() | AC.newly_requested()
    world = World(build({"b": []}, {"b": condition}))
    assert [world.tick().get_num_requested(AssetKey("b")) for _ in range(3)] == [1, 1, 1]


def test_cron_tick_passed_holds_on_the_first_tick_after_each_tick():
    world = World(build({"b": []}, {"b": AC.cron_tick_passed("0 * * * *")}))
    counts = [world.tick(m).get_num_requested(AssetKey("b")) for m in (1, 30, 30, 1, 60)]
    assert counts == [0, 0, 1, 0, 1]


def test_in_latest_time_window_with_lookback_takes_the_last_two_days():
    condition = AC.in_latest_time_window(timedelta(hours=48))
    world = World(build({"b": []}, {"b": condition}, {"b": DAILY}))
    assert world.requested(world.tick(), "b") == ["2024-01-08", "2024-01-09"]


def test_in_latest_time_window_of_a_multi_asset_takes_the_latest_day_of_each_color():
    multi = MultiPartitionsDefinition({"date": DAILY, "color": COLORS})
    world = World(build({"b": []}, {"b": AC.in_latest_time_window()}, {"b": multi}))
    assert world.requested(world.tick(), "b") == [
        "blue|2024-01-09",
        "green|2024-01-09",
        "red|2024-01-09",
    ]


def test_any_deps_missing_maps_daily_parent_partitions_to_the_child():
    world = World(
        build({"a": [], "b": ["a"]}, {"b": AC.any_deps_missing()}, {"a": DAILY, "b": DAILY})
    )
    world.materialize("a", *[f"2024-01-0{d}" for d in range(1, 10)])
    world.materialize("a")  # nothing new
    assert world.tick().requests == {}


def test_all_deps_match_without_deps_is_true_and_any_deps_match_is_false():
    world = World(build({"b": []}, {"b": AC.all_deps_match(AC.missing())}))
    assert world.tick().get_num_requested(AssetKey("b")) == 1
    world = World(build({"b": []}, {"b": AC.any_deps_match(AC.missing())}))
    assert world.tick().get_num_requested(AssetKey("b")) == 0


def test_not_and_or_combine_per_partition():
    condition = AC.missing() & ~AC.in_progress() | AC.in_progress() & ~AC.missing()
    world = World(build({"b": []}, {"b": condition}, {"b": COLORS}))
    world.materialize("b", "red")
    world.start("b", "blue", "red")
    assert world.requested(world.tick(), "b") == ["green", "red"]


def test_since_resets_and_keeps_its_state_between_ticks():
    condition = AC.newly_updated().since(AC.cron_tick_passed("0 0 * * *"))
    world = World(build({"b": []}, {"b": condition}))
    world.tick()
    world.materialize("b")
    assert [world.tick().get_num_requested(AssetKey("b")) for _ in range(3)] == [1, 1, 1]
    assert world.tick(24 * 60).get_num_requested(AssetKey("b")) == 0


def test_will_be_requested_sees_the_parents_request_of_this_tick():
    conditions = {"a": AC.missing(), "b": AC.any_deps_match(AC.will_be_requested())}
    world = World(build({"a": [], "b": ["a"]}, conditions))
    result = world.tick()
    assert result.get_num_requested(AssetKey("a")) == 1
    assert result.get_num_requested(AssetKey("b")) == 1


# -- labels, records -----------------------------------------------------------------------


def test_records_explain_each_sub_condition_with_dagster_labels():
    world = World(build({"a": [], "b": ["a"]}, {"b": AC.eager()}))
    world.tick()
    world.materialize("a")
    record = world.tick().evaluations[AssetKey("b")].result
    assert record.label == "eager"
    labels = [child.label for child in record.child_results]
    assert labels[0] == "in_latest_time_window()"
    assert "~any_deps_missing" in labels
    assert record.num_true == 1


def test_str_reads_as_an_expression():
    assert str(AC.missing() & ~AC.in_progress()) == "(missing() & ~in_progress)"
    assert str((AC.missing() | AC.newly_updated()).with_label("x")) == "x"


# -- incrementality ------------------------------------------------------------------------


def test_an_idle_tick_evaluates_nothing():
    world = World(build({"a": [], "b": ["a"], "c": ["b"]}, {"b": AC.eager(), "c": AC.eager()}))
    world.tick()
    world.tick()
    assert world.tick().evaluations == {}


def test_a_change_evaluates_only_the_assets_that_read_it():
    deps = {"a": [], "b": ["a"], "x": [], "y": ["x"]}
    world = World(build(deps, {"b": AC.eager(), "y": AC.eager()}))
    world.tick()
    world.tick()
    world.materialize("a")
    assert set(world.tick().evaluations) == {AssetKey("b")}


def test_unknown_changes_evaluate_everything():
    world = World(build({"a": [], "b": ["a"]}, {"b": AC.eager()}))
    cursor = world.tick().cursor
    result = evaluate(world.graph, GraphState(), cursor, START + timedelta(minutes=5))
    assert set(result.evaluations) == {AssetKey("b")}


_CONDITIONS = [
    AC.eager(),
    AC.on_missing(),
    AC.on_cron("*/10 * * * *"),
    AC.missing() & ~AC.any_deps_missing(),
    AC.any_deps_updated().since(AC.newly_requested()),
]
_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "start a", "finish a", ""]),
        st.integers(min_value=1, max_value=25),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    events=_EVENTS,
    b=st.sampled_from(_CONDITIONS),
    c=st.sampled_from(_CONDITIONS),
    daily=st.booleans(),
)
def test_incremental_ticks_equal_full_evaluation_on_every_tick(events, b, c, daily):
    deps = {"a": [], "b": ["a"], "c": ["a", "b"]}
    partitions = {"a": DAILY, "b": DAILY, "c": DAILY} if daily else None
    worlds = [World(build(deps, {"b": b, "c": c}, partitions), full=full) for full in (False, True)]
    for event, minutes in events:
        for world in worlds:
            if event.startswith("start"):
                world.start("a", "2024-01-09") if daily else world.start("a")
            elif event.startswith("finish"):
                world.finish("a")
            elif event:
                keys = ("2024-01-09",) if daily else ()
                world.materialize(event, *keys)
        incremental, full = (world.tick(minutes * 13) for world in worlds)
        assert incremental.requests == full.requests


def test_conditions_built_twice_are_equal_values():
    assert AC.eager() == AC.eager()
    assert hash(AC.on_cron("0 * * * *")) == hash(AC.on_cron("0 * * * *"))
    assert AC.on_cron("0 * * * *") != AC.on_cron("0 0 * * *")
