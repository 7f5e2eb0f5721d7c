"""Automation on a large graph: the cost of an idle tick, and from one event to its request.

10,000 daily-partitioned assets (1,000 partitions each by default) in layers of `--width`,
each reading two assets of the layer above, all under `AutomationCondition.eager()`. The
state is every partition materialized. After a first (full) tick and a settling tick:

- idle: a tick where nothing changed (`evaluate` with an empty change set);
- event: a root's latest partition is materialized; the time of the tick that requests
  its downstream (checked: eager requests a child with its parent), then settling ticks.

Prints one JSON line: p50/p99 (ms) of both, the first tick, and the graph's build time,
and the cost of the event tick's record (the cursor change the daemon appends with the
tick, as JSON: `tick_record_*`). Only pure work is timed: reading state from the store and
appending the tick are the daemon's part (`tests/integration/daemon/test_automation_loop.py`
runs that path end to end on small graphs).
"""

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from _common import check

from arco_flow.core.automation import (
    AssetState,
    AutomationCondition,
    AutomationGraph,
    GraphState,
    MaterializationUpdate,
    cursor_change_to_data,
    evaluate,
)
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import ManifestAsset
from arco_flow.core.partitions import DailyPartitionsDefinition


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=1_000)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()

    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    daily = DailyPartitionsDefinition(start_date=(now - timedelta(days=args.partitions)).date())
    keys = [AssetKey(f"a_{i:05d}") for i in range(args.n)]
    assets = []
    for i, key in enumerate(keys):
        layer_start = (i // args.width - 1) * args.width
        deps = (
            ()
            if layer_start < 0
            else (keys[layer_start + i % args.width], keys[layer_start + (i + 1) % args.width])
        )
        assets.append(ManifestAsset(key=key, node=key.path[0], deps=deps))
    started = time.perf_counter()
    graph = AutomationGraph(
        AssetGraph.from_assets(assets),
        dict.fromkeys(keys, AutomationCondition.eager()),
        partitions_defs=dict.fromkeys(keys, daily),
    )
    build_ms = (time.perf_counter() - started) * 1000
    everything = daily.subset_with_all_partitions(now)
    check(len(everything) == args.partitions, "partition count", "automation_tick")
    states = {key: AssetState(materialized=everything) for key in keys}

    started = time.perf_counter()
    result = evaluate(graph, GraphState(assets=states), None, now)
    first_ms = (time.perf_counter() - started) * 1000
    clock = now + timedelta(seconds=30)
    result = evaluate(graph, GraphState(assets=states, changed=frozenset()), result.cursor, clock)
    cursor = result.cursor

    idle, event, record = [], [], []
    root = keys[0]
    # eager requests a child with its parent (will_be_requested): the whole downstream
    downstream = graph.graph.downstream([root], include_self=False)
    latest = daily.subset_with_partition_keys([daily.get_last_partition_key(now)], now)
    for rep in range(args.reps):
        clock += timedelta(seconds=30)
        state = GraphState(assets=states, changed=frozenset())
        started = time.perf_counter()
        result = evaluate(graph, state, cursor, clock)
        idle.append((time.perf_counter() - started) * 1000)
        check(not result.requests and not result.evaluations, "idle tick", "automation_tick")
        cursor = result.cursor

        clock += timedelta(seconds=30)
        update = MaterializationUpdate(
            event_id=rep + 1, timestamp=clock.timestamp() - 1, partitions=latest
        )
        states[root] = AssetState(materialized=everything, updates=(update,))
        state = GraphState(assets=states, changed=frozenset({root}))
        started = time.perf_counter()
        result = evaluate(graph, state, cursor, clock)
        event.append((time.perf_counter() - started) * 1000)
        check(set(result.requests) == downstream, "downstream requested", "automation_tick")
        # What the daemon adds before it appends the tick: the cursor change as JSON.
        started = time.perf_counter()
        change = cursor_change_to_data(cursor, result.cursor, result.evaluations)
        encoded = json.dumps(change, separators=(",", ":"))
        record.append((time.perf_counter() - started) * 1000)
        cursor = result.cursor
        for _ in range(2):  # settle: the request is handled, then nothing is volatile
            clock += timedelta(seconds=30)
            result = evaluate(graph, GraphState(assets=states, changed=frozenset()), cursor, clock)
            cursor = result.cursor

    print(
        json.dumps(
            {
                "workload": "automation_tick",
                "n_assets": args.n,
                "partitions": args.partitions,
                "build_ms": round(build_ms, 2),
                "first_tick_ms": round(first_ms, 2),
                "idle_tick_p50_ms": round(statistics.median(idle), 3),
                "idle_tick_p99_ms": round(_percentile(idle, 0.99), 3),
                "event_to_request_p50_ms": round(statistics.median(event), 3),
                "event_to_request_p99_ms": round(_percentile(event, 0.99), 3),
                "requested_per_event": len(downstream),
                "tick_record_p50_ms": round(statistics.median(record), 3),
                "tick_record_p99_ms": round(_percentile(record, 0.99), 3),
                "tick_record_bytes": len(encoded),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
