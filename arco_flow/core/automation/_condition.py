"""Automation conditions: Dagster's operands, operators and composites, as immutable values.

Pure. A condition is a small frozen tree; equal trees are equal values with equal hashes,
so a condition can key a cache and travel in a manifest (`condition_to_data`). The
composites (`eager`, `on_cron`, `on_missing`) are built from the same operands as in
Dagster 1.13 and carry the same labels, so an evaluation record reads as Dagster's does.
How each node is evaluated lives in `_evaluation`; this module only says what a node is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import ClassVar

from arco_flow.core.errors import DefinitionError
from arco_flow.core.partitions._cron import parse_cron
from arco_flow.core.partitions._ticks import get_zone

__all__ = [
    "AllDepsCondition",
    "AndAutomationCondition",
    "AnyDepsCondition",
    "AutomationCondition",
    "BackfillInProgressCondition",
    "CronTickPassedCondition",
    "ExecutedWithRootTargetCondition",
    "ExecutionFailedCondition",
    "InLatestTimeWindowCondition",
    "InitialEvaluationCondition",
    "MissingCondition",
    "NewlyRequestedCondition",
    "NewlyTrueCondition",
    "NewlyUpdatedCondition",
    "NotAutomationCondition",
    "OrAutomationCondition",
    "RunInProgressCondition",
    "SinceCondition",
    "WillBeRequestedCondition",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationCondition:
    """When an asset should be requested, per partition (Dagster's `AutomationCondition`).

    Build one from the static constructors (`eager()`, `on_cron(...)`, `missing()`, ...)
    and combine with ``&``, ``|``, ``~`` and `since`. Conditions are immutable values.
    """

    label: str | None = None
    """A name shown in evaluation records instead of the structure (`with_label`)."""

    NAME: ClassVar[str] = ""

    # -- structure ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The operand or operator name, without arguments (Dagster's `name`)."""
        return self.NAME

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        """The direct sub-conditions, in evaluation order."""
        return ()

    def get_label(self) -> str | None:
        """The label set with `with_label`, if any."""
        return self.label

    def with_label(self, label: str | None) -> AutomationCondition:
        """This condition with `label` shown in evaluation records."""
        return replace(self, label=label)

    def describe(self) -> str:
        """The structure as an expression, ignoring this node's own label."""
        return self.name + "()"

    def __str__(self) -> str:
        return self.label if self.label is not None else self.describe()

    # -- operators ---------------------------------------------------------------------

    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        left = self.operands if _is_bare(self, AndAutomationCondition) else (self,)
        right = other.operands if _is_bare(other, AndAutomationCondition) else (other,)
        return AndAutomationCondition(operands=(*left, *right))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        left = self.operands if _is_bare(self, OrAutomationCondition) else (self,)
        right = other.operands if _is_bare(other, OrAutomationCondition) else (other,)
        return OrAutomationCondition(operands=(*left, *right))

    def __invert__(self) -> AutomationCondition:
        return NotAutomationCondition(operand=self)

    @property
    def operands(self) -> tuple[AutomationCondition, ...]:
        """The operands of an ``&`` or ``|`` node; a single-element tuple otherwise."""
        return (self,)

    def since(self, reset_condition: AutomationCondition) -> AutomationCondition:
        """True where this condition became true after `reset_condition` last did."""
        return SinceCondition(trigger_condition=self, reset_condition=reset_condition)

    def newly_true(self) -> AutomationCondition:
        """True where this condition is true now and was not on the previous evaluation."""
        return NewlyTrueCondition(operand=self)

    def since_last_handled(self) -> AutomationCondition:
        """True where this became true since the target was last requested or updated."""
        handled = (
            AutomationCondition.newly_requested()
            | AutomationCondition.newly_updated()
            | AutomationCondition.initial_evaluation()
        ).with_label("handled")
        return self.since(handled)

    # -- operands ------------------------------------------------------------------------

    @staticmethod
    def missing() -> AutomationCondition:
        """True for partitions that have never been materialized."""
        return MissingCondition()

    @staticmethod
    def run_in_progress() -> AutomationCondition:
        """True for partitions targeted by an in-progress run that has not yet executed them."""
        return RunInProgressCondition()

    @staticmethod
    def backfill_in_progress() -> AutomationCondition:
        """True for partitions targeted by an in-progress backfill that has not executed them."""
        return BackfillInProgressCondition()

    @staticmethod
    def execution_failed() -> AutomationCondition:
        """True for partitions whose latest run to target them failed."""
        return ExecutionFailedCondition()

    @staticmethod
    def in_progress() -> AutomationCondition:
        """True for partitions targeted by an in-progress run or backfill."""
        return (
            AutomationCondition.run_in_progress() | AutomationCondition.backfill_in_progress()
        ).with_label("in_progress")

    @staticmethod
    def initial_evaluation() -> AutomationCondition:
        """True on the first evaluation (or after the condition or partitions changed)."""
        return InitialEvaluationCondition()

    @staticmethod
    def will_be_requested() -> AutomationCondition:
        """True for partitions requested on this tick (a dependency's: if run together)."""
        return WillBeRequestedCondition()

    @staticmethod
    def newly_updated() -> AutomationCondition:
        """True for partitions materialized since the previous evaluation."""
        return NewlyUpdatedCondition()

    @staticmethod
    def newly_requested() -> AutomationCondition:
        """True for partitions requested on the previous evaluation."""
        return NewlyRequestedCondition()

    @staticmethod
    def executed_with_root_target() -> AutomationCondition:
        """True where the latest update came from a run that also targeted the root asset."""
        return ExecutedWithRootTargetCondition()

    @staticmethod
    def cron_tick_passed(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """True everywhere when a tick of the schedule passed since the previous evaluation.

        Raises:
            DefinitionError: The cron schedule or the time zone is not valid.
        """
        return CronTickPassedCondition(cron_schedule=cron_schedule, cron_timezone=cron_timezone)

    @staticmethod
    def in_latest_time_window(lookback_delta: timedelta | None = None) -> AutomationCondition:
        """True for the latest time partition (or those within `lookback_delta` of its end).

        True for every partition of an asset without time partitions.
        """
        seconds = None if lookback_delta is None else lookback_delta.total_seconds()
        return InLatestTimeWindowCondition(lookback_seconds=seconds)

    @staticmethod
    def any_deps_match(condition: AutomationCondition) -> AutomationCondition:
        """True for partitions where `condition` holds for any dependency partition."""
        return AnyDepsCondition(operand=condition)

    @staticmethod
    def all_deps_match(condition: AutomationCondition) -> AutomationCondition:
        """True for partitions where `condition` holds for every dependency (mapped)."""
        return AllDepsCondition(operand=condition)

    # -- composites, as Dagster 1.13 builds them ------------------------------------------

    @staticmethod
    def newly_missing() -> AutomationCondition:
        """True for partitions that became missing since the previous evaluation."""
        return AutomationCondition.missing().newly_true().with_label("newly_missing")

    @staticmethod
    def any_deps_updated() -> AutomationCondition:
        """True where a dependency updated since the previous tick or will be requested.

        Updates by runs that also targeted this asset are ignored.
        """
        updated = (
            AutomationCondition.newly_updated() & ~AutomationCondition.executed_with_root_target()
        ).with_label("newly_updated_without_root")
        return AutomationCondition.any_deps_match(
            updated | AutomationCondition.will_be_requested()
        ).with_label("any_deps_updated")

    @staticmethod
    def any_deps_missing() -> AutomationCondition:
        """True where a dependency partition is missing and will not be requested this tick."""
        return AutomationCondition.any_deps_match(
            AutomationCondition.missing() & ~AutomationCondition.will_be_requested()
        ).with_label("any_deps_missing")

    @staticmethod
    def any_deps_in_progress() -> AutomationCondition:
        """True where a dependency partition is in progress."""
        return AutomationCondition.any_deps_match(AutomationCondition.in_progress()).with_label(
            "any_deps_in_progress"
        )

    @staticmethod
    def all_deps_updated_since_cron(
        cron_schedule: str, cron_timezone: str = "UTC"
    ) -> AutomationCondition:
        """True where every dependency updated since the schedule's latest tick (or will be)."""
        updated = AutomationCondition.newly_updated().since(
            AutomationCondition.cron_tick_passed(cron_schedule, cron_timezone)
        )
        return AutomationCondition.all_deps_match(
            updated | AutomationCondition.will_be_requested()
        ).with_label(f"all_deps_updated_since_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def eager() -> AutomationCondition:
        """Requests the latest partition when a dependency updates or it becomes missing.

        Not while a dependency is missing or in progress, or the asset is in progress.
        """
        return (
            AutomationCondition.in_latest_time_window()
            & (
                AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()
            ).since_last_handled()
            & ~AutomationCondition.any_deps_missing()
            & ~AutomationCondition.any_deps_in_progress()
            & ~AutomationCondition.in_progress()
        ).with_label("eager")

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """Requests the latest partition once per cron tick, once every dependency updated."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.cron_tick_passed(
                cron_schedule, cron_timezone
            ).since_last_handled()
            & AutomationCondition.all_deps_updated_since_cron(cron_schedule, cron_timezone)
        ).with_label(f"on_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def on_missing() -> AutomationCondition:
        """Requests each newly missing latest partition once, when no dependency is missing."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.missing()
            .newly_true()
            .since_last_handled()
            .with_label("missing_since_last_handled")
            & ~AutomationCondition.any_deps_missing()
        ).with_label("on_missing")


def _is_bare(condition: AutomationCondition, kind: type[AutomationCondition]) -> bool:
    """Whether `condition` is an unlabeled node of `kind` (whose operands ``&``/``|`` flatten)."""
    return type(condition) is kind and condition.label is None


# -- operands ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingCondition(AutomationCondition):
    """Partitions never materialized."""

    NAME: ClassVar[str] = "missing"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInProgressCondition(AutomationCondition):
    """Partitions targeted by an in-progress run."""

    NAME: ClassVar[str] = "run_in_progress"


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillInProgressCondition(AutomationCondition):
    """Partitions targeted by an in-progress backfill."""

    NAME: ClassVar[str] = "backfill_in_progress"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionFailedCondition(AutomationCondition):
    """Partitions whose latest run failed."""

    NAME: ClassVar[str] = "execution_failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class InitialEvaluationCondition(AutomationCondition):
    """Everything on the first evaluation of the root condition."""

    NAME: ClassVar[str] = "initial_evaluation"


@dataclass(frozen=True, slots=True, kw_only=True)
class WillBeRequestedCondition(AutomationCondition):
    """Partitions requested on this tick."""

    NAME: ClassVar[str] = "will_be_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewlyUpdatedCondition(AutomationCondition):
    """Partitions materialized since the previous evaluation."""

    NAME: ClassVar[str] = "newly_updated"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewlyRequestedCondition(AutomationCondition):
    """Partitions requested on the previous evaluation."""

    NAME: ClassVar[str] = "newly_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutedWithRootTargetCondition(AutomationCondition):
    """Partitions whose update came from a run that also targeted the root asset."""

    NAME: ClassVar[str] = "executed_with_root_target"


@dataclass(frozen=True, slots=True, kw_only=True)
class CronTickPassedCondition(AutomationCondition):
    """Everything, when a tick of the schedule passed since the previous evaluation."""

    NAME: ClassVar[str] = "cron_tick_passed"
    cron_schedule: str
    cron_timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            parse_cron(self.cron_schedule)
        except ValueError as error:
            raise DefinitionError(
                f"cron_tick_passed: {self.cron_schedule!r} is not a valid cron schedule "
                f"({error}); write five fields, e.g. '0 0 * * *'"
            ) from error
        try:
            get_zone(self.cron_timezone)
        except ValueError as error:
            raise DefinitionError(f"cron_tick_passed: {error}") from error

    def describe(self) -> str:
        return f"cron_tick_passed({self.cron_schedule}, {self.cron_timezone})"


@dataclass(frozen=True, slots=True, kw_only=True)
class InLatestTimeWindowCondition(AutomationCondition):
    """The latest time partition(s); everything for assets without time partitions."""

    NAME: ClassVar[str] = "in_latest_time_window"
    lookback_seconds: float | None = None
    """How far back from the end of the latest window partitions count; None: the latest."""

    def describe(self) -> str:
        if self.lookback_seconds is None:
            return "in_latest_time_window()"
        return f"in_latest_time_window({timedelta(seconds=self.lookback_seconds)})"


# -- operators ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AndAutomationCondition(AutomationCondition):
    """True where every operand is true."""

    NAME: ClassVar[str] = "and"
    operands: tuple[AutomationCondition, ...]

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def describe(self) -> str:
        return "(" + " & ".join(map(str, self.operands)) + ")"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrAutomationCondition(AutomationCondition):
    """True where any operand is true."""

    NAME: ClassVar[str] = "or"
    operands: tuple[AutomationCondition, ...]

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def describe(self) -> str:
        return "(" + " | ".join(map(str, self.operands)) + ")"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotAutomationCondition(AutomationCondition):
    """True where the operand is false."""

    NAME: ClassVar[str] = "not"
    operand: AutomationCondition

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def describe(self) -> str:
        return f"~{self.operand}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SinceCondition(AutomationCondition):
    """True where the trigger became true after the reset last did (stateful)."""

    NAME: ClassVar[str] = "since"
    trigger_condition: AutomationCondition
    reset_condition: AutomationCondition

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.trigger_condition, self.reset_condition)

    def describe(self) -> str:
        return f"({self.trigger_condition}).since({self.reset_condition})"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewlyTrueCondition(AutomationCondition):
    """True where the operand is true now and was not on the previous evaluation."""

    NAME: ClassVar[str] = "newly_true"
    operand: AutomationCondition

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def describe(self) -> str:
        return f"({self.operand}).newly_true()"


@dataclass(frozen=True, slots=True, kw_only=True)
class AnyDepsCondition(AutomationCondition):
    """True where the operand holds for some dependency partition, mapped downstream."""

    NAME: ClassVar[str] = "any_deps_match"
    operand: AutomationCondition

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def describe(self) -> str:
        return f"any_deps_match({self.operand})"


@dataclass(frozen=True, slots=True, kw_only=True)
class AllDepsCondition(AutomationCondition):
    """True where the operand holds, mapped downstream, for every dependency."""

    NAME: ClassVar[str] = "all_deps_match"
    operand: AutomationCondition

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def describe(self) -> str:
        return f"all_deps_match({self.operand})"
