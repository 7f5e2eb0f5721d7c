"""The planner: (manifest, selection, run config, partition) -> a deterministic `Plan`.

Pure. A plan lists the tasks of a run (one per compute node, per partition where
partitions are run one by one), their dependencies and their stages. Equal inputs give
an equal plan and an equal `plan_id` (SHA-256 of the plan's canonical JSON) in any
process, on any machine, under any ``PYTHONHASHSEED``: every order in a plan is a sort.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_flow.core.canonical_json import canonical_json, fingerprint
from arco_flow.core.errors import PlanError
from arco_flow.core.gc_pause import gc_paused
from arco_flow.core.graph import AssetGraph, find_cycle
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import Manifest, ManifestCheck

__all__ = [
    "Plan",
    "PlanPartition",
    "Task",
    "build_plan",
    "promotion_task_id",
    "plan_from_data",
    "plan_json",
    "plan_to_data",
]

PLAN_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanPartition:
    """The partition a task runs for: one key, or an inclusive range of keys."""

    key: str | None = None
    range_start: str | None = None
    range_end: str | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.range_start is None):
            raise PlanError("a plan partition is either one key or a range, not both or neither")
        if (self.range_start is None) != (self.range_end is None):
            raise PlanError("a partition range needs both its start and its end")


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One unit of work: a compute node for some of its asset keys, maybe one partition."""

    task_id: str
    node: str
    asset_keys: tuple[AssetKey, ...]
    """The keys of `node` this task materializes, sorted."""
    deps: tuple[str, ...] = ()
    """Task ids that must succeed before this one starts, sorted."""
    stage: int = 0
    """Zero for tasks with no upstream task; else one more than the deepest upstream."""
    partition: PlanPartition | None = None
    check_keys: tuple[AssetCheckKey, ...] = ()
    """The asset checks this task evaluates, sorted: checks in its assets' bodies, or the
    checks of its check node (a check task materializes no asset)."""
    gated_by: tuple[AssetCheckKey, ...] = ()
    """Blocking checks of upstream assets in this run, sorted: a failed ``ERROR`` result
    of any of them skips this task (and what depends on it)."""
    held_keys: tuple[AssetKey, ...] = ()
    """Assets whose value of this run waits in quarantine for standalone blocking checks,
    sorted: an asset task stores them there, a check task reads them from there."""
    promotes: tuple[AssetKey, ...] = ()
    """The held asset a promotion task moves from quarantine to its normal location once
    its blocking checks passed (a promotion task runs no body and has no asset keys)."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The tasks of one run, in (stage, task_id) order, and the plan's identity."""

    plan_id: str
    manifest_fingerprint: str
    run_config_fingerprint: str
    tasks: tuple[Task, ...]
    asset_keys: tuple[AssetKey, ...]
    """Every asset key the plan materializes, sorted."""
    partition: PlanPartition | None = None
    _by_id: dict[str, Task] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((task.task_id, task) for task in self.tasks)

    @property
    def stages(self) -> tuple[tuple[Task, ...], ...]:
        """Tasks grouped by stage, in stage order."""
        if not self.tasks:
            return ()
        groups: list[list[Task]] = [[] for _ in range(self.tasks[-1].stage + 1)]
        for task in self.tasks:
            groups[task.stage].append(task)
        return tuple(tuple(group) for group in groups)

    def task(self, task_id: str) -> Task:
        """The task with `task_id`."""
        try:
            return self._by_id[task_id]
        except KeyError:
            raise PlanError(f"plan {self.plan_id[:12]} has no task {task_id!r}") from None

    @property
    def task_ids(self) -> tuple[str, ...]:
        """Every task id in plan order."""
        return tuple(task.task_id for task in self.tasks)

    @property
    def check_keys(self) -> tuple[AssetCheckKey, ...]:
        """Every asset check the plan evaluates, sorted."""
        return tuple(sorted(key for task in self.tasks for key in task.check_keys))


@gc_paused
def build_plan(
    manifest: Manifest,
    graph: AssetGraph,
    selection: Collection[AssetKey],
    *,
    run_config: Mapping[str, Any] | None = None,
    partition: PlanPartition | None = None,
    checks: Collection[AssetCheckKey] = (),
) -> Plan:
    """Plans the materialization of `selection` and the evaluation of `checks`.

    Args:
        manifest: the definitions, as data.
        graph: the asset graph of `manifest`.
        selection: the asset keys to materialize.
        run_config: the run's config in plain-dict form; part of the plan's identity.
        partition: the partition key or range every task runs for, if any.
        checks: the asset checks to evaluate. A check in an asset's body runs in that
            asset's task; a standalone check is a task of its own, after the tasks of
            the assets it reads. A blocking check gates the tasks of its asset's
            children: they wait for it, and are skipped when it fails.

    Returns:
        The plan. Tasks depend on each other only through selected assets: an unselected
        upstream asset is read from its last materialization.

    Raises:
        PlanError: a key is unknown or external, a multi-asset that cannot be subset is
            partly selected, the selected multi-assets form a cycle between nodes, or a
            check is unknown or evaluated in the body of an asset left out.
    """
    if checks:
        return _build_plan_with_checks(
            manifest, graph, selection, run_config=run_config, partition=partition, checks=checks
        )
    selected = _validated_selection(graph, selection)
    assets = graph.assets
    keys_by_node: dict[str, list[AssetKey]] = {}
    node_of: dict[int, str] = {}
    for position in selected:
        asset = assets[position]
        keys_by_node.setdefault(asset.node, []).append(asset.key)
        node_of[position] = asset.node
    _check_subsets(graph, keys_by_node)

    node_deps: dict[str, set[str]] = {node: set() for node in keys_by_node}
    for position, node in node_of.items():
        own = node_deps[node]
        for parent in graph.parent_indices(position):
            parent_node = node_of.get(parent)
            if parent_node is not None and parent_node != node:
                own.add(parent_node)

    if len(keys_by_node) == len(node_of):
        stage_of = _single_key_stages(graph, node_of)
    else:
        stage_of = _node_stages(node_deps)
    suffix = "" if partition is None else f"[{_partition_label(partition)}]"
    tasks = [
        Task(
            task_id=node + suffix,
            node=node,
            asset_keys=tuple(keys_by_node[node]),  # appended in graph (sorted) order
            deps=tuple(sorted([dep + suffix for dep in deps] if suffix else deps)),
            stage=stage_of[node],
            partition=partition,
        )
        for node, deps in ((node, node_deps[node]) for node in keys_by_node)
    ]
    tasks.sort(key=lambda task: (task.stage, task.task_id))
    run_config_fingerprint = fingerprint(dict(run_config or {}))
    asset_keys = tuple(assets[p].key for p in selected)  # positions are in sorted key order
    body = {
        "version": PLAN_FORMAT_VERSION,
        "manifest": manifest.fingerprint,
        "run_config": run_config_fingerprint,
        "partition": _partition_data(partition),
        "tasks": [_task_data(task) for task in tasks],
    }
    return Plan(
        # The body holds only strings and ints we built: its JSON is canonical as written.
        plan_id=fingerprint(body, plain=True),
        manifest_fingerprint=manifest.fingerprint,
        run_config_fingerprint=run_config_fingerprint,
        tasks=tuple(tasks),
        asset_keys=asset_keys,
        partition=partition,
    )


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as plain data (what `plan_id` is the fingerprint of, plus the id)."""
    return {
        "plan_id": plan.plan_id,
        "version": PLAN_FORMAT_VERSION,
        "manifest": plan.manifest_fingerprint,
        "run_config": plan.run_config_fingerprint,
        "partition": _partition_data(plan.partition),
        "tasks": [_task_data(task) for task in plan.tasks],
    }


def plan_from_data(data: Mapping[str, Any]) -> Plan:
    """Rebuilds a plan from `plan_to_data` output (a resuming coordinator reads it back)."""
    partition_data = data.get("partition")
    partition = (
        None
        if partition_data is None
        else PlanPartition(
            key=partition_data[0], range_start=partition_data[1], range_end=partition_data[2]
        )
    )
    tasks = tuple(
        Task(
            task_id=row[0],
            node=row[1],
            asset_keys=tuple(AssetKey.from_user_string(key) for key in row[2]),
            deps=tuple(row[3]),
            stage=row[4],
            partition=partition,
            check_keys=tuple(AssetCheckKey.from_user_string(k) for k in _at(row, 5)),
            gated_by=tuple(AssetCheckKey.from_user_string(k) for k in _at(row, 6)),
            held_keys=tuple(AssetKey.from_user_string(k) for k in _at(row, 7)),
            promotes=tuple(AssetKey.from_user_string(k) for k in _at(row, 8)),
        )
        for row in data["tasks"]
    )
    return Plan(
        plan_id=data["plan_id"],
        manifest_fingerprint=data["manifest"],
        run_config_fingerprint=data["run_config"],
        tasks=tasks,
        asset_keys=tuple(sorted({key for task in tasks for key in task.asset_keys})),
        partition=partition,
    )


def _task_data(task: Task) -> list[Any]:
    data = [
        task.task_id,
        task.node,
        ["/".join(key.path) for key in task.asset_keys],
        list(task.deps),
        task.stage,
    ]
    if task.check_keys or task.gated_by or task.held_keys or task.promotes:
        # Only tasks with checks carry these: plans without checks keep their ids.
        data.append([key.to_user_string() for key in task.check_keys])
        data.append([key.to_user_string() for key in task.gated_by])
    if task.held_keys or task.promotes:
        # Only tasks of held assets carry these: other plans keep their ids.
        data.append(["/".join(key.path) for key in task.held_keys])
        data.append(["/".join(key.path) for key in task.promotes])
    return data


def _at(row: list[Any], index: int) -> list[Any]:
    return row[index] if len(row) > index else []


def _partition_data(partition: PlanPartition | None) -> list[str | None] | None:
    if partition is None:
        return None
    return [partition.key, partition.range_start, partition.range_end]


def _partition_label(partition: PlanPartition) -> str:
    if partition.key is not None:
        return partition.key
    return f"{partition.range_start}...{partition.range_end}"


def _validated_selection(graph: AssetGraph, selection: Collection[AssetKey]) -> list[int]:
    index = graph.position_of
    try:
        found = sorted(map(index.__getitem__, selection))  # the loop runs in C
    except KeyError:
        found = None  # an unknown key: collect every problem below
    if found is not None:
        external = graph.external_positions
        if not external or external.isdisjoint(found):
            return found
    problems: list[str] = []
    positions: list[int] = []
    assets = graph.assets
    for key in selection:
        if not graph.has(key):
            problems.append(graph.unknown_key_message(key))
            continue
        position = graph.index_of(key)
        if not assets[position].is_executable:
            problems.append(
                f"asset {key.to_user_string()!r} is external (declared with AssetSpec) and "
                "cannot be materialized; leave it out of the selection"
            )
            continue
        positions.append(position)
    if problems:
        raise PlanError("cannot plan the selection:\n  - " + "\n  - ".join(sorted(problems)))
    positions.sort()
    return positions


def _check_subsets(graph: AssetGraph, keys_by_node: Mapping[str, list[AssetKey]]) -> None:
    """A node whose assets cannot be subset must be selected whole."""
    problems: list[str] = []
    members = graph.keys_by_shared_node
    for node in members.keys() & keys_by_node.keys():
        keys = keys_by_node[node]
        everything = members[node]
        if len(keys) == len(everything):
            continue
        if graph.get(everything[0]).can_subset:
            continue
        missing = sorted(set(everything) - set(keys))
        problems.append(
            f"multi-asset {node!r} cannot run for part of its assets, and "
            f"{', '.join(k.to_user_string() for k in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not selected: select them too "
            "(AssetSelection.required_multi_asset_neighbors()), or declare it with "
            "can_subset=True"
        )
    if problems:
        raise PlanError("\n".join(problems))


def _single_key_stages(graph: AssetGraph, node_of: Mapping[int, str]) -> dict[str, int]:
    """Stages when every node has one selected key.

    The node graph is then the asset graph restricted to the selection: acyclic, and
    visited in topological order by walking the graph's own order.
    """
    stage_at: dict[int, int] = {}
    for position in graph.topological_positions:
        if position not in node_of:
            continue
        stage = 0
        for parent in graph.parent_indices(position):
            parent_stage = stage_at.get(parent)
            if parent_stage is not None and parent_stage >= stage:
                stage = parent_stage + 1
        stage_at[position] = stage
    return {node_of[position]: stage for position, stage in stage_at.items()}


def _node_stages(node_deps: Mapping[str, set[str]]) -> dict[str, int]:
    names = sorted(node_deps)
    position = {name: index for index, name in enumerate(names)}
    parents = [sorted(position[d] for d in node_deps[name]) for name in names]
    children: list[list[int]] = [[] for _ in names]
    remaining = [len(p) for p in parents]
    for child, own in enumerate(parents):
        for parent in own:
            children[parent].append(child)
    level = [0] * len(names)
    frontier = [index for index in range(len(names)) if remaining[index] == 0]
    done = 0
    while frontier:
        done += len(frontier)
        following: list[int] = []
        for index in frontier:
            for child in children[index]:
                level[child] = max(level[child], level[index] + 1)
                remaining[child] -= 1
                if remaining[child] == 0:
                    following.append(child)
        frontier = following
    if done != len(names):
        stuck = [index for index in range(len(names)) if remaining[index] > 0]
        cycle = " -> ".join(names[i] for i in find_cycle(stuck, parents))
        raise PlanError(
            f"the selected multi-assets depend on each other in a cycle: {cycle}. "
            "Split one of them, or declare it with can_subset=True and select fewer keys."
        )
    return {name: level[index] for index, name in enumerate(names)}


def _build_plan_with_checks(
    manifest: Manifest,
    graph: AssetGraph,
    selection: Collection[AssetKey],
    *,
    run_config: Mapping[str, Any] | None,
    partition: PlanPartition | None,
    checks: Collection[AssetCheckKey],
) -> Plan:
    """`build_plan` when checks are evaluated: asset tasks, check tasks and gates."""
    base = build_plan(manifest, graph, selection, run_config=run_config, partition=partition)
    suffix = "" if partition is None else f"[{_partition_label(partition)}]"
    chosen = _validated_checks(graph, checks, set(base.asset_keys))
    task_of_key = {key: task.task_id for task in base.tasks for key in task.asset_keys}
    in_body: dict[str, list[AssetCheckKey]] = {}
    by_check_node: dict[str, list[ManifestCheck]] = {}
    for key, check in chosen.items():
        if check.node == graph.get(key.asset_key).node:
            in_body.setdefault(task_of_key[key.asset_key], []).append(key)
        else:
            by_check_node.setdefault(check.node, []).append(check)
    deps: dict[str, set[str]] = {task.task_id: set(task.deps) for task in base.tasks}
    owner: dict[AssetCheckKey, str] = {}
    for task_id, keys in in_body.items():
        owner.update(dict.fromkeys(keys, task_id))
    check_tasks: dict[str, tuple[str, list[AssetCheckKey]]] = {}
    reads_of: dict[str, set[AssetKey]] = {}
    for node, node_checks in by_check_node.items():
        task_id = node + suffix
        if task_id in deps:
            raise PlanError(f"check node {node!r} has the name of an asset node; rename the check")
        reads = {c.asset_key for c in node_checks} | {
            dep for c in node_checks for dep in c.additional_deps
        }
        deps[task_id] = {task_of_key[key] for key in reads if key in task_of_key}
        reads_of[task_id] = reads
        keys = sorted(AssetCheckKey(c.asset_key, c.name) for c in node_checks)
        check_tasks[task_id] = (node, keys)
        owner.update(dict.fromkeys(keys, task_id))
    gates: dict[str, set[AssetCheckKey]] = {}
    for key, check in chosen.items():
        if not check.blocking:
            continue
        for child in graph.children_of(key.asset_key):
            child_task = task_of_key.get(child)
            if child_task is None or child_task == task_of_key[key.asset_key]:
                continue  # not in this run, or in the same task: nothing to hold back
            gates.setdefault(child_task, set()).add(key)
            if owner[key] != task_of_key[key.asset_key]:
                deps[child_task].add(owner[key])
    held, promotions = _plan_promotions(
        graph, chosen, task_of_key, owner, reads_of, deps, gates, suffix
    )
    stage_of = _node_stages(deps)
    tasks = [
        Task(
            task_id=task.task_id,
            node=task.node,
            asset_keys=task.asset_keys,
            deps=tuple(sorted(deps[task.task_id])),
            stage=stage_of[task.task_id],
            partition=partition,
            check_keys=tuple(sorted(in_body.get(task.task_id, ()))),
            gated_by=tuple(sorted(gates.get(task.task_id, ()))),
            held_keys=tuple(sorted(held.get(task.task_id, ()))),
        )
        for task in base.tasks
    ]
    tasks.extend(
        Task(
            task_id=task_id,
            node=node,
            asset_keys=(),
            deps=tuple(sorted(deps[task_id])),
            stage=stage_of[task_id],
            partition=partition,
            check_keys=tuple(keys),
            gated_by=tuple(sorted(gates.get(task_id, ()))),
            held_keys=tuple(sorted(held.get(task_id, ()))),
        )
        for task_id, (node, keys) in check_tasks.items()
    )
    tasks.extend(
        Task(
            task_id=task_id,
            node=graph.get(key).node,
            asset_keys=(),
            deps=tuple(sorted(deps[task_id])),
            stage=stage_of[task_id],
            partition=partition,
            gated_by=tuple(sorted(gates.get(task_id, ()))),
            promotes=(key,),
        )
        for task_id, key in promotions.items()
    )
    tasks.sort(key=lambda task: (task.stage, task.task_id))
    body = {
        "version": PLAN_FORMAT_VERSION,
        "manifest": manifest.fingerprint,
        "run_config": base.run_config_fingerprint,
        "partition": _partition_data(partition),
        "tasks": [_task_data(task) for task in tasks],
    }
    return Plan(
        plan_id=fingerprint(body, plain=True),
        manifest_fingerprint=manifest.fingerprint,
        run_config_fingerprint=base.run_config_fingerprint,
        tasks=tuple(tasks),
        asset_keys=base.asset_keys,
        partition=partition,
    )


def promotion_task_id(asset_key: AssetKey, suffix: str = "") -> str:
    """The id of the task that promotes `asset_key`'s held value (``a__b.promote``).

    The dot keeps it apart from every node name (node names have none).
    """
    return "__".join(asset_key.path) + ".promote" + suffix


def _plan_promotions(
    graph: AssetGraph,
    chosen: Mapping[AssetCheckKey, ManifestCheck],
    task_of_key: Mapping[AssetKey, str],
    owner: Mapping[AssetCheckKey, str],
    reads_of: Mapping[str, set[AssetKey]],
    deps: dict[str, set[str]],
    gates: dict[str, set[AssetCheckKey]],
    suffix: str,
) -> tuple[dict[str, set[AssetKey]], dict[str, AssetKey]]:
    """Holds the values that standalone blocking checks decide on, and plans promotions.

    An asset that quarantines on a failed check, planned with a standalone blocking check
    of its own, is held: its task stores the value in quarantine, the check tasks of its
    checks read it from there, and a promotion task (after them, gated by every blocking
    check of the asset) moves it to the normal location. What else reads the asset waits
    for the promotion. Updates `deps` and `gates` in place.

    Returns:
        Task id -> the held keys it stores or reads; promotion task id -> its asset.
    """
    held_assets: set[AssetKey] = set()
    for key, check in chosen.items():
        task_id = task_of_key.get(key.asset_key)
        if (
            check.blocking
            and task_id is not None
            and owner[key] != task_id
            and graph.get(key.asset_key).quarantine_on_failed_check
        ):
            held_assets.add(key.asset_key)
    held: dict[str, set[AssetKey]] = {}
    promotions: dict[str, AssetKey] = {}
    for asset_key in sorted(held_assets):
        asset_task = task_of_key[asset_key]
        promotion = promotion_task_id(asset_key, suffix)
        if promotion in deps:
            raise PlanError(
                f"two held assets would share the promotion task {promotion!r}; rename one "
                f"of them (asset {asset_key.to_user_string()!r})"
            )
        promotions[promotion] = asset_key
        held.setdefault(asset_task, set()).add(asset_key)
        checkers = {owner[key] for key in chosen if key.asset_key == asset_key} - {asset_task}
        for checker in checkers:
            held.setdefault(checker, set()).add(asset_key)
        deps[promotion] = {asset_task, *checkers}
        gates[promotion] = {
            key for key, check in chosen.items() if key.asset_key == asset_key and check.blocking
        }
        readers = {task_of_key.get(child) for child in graph.children_of(asset_key)}
        readers.update(t for t, reads in reads_of.items() if asset_key in reads)
        for reader in readers - checkers - {None, asset_task}:
            assert reader is not None
            deps[reader].add(promotion)
    return held, promotions


def _validated_checks(
    graph: AssetGraph,
    checks: Collection[AssetCheckKey],
    planned: set[AssetKey],
) -> dict[AssetCheckKey, ManifestCheck]:
    """The checks to plan, by key, sorted; every problem raised at once."""
    known = graph.check_by_key
    problems: list[str] = []
    chosen: dict[AssetCheckKey, ManifestCheck] = {}
    for key in sorted(set(checks)):
        check = known.get(key)
        if check is None:
            problems.append(f"no asset check has key {key.to_user_string()!r}")
            continue
        asset = graph.get(key.asset_key)
        if check.node == asset.node and key.asset_key not in planned:
            problems.append(
                f"check {key.to_user_string()!r} is evaluated in the body of asset "
                f"{key.asset_key.to_user_string()!r}, which is not selected: select the asset "
                "too, or leave the check out (AssetSelection.without_checks())"
            )
            continue
        chosen[key] = check
    problems.extend(_check_subset_problems(graph, chosen))
    if problems:
        raise PlanError("cannot plan the checks:\n  - " + "\n  - ".join(problems))
    return chosen


def _check_subset_problems(
    graph: AssetGraph, chosen: Mapping[AssetCheckKey, ManifestCheck]
) -> list[str]:
    """A check node that cannot be subset must evaluate all of its checks, or none."""
    selected: dict[str, set[AssetCheckKey]] = {}
    for key, check in chosen.items():
        if check.node != graph.get(key.asset_key).node and not check.can_subset:
            selected.setdefault(check.node, set()).add(key)
    if not selected:
        return []
    everything: dict[str, set[AssetCheckKey]] = {}
    for check in graph.checks:
        if check.node in selected:
            everything.setdefault(check.node, set()).add(AssetCheckKey(check.asset_key, check.name))
    problems = []
    for node in sorted(selected):
        missing = sorted(everything[node] - selected[node])
        if missing:
            shown = ", ".join(key.to_user_string() for key in missing)
            problems.append(
                f"multi_asset_check {node!r} cannot evaluate part of its checks, and {shown} "
                f"{'is' if len(missing) == 1 else 'are'} not selected: select "
                f"{'it' if len(missing) == 1 else 'them'} too (AssetSelection.checks(...)), or "
                "declare it with @multi_asset_check(can_subset=True)"
            )
    return problems


def plan_json(plan: Plan) -> str:
    """The canonical JSON of `plan_to_data(plan)`."""
    return canonical_json(plan_to_data(plan))
