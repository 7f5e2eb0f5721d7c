"""`evaluate_automation_conditions` against a real store: the state the evaluator reads
comes from materializations, partition status and runs, and requests follow them."""

from __future__ import annotations

import datetime

import arco_flow as af
from arco_flow.core.automation import AutomationCondition
from arco_flow.core.partitions import DailyPartitionsDefinition
from arco_flow.daemon.automation import evaluate_automation_conditions

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
