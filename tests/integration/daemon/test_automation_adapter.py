"""`evaluate_automation_conditions` against a real store: the state the evaluator reads
comes from materializations, partition status and runs, and requests follow them."""

from __future__ import annotations

import datetime

import arco_flow as af
from arco_flow.core.automation import AssetState, AutomationCondition
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import DailyPartitionsDefinition
from arco_flow.daemon.automation import asset_states, evaluate_automation_conditions

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-06")
NOW = datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)


@af.asset
def up() -> int:
    return 1


@af.asset
def down(up: int) -> int:
    return up + 1


@af.asset(partitions_def=DAILY)
def daily_up(context: af.AssetExecutionContext) -> str:
    return context.partition_key


@af.asset(partitions_def=DAILY)
def daily_down(daily_up: str) -> str:
    return daily_up


def test_eager_requests_the_downstream_once_after_its_upstream_updates() -> None:
    defs = af.Definitions(assets=[up, down])
    conditions = {"down": AutomationCondition.eager()}
    with af.ArcoInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs, instance, conditions=conditions)
        assert first.get_num_requested("down") == 0  # up was never materialized
        af.materialize([up], instance=instance)
        after = evaluate_automation_conditions(
            defs, instance, cursor=first.cursor, conditions=conditions
        )
        assert after.get_num_requested("down") == 1
        assert after.get_requested_partitions("down") == {None}
        again = evaluate_automation_conditions(
            defs, instance, cursor=after.cursor, conditions=conditions
        )
        assert again.get_num_requested("down") == 0  # requested already; nothing new
        assert [result.key for result in after.results] == sorted(after.tick.evaluations)


def test_eager_on_time_partitions_requests_the_updated_latest_window_only() -> None:
    # As in Dagster, eager() holds in_latest_time_window(): an older day updated upstream
    # is not requested downstream; the latest one is.
    defs = af.Definitions(assets=[daily_up, daily_down])
    conditions = {"daily_down": AutomationCondition.eager()}
    with af.ArcoInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(
            defs, instance, evaluation_time=NOW, conditions=conditions
        )
        for key in ("2024-01-02", "2024-01-05"):
            assert af.materialize([daily_up], partition_key=key, instance=instance).success
        after = evaluate_automation_conditions(
            defs, instance, cursor=first.cursor, evaluation_time=NOW, conditions=conditions
        )
        assert after.get_requested_partitions("daily_down") == {"2024-01-05"}
        assert after.total_requested == 1


def _records_of(instance: af.ArcoInstance, key: str) -> list:
    return list(reversed(instance.get_materialization_history(key)))


@af.asset(name="daily_up", partitions_def=DAILY)
def daily_range(context: af.AssetExecutionContext) -> dict[str, str]:
    return {key: key for key in context.partition_keys}


def test_state_reads_only_what_the_cursor_has_not_seen(tmp_path) -> None:
    partitions = {AssetKey("daily_up"): DAILY, AssetKey("up"): None}
    with af.ArcoInstance.from_home(tmp_path) as instance:
        keys = ["2024-01-01", "2024-01-02", "2024-01-03"]
        run = af.materialize(
            [daily_range], partition_key_range=af.PartitionKeyRange(*keys[::2]), instance=instance
        )
        assert run.success
        assert af.materialize([up], instance=instance).success
        assert af.materialize([up], instance=instance).success
        first = asset_states(instance, partitions, NOW, seen=None)
        # No cursor yet: the evaluator ignores updates, so only the latest one is read.
        assert [u.event_id for u in first[AssetKey("up")].updates] == [
            _records_of(instance, "up")[-1].event_id
        ]
        seen = {AssetKey("up"): _records_of(instance, "up")[0].event_id}
        later = asset_states(instance, partitions, NOW, seen=seen)
        assert [u.event_id for u in later[AssetKey("up")].updates] == [
            _records_of(instance, "up")[-1].event_id
        ]
        # One run's materializations of three partitions are one update over the three.
        (update,) = later[AssetKey("daily_up")].updates
        assert set(update.partitions.get_partition_keys()) == set(keys)
        assert update.run_asset_keys == frozenset({AssetKey("daily_up")})
        assert update.event_id == _records_of(instance, "daily_up")[-1].event_id
        assert later[AssetKey("daily_up")].materialized.get_partition_keys() == keys
        assert later[AssetKey("up")].materialized is True


def test_state_of_an_unpartitioned_asset_follows_its_latest_run(tmp_path) -> None:
    @af.asset(name="flaky")
    def flaky() -> int:
        raise ValueError("boom")

    partitions = {AssetKey("up"): None, AssetKey("flaky"): None, AssetKey("down"): None}
    with af.ArcoInstance.from_home(tmp_path) as instance:
        assert af.materialize([up], instance=instance).success
        assert not af.materialize([flaky], instance=instance, raise_on_error=False).success
        states = asset_states(instance, partitions, NOW, seen={})
        assert states[AssetKey("up")].execution_failed is False
        assert states[AssetKey("flaky")].execution_failed is True
        assert states[AssetKey("flaky")].materialized is False
        assert states[AssetKey("down")] == AssetState()
