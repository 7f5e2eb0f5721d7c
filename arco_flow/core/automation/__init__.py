"""Declarative automation: conditions, the graph state they read, and their evaluation.

Pure. `AutomationCondition` is Dagster's; `evaluate` runs one tick over a prepared
`AutomationGraph` and a `GraphState` and returns requests as partition subsets, the
records that explain them and the next cursor. The daemon supplies state and time.
"""

from arco_flow.core.automation._codec import condition_from_data, condition_to_data
from arco_flow.core.automation._condition import AutomationCondition
from arco_flow.core.automation._cursor_codec import (
    EvaluationNode,
    EvaluationRecord,
    apply_cursor_change,
    cursor_change_to_data,
    evaluations_from_change,
)
from arco_flow.core.automation._evaluation import (
    AssetCursor,
    AssetEvaluation,
    AutomationCursor,
    ConditionResult,
    TickResult,
    evaluate,
)
from arco_flow.core.automation._graph import AutomationGraph, MappingOf
from arco_flow.core.automation._state import (
    AssetState,
    GraphState,
    MaterializationUpdate,
    Status,
)

__all__ = [
    "AssetCursor",
    "AssetEvaluation",
    "AssetState",
    "AutomationCondition",
    "AutomationCursor",
    "AutomationGraph",
    "ConditionResult",
    "EvaluationNode",
    "EvaluationRecord",
    "GraphState",
    "MappingOf",
    "MaterializationUpdate",
    "Status",
    "TickResult",
    "apply_cursor_change",
    "condition_from_data",
    "condition_to_data",
    "cursor_change_to_data",
    "evaluate",
    "evaluations_from_change",
]
