"""The data form of automation conditions, for the manifest.

Pure. `condition_to_data` writes a condition as plain JSON data (dicts, lists, strings,
numbers) and `condition_from_data` gives back an equal condition. The form is stable:
each node is ``{"type": <name>, ...fields}``, labels are written only when set, and a type
name never changes once released.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arco_flow.core.automation._condition import (
    AllDepsCondition,
    AndAutomationCondition,
    AnyDepsCondition,
    AutomationCondition,
    BackfillInProgressCondition,
    CronTickPassedCondition,
    ExecutedWithRootTargetCondition,
    ExecutionFailedCondition,
    InitialEvaluationCondition,
    InLatestTimeWindowCondition,
    MissingCondition,
    NewlyRequestedCondition,
    NewlyTrueCondition,
    NewlyUpdatedCondition,
    NotAutomationCondition,
    OrAutomationCondition,
    RunInProgressCondition,
    SinceCondition,
    WillBeRequestedCondition,
)
from arco_flow.core.errors import DefinitionError

__all__ = ["condition_from_data", "condition_to_data"]

_LEAVES: dict[str, type[AutomationCondition]] = {
    cls.NAME: cls
    for cls in (
        MissingCondition,
        RunInProgressCondition,
        BackfillInProgressCondition,
        ExecutionFailedCondition,
        InitialEvaluationCondition,
        WillBeRequestedCondition,
        NewlyUpdatedCondition,
        NewlyRequestedCondition,
        ExecutedWithRootTargetCondition,
    )
}
_UNARY: dict[str, type[NotAutomationCondition | NewlyTrueCondition | AnyDepsCondition]] = {
    "not": NotAutomationCondition,
    "newly_true": NewlyTrueCondition,
    "any_deps_match": AnyDepsCondition,
}


def condition_to_data(condition: AutomationCondition) -> dict[str, Any]:
    """The data form of `condition`."""
    data: dict[str, Any] = {"type": condition.NAME}
    if condition.label is not None:
        data["label"] = condition.label
    if isinstance(condition, CronTickPassedCondition):
        data["cron_schedule"] = condition.cron_schedule
        data["cron_timezone"] = condition.cron_timezone
    elif isinstance(condition, InLatestTimeWindowCondition):
        if condition.lookback_seconds is not None:
            data["lookback_seconds"] = condition.lookback_seconds
    elif isinstance(condition, AndAutomationCondition | OrAutomationCondition):
        data["operands"] = [condition_to_data(child) for child in condition.operands]
    elif isinstance(condition, SinceCondition):
        data["trigger"] = condition_to_data(condition.trigger_condition)
        data["reset"] = condition_to_data(condition.reset_condition)
    elif condition.children:
        data["operand"] = condition_to_data(condition.children[0])
    return data


def condition_from_data(data: Mapping[str, Any]) -> AutomationCondition:
    """The condition `data` describes (`condition_to_data` output).

    Raises:
        DefinitionError: `data` is not the data form of a condition.
    """
    kind = data.get("type")
    label = data.get("label")
    leaf = _LEAVES.get(kind) if isinstance(kind, str) else None
    if leaf is not None:
        return leaf(label=label)
    if kind == "cron_tick_passed":
        return CronTickPassedCondition(
            cron_schedule=data["cron_schedule"],
            cron_timezone=data.get("cron_timezone", "UTC"),
            label=label,
        )
    if kind == "in_latest_time_window":
        return InLatestTimeWindowCondition(
            lookback_seconds=data.get("lookback_seconds"), label=label
        )
    if kind == "and":
        return AndAutomationCondition(operands=_operands(data), label=label)
    if kind == "or":
        return OrAutomationCondition(operands=_operands(data), label=label)
    if kind == "since":
        return SinceCondition(
            trigger_condition=condition_from_data(data["trigger"]),
            reset_condition=condition_from_data(data["reset"]),
            label=label,
        )
    if kind == "all_deps_match":
        return AllDepsCondition(operand=condition_from_data(data["operand"]), label=label)
    unary = _UNARY.get(kind) if isinstance(kind, str) else None
    if unary is not None:
        return unary(operand=condition_from_data(data["operand"]), label=label)
    raise DefinitionError(
        f"automation condition data has unknown type {kind!r}; it was written by a newer "
        "version of Arco Flow or by hand: redeploy the code location with this version"
    )


def _operands(data: Mapping[str, Any]) -> tuple[AutomationCondition, ...]:
    return tuple(condition_from_data(child) for child in data["operands"])
