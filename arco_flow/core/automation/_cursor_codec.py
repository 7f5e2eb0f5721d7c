"""The data form of the automation cursor, as the daemon records it with each tick.

Pure. A tick is recorded with the *change* it made to the cursor (`cursor_change_to_data`):
the tick's id and time, what it requested, the assets it evaluated (their condition,
partitions definition, stateful node states and evaluation record) and the latest event
ids that moved. Folding the changes of every recorded tick in order
(`apply_cursor_change`) gives back the cursor, so a restarted daemon continues where the
last one stopped. The evaluation records read back without the definitions
(`evaluations_from_change`): labels come from the condition data, counts from the ranges.

A status is written as a bool (unpartitioned) or as ``[[start, stop], ...]``, index ranges
of its definition resolved at the tick's evaluation time; reading resolves it again at
that time (dynamic partitions as the store holds them on reading). An asset's result tree
is written flat (``tree``: shape, subsets by index); records of earlier versions, with the
nested ``result``, read the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arco_flow.core.automation._codec import condition_from_data, condition_to_data
from arco_flow.core.automation._condition import (
    AllDepsCondition,
    AnyDepsCondition,
    AutomationCondition,
)
from arco_flow.core.automation._evaluation import (
    AssetCursor,
    AssetEvaluation,
    AutomationCursor,
    ConditionResult,
)
from arco_flow.core.automation._state import Status
from arco_flow.core.errors import DefinitionError
from arco_flow.core.gc_pause import gc_paused
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    DynamicPartitionsStore,
    KeySpace,
    PartitionsDefinition,
    PartitionsSubset,
    partitions_def_from_data,
    partitions_def_to_data,
)

__all__ = [
    "EvaluationNode",
    "EvaluationRecord",
    "apply_cursor_change",
    "cursor_change_to_data",
    "evaluations_from_change",
]

PartitionsDefOf = Callable[[AssetKey], PartitionsDefinition | None]
"""An asset's partitions definition in the current graph (None: unpartitioned or unknown)."""


@dataclass(frozen=True, slots=True)
class EvaluationNode:
    """One node of a recorded evaluation: the condition, where it was evaluated, how often true."""

    label: str
    key: AssetKey
    num_true: int
    children: tuple[EvaluationNode, ...] = ()


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    """Why an asset was or was not requested on one recorded tick."""

    asset_key: AssetKey
    evaluation_id: int
    timestamp: float
    num_requested: int
    root: EvaluationNode


# -- writing --------------------------------------------------------------------------------


@gc_paused  # hundreds of thousands of small lists on a large change, none in a cycle
def cursor_change_to_data(
    previous: AutomationCursor | None,
    cursor: AutomationCursor,
    evaluated: Iterable[AssetKey],
) -> dict[str, Any]:
    """The change from `previous` to `cursor` for the assets a tick `evaluated`, as data."""
    before = previous.latest_event_ids if previous is not None else {}
    moved = [
        [list(key.path), event_id]
        for key, event_id in cursor.latest_event_ids.items()
        if before.get(key) != event_id
    ]
    tables = _Tables()
    assets = [tables.asset(key, cursor.assets[key]) for key in sorted(evaluated)]
    return {
        "evaluation_id": cursor.evaluation_id,
        "evaluation_timestamp": cursor.evaluation_timestamp,
        "latest_event_ids": moved,
        "requested": [[list(k.path), _status_to_data(s)] for k, s in cursor.requested.items()],
        "volatile": [list(key.path) for key in sorted(cursor.volatile)],
        "conditions": tables.conditions,
        "partitions": tables.partitions,
        "assets": assets,
    }


class _Tables:
    """The distinct conditions and partitions definitions of one change, by position.

    Most assets share a few, so each is written once.
    """

    def __init__(self) -> None:
        self.conditions: list[dict[str, Any]] = []
        self.partitions: list[dict[str, Any]] = []
        self._condition_at: dict[int, tuple[AutomationCondition, int]] = {}
        self._partitions_at: dict[int, tuple[PartitionsDefinition, int]] = {}

    def asset(self, key: AssetKey, entry: AssetCursor) -> dict[str, Any]:
        definition = entry.partitions_def
        return {
            "key": list(key.path),
            "condition": self._condition(entry.condition),
            "partitions": self._partitions(definition) if definition is not None else None,
            "node_states": {path: _status_to_data(s) for path, s in entry.node_states.items()},
            "requested": _status_to_data(entry.evaluation.requested),
            "tree": _tree_to_data(entry.evaluation.result, key),
        }

    def _condition(self, condition: AutomationCondition) -> int:
        known = self._condition_at.get(id(condition))
        if known is None:  # keyed by identity: the graph shares one value among its assets
            known = self._condition_at[id(condition)] = (condition, len(self.conditions))
            self.conditions.append(condition_to_data(condition))
        return known[1]

    def _partitions(self, definition: PartitionsDefinition) -> int:
        known = self._partitions_at.get(id(definition))
        if known is None:
            known = self._partitions_at[id(definition)] = (definition, len(self.partitions))
            self.partitions.append(partitions_def_to_data(definition))
        return known[1]


def _tree_to_data(result: ConditionResult, key: AssetKey) -> dict[str, Any]:
    """A result tree, flat: its nodes in pre-order, each true subset written once.

    ``shape``: per node, its number of children times two, plus one when it is evaluated
    on another asset than its parent (a dep), whose key is then next in ``keys``;
    ``true``: per node, the index of its true subset in ``statuses``. A tick's trees
    share few distinct subsets, so this is a fraction of the nested form's size
    (`_expand_tree` gives the nested form back).
    """
    flat = _FlatTree()
    flat.add(result, key)
    return {"shape": flat.shape, "true": flat.true, "statuses": flat.statuses, "keys": flat.keys}


class _FlatTree:
    """The nodes of a result tree in pre-order.

    A class, not a recursive closure: such a closure is a reference cycle, garbage that
    only the cyclic collector frees (thousands per tick; see `daemon.heap`).
    """

    def __init__(self) -> None:
        self.shape: list[int] = []
        self.true: list[int] = []
        self.keys: list[list[str]] = []
        self.statuses: list[bool | list[list[int]]] = []
        self._known: dict[Any, int] = {}

    def add(self, node: ConditionResult, parent: AssetKey) -> None:
        status = node.true_subset
        marker = status if isinstance(status, bool) else status.ranges
        index = self._known.get(marker)
        if index is None:
            index = self._known[marker] = len(self.statuses)
            self.statuses.append(_status_to_data(status))
        self.true.append(index)
        moved = node.key != parent
        self.shape.append(len(node.child_results) * 2 + moved)
        if moved:
            self.keys.append(list(node.key.path))
        for child in node.child_results:
            self.add(child, node.key)


def _expand_tree(data: Mapping[str, Any]) -> dict[str, Any]:
    """The nested form (``true``, ``key``, ``children``) of a `_tree_to_data` tree."""
    expanded, _ = _expand_node(data, iter(data["keys"]), 0)
    return expanded


def _expand_node(
    data: Mapping[str, Any], keys: Iterator[list[str]], position: int
) -> tuple[dict[str, Any], int]:
    """The node at `position` of a flat tree, expanded, and the position after its subtree."""
    expanded: dict[str, Any] = {"true": data["statuses"][data["true"][position]]}
    count, moved = divmod(data["shape"][position], 2)
    if moved:
        expanded["key"] = next(keys)
    position += 1
    if count:
        children = []
        for _ in range(count):
            child, position = _expand_node(data, keys, position)
            children.append(child)
        expanded["children"] = children
    return expanded, position


def _result_data(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """An entry's result tree in the nested form, whichever form it was written in."""
    tree = entry.get("tree")
    return _expand_tree(tree) if tree is not None else entry["result"]


def _status_to_data(status: Status) -> bool | list[list[int]]:
    if isinstance(status, bool):
        return status
    return [[start, stop] for start, stop in status.ranges]


# -- reading --------------------------------------------------------------------------------


@gc_paused
def apply_cursor_change(
    cursor: AutomationCursor | None,
    data: Mapping[str, Any],
    partitions_def_of: PartitionsDefOf,
    dynamic_partitions_store: DynamicPartitionsStore | None = None,
) -> AutomationCursor:
    """`cursor` with one recorded change (`cursor_change_to_data`) applied.

    Raises:
        DefinitionError: the data is not a cursor change.
    """
    try:
        timestamp = data["evaluation_timestamp"]
        reader = _StatusReader(timestamp, partitions_def_of, dynamic_partitions_store)
        latest = dict(cursor.latest_event_ids) if cursor is not None else {}
        latest.update(
            {AssetKey(path): int(event_id) for path, event_id in data["latest_event_ids"]}
        )
        assets = dict(cursor.assets) if cursor is not None else {}
        conditions = [condition_from_data(c) for c in data["conditions"]]
        definitions = [partitions_def_from_data(dict(p)) for p in data["partitions"]]
        for entry in data["assets"]:
            key = AssetKey(entry["key"])
            definition = None
            if entry["partitions"] is not None:
                definition = definitions[entry["partitions"]]
            assets[key] = reader.asset_cursor(
                key, conditions[entry["condition"]], definition, entry
            )
        requested = {
            AssetKey(path): reader.status(AssetKey(path), None, value)
            for path, value in data["requested"]
        }
        return AutomationCursor(
            evaluation_id=int(data["evaluation_id"]),
            evaluation_timestamp=timestamp,
            assets=assets,
            latest_event_ids=latest,
            requested=requested,
            volatile=frozenset(AssetKey(path) for path in data["volatile"]),
        )
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise DefinitionError(
            f"a recorded automation cursor is malformed ({error!r}); the store holds data this "
            "version cannot read: upgrade Arco Flow, or stop and reset the automation daemon"
        ) from error


class _StatusReader:
    def __init__(
        self,
        timestamp: float | None,
        partitions_def_of: PartitionsDefOf,
        store: DynamicPartitionsStore | None,
    ) -> None:
        self.time = datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None
        self.partitions_def_of, self.store = partitions_def_of, store
        self.spaces: dict[PartitionsDefinition, KeySpace] = {}

    def asset_cursor(
        self,
        key: AssetKey,
        condition: AutomationCondition,
        definition: PartitionsDefinition | None,
        entry: Mapping[str, Any],
    ) -> AssetCursor:
        current = self.partitions_def_of(key)
        if definition is not None and definition == current:
            definition = current  # the graph's value: compared by identity on the hot path
        states = {
            path: self.status(key, definition, value)
            for path, value in entry["node_states"].items()
        }
        result = self.result(condition, key, definition, _result_data(entry))
        requested = self.status(key, definition, entry["requested"])
        return AssetCursor(
            condition=condition,
            partitions_def=definition,
            node_states=states,
            evaluation=AssetEvaluation(key=key, requested=requested, result=result),
        )

    def result(
        self,
        condition: AutomationCondition,
        key: AssetKey,
        definition: PartitionsDefinition | None,
        data: Mapping[str, Any],
    ) -> ConditionResult:
        children_data: Sequence[Mapping[str, Any]] = data.get("children", ())
        children: list[ConditionResult] = []
        for index, child in enumerate(children_data):
            if isinstance(condition, AnyDepsCondition | AllDepsCondition):
                child_condition = condition.operand
            else:
                child_condition = condition.children[index]
            child_key = AssetKey(child["key"]) if "key" in child else key
            child_def = definition if child_key == key else self.partitions_def_of(child_key)
            children.append(self.result(child_condition, child_key, child_def, child))
        true = self.status(key, definition, data["true"])
        return ConditionResult(condition, key, true, tuple(children))

    def status(self, key: AssetKey, definition: PartitionsDefinition | None, value: Any) -> Status:
        if isinstance(value, bool):
            return value
        definition = definition or self.partitions_def_of(key)
        if definition is None:
            return bool(value)
        space = self.spaces.get(definition)
        if space is None:
            space = self.spaces[definition] = definition.resolve(self.time, self.store)
        return PartitionsSubset.from_ranges(space, (tuple(pair) for pair in value))


def evaluations_from_change(
    data: Mapping[str, Any], *, asset_key: AssetKey | None = None
) -> list[EvaluationRecord]:
    """The evaluation records of one recorded change, read without the definitions.

    Args:
        data: The change, as `cursor_change_to_data` wrote it.
        asset_key: Only this asset's record (all by default).
    """
    records = []
    conditions: dict[int, AutomationCondition] = {}
    for entry in data.get("assets", ()):
        key = AssetKey(entry["key"])
        if asset_key is not None and key != asset_key:
            continue
        index = entry["condition"]
        if index not in conditions:
            conditions[index] = condition_from_data(data["conditions"][index])
        condition = conditions[index]
        records.append(
            EvaluationRecord(
                asset_key=key,
                evaluation_id=int(data["evaluation_id"]),
                timestamp=float(data["evaluation_timestamp"] or 0.0),
                num_requested=_count(entry["requested"]),
                root=_node(condition, key, _result_data(entry)),
            )
        )
    return records


def _node(condition: AutomationCondition, key: AssetKey, data: Mapping[str, Any]) -> EvaluationNode:
    children = []
    for index, child in enumerate(data.get("children", ())):
        if isinstance(condition, AnyDepsCondition | AllDepsCondition):
            child_condition = condition.operand
        else:
            child_condition = condition.children[index]
        child_key = AssetKey(child["key"]) if "key" in child else key
        children.append(_node(child_condition, child_key, child))
    return EvaluationNode(
        label=str(condition), key=key, num_true=_count(data["true"]), children=tuple(children)
    )


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    return sum(stop - start for start, stop in value)
