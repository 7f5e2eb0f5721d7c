"""Backfill planning: a backfill's runs (chunks) and their order (issue 4; no WORKLOADS.md id).

Usage: python backfill_planning.py --part a|b|c|d|all [--dagster-python PYTHON]

Each part times `plan_backfill` (arco_flow.core.backfill) once, on its first call in the
process, after the targets are built (`<part>_targets_s`, timed separately):

  a  one daily asset 1970-01-01 .. 2100-01-01 (47,482 partitions), chunks of 100: 475
     runs (bar: under 100 ms).
  b  one dynamic asset with 1,000,000 keys in an InMemoryDynamicPartitionsStore, chunks
     of 100: 10,000 runs (bar: under 1 s). The keys are made and garbage-collected
     before the clock starts.
  c  a chain daily A -> daily B -> weekly C, default mappings, 2016-01-01 .. 2026-01-01,
     chunks of 30: A and B share 122 runs, C's 18 runs wait for the daily runs they read.
  d  100 daily assets in 10 layers of 10 (each asset reads two of the layer before),
     2021-01-01 .. 2026-01-01 (1,826 days), chunks of 100: one group, 19 runs of 100
     assets (d_s). d_offset_s: the same graph with TimeWindowPartitionMapping(
     start_offset=-1) on every edge, so that no two layers share runs: each layer's
     10 assets share 19 runs (190 in all), each waiting for the runs of the layer before
     that hold its days and the day before.

With --dagster-python (an interpreter with dagster==1.13.28), parts a and c also run in
Dagster in a child process, and the line gains `dagster_<part>_s` and the ratio
`dagster_ratio_<part>` (dagster / arco; above 1, Arco Flow is faster). Dagster plans a
backfill iteration by iteration and has no up-front plan with run dependencies; the
comparable work timed is its first step for the same targets: `AssetBackfillData.
from_asset_partitions(all_partitions=True)` and `build_run_requests_with_backfill_policies`
over every targeted asset partition with `BackfillPolicy.multi_run(N)`, which groups
assets by (partitions definition, keys, policy) and cuts runs, but computes no dependency.
The run counts must agree (`<part>_chunks` against `dagster_<part>_chunks`).

Checks counts, ends and dependencies before printing one JSON line.
"""

import argparse
import datetime as dt
import gc
import json
import os
import resource
import subprocess
import sys
import time

T_START = time.perf_counter()


def check(ok, message):
    """A result check that `python -O` does not remove."""
    if not ok:
        raise SystemExit(f"backfill_planning check failed: {message}")


# -- Arco Flow ----------------------------------------------------------------------------


def _arco():
    from arco_flow.core import backfill
    from arco_flow.core import partitions as ap
    from arco_flow.core.graph import AssetGraph
    from arco_flow.core.keys import AssetKey
    from arco_flow.core.manifest import ManifestAsset

    return backfill, ap, AssetGraph, AssetKey, ManifestAsset


def _graph(edges):
    """An AssetGraph of names -> parent names."""
    _, _, asset_graph, asset_key, manifest_asset = _arco()
    return asset_graph.from_assets(
        manifest_asset(key=asset_key(n), node=n, deps=tuple(asset_key(p) for p in ps))
        for n, ps in edges.items()
    )


def _plan(graph, defs, per_run, mappings=None, store=None):
    backfill, _, _, asset_key, _ = _arco()
    keys = {asset_key(n): d for n, d in defs.items()}
    mappings = {(asset_key(c), asset_key(p)): m for (c, p), m in (mappings or {}).items()}
    t0 = time.perf_counter()
    targets = backfill.backfill_targets(keys, keys, dynamic_partitions_store=store)
    t1 = time.perf_counter()
    plan = backfill.plan_backfill(
        graph,
        targets,
        partitions_defs=keys,
        mapping_of=lambda child, parent: mappings.get((child, parent)),
        max_partitions_per_run={},
        default_max_partitions_per_run=per_run,
        dynamic_partitions_store=store,
    )
    t2 = time.perf_counter()
    return plan, t1 - t0, t2 - t1


def part_a():
    _, ap, *_ = _arco()
    daily = ap.DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
    plan, targets_s, s = _plan(_graph({"a": []}), {"a": daily}, 100)
    check(len(plan.chunks) == 475 and plan.partition_count == 47482, "a counts")
    last = plan.chunks[-1]
    check(last.partition.range_end == "2099-12-31" and last.partition_count == 82, "a end")
    return {"a_s": s, "a_targets_s": targets_s, "a_chunks": len(plan.chunks), "a_partitions": 47482}


def part_b():
    _, ap, *_ = _arco()
    store = ap.InMemoryDynamicPartitionsStore(
        {"customers": [f"customer-{i:07d}" for i in range(1_000_000)]}
    )
    pd = ap.DynamicPartitionsDefinition(name="customers")
    graph = _graph({"b": []})
    gc.collect()
    plan, targets_s, s = _plan(graph, {"b": pd}, 100, store=store)
    check(len(plan.chunks) == 10_000 and plan.partition_count == 1_000_000, "b counts")
    check(plan.chunks[6000].partition.range_start == "customer-0600000", "b chunk 6000")
    return {
        "b_s": s,
        "b_targets_s": targets_s,
        "b_chunks": len(plan.chunks),
        "b_partitions": plan.partition_count,
    }


def part_c():
    _, ap, *_ = _arco()
    daily = ap.DailyPartitionsDefinition(start_date="2016-01-01", end_date="2026-01-01")
    weekly = ap.WeeklyPartitionsDefinition(start_date="2016-01-03", end_date="2026-01-04")
    graph = _graph({"A": [], "B": ["A"], "C": ["B"]})
    plan, targets_s, s = _plan(graph, {"A": daily, "B": daily, "C": weekly}, 30)
    shared = [c for c in plan.chunks if len(c.asset_keys) == 2]
    weekly_chunks = [c for c in plan.chunks if len(c.asset_keys) == 1]
    check(len(shared) == 122 and len(weekly_chunks) == 18, "c chunks")
    check(plan.partition_count == 2 * 3653 + 522, f"c partitions {plan.partition_count}")
    check(all(c.deps and max(c.deps) < 122 for c in weekly_chunks), "c deps")
    return {
        "c_s": s,
        "c_targets_s": targets_s,
        "c_chunks": len(plan.chunks),
        "c_partitions": plan.partition_count,
        "c_deps": sum(len(c.deps) for c in plan.chunks),
    }


def _layers():
    edges = {}
    for layer in range(10):
        for i in range(10):
            parents = [] if layer == 0 else [f"n{layer - 1}_{i}", f"n{layer - 1}_{(i + 1) % 10}"]
            edges[f"n{layer}_{i}"] = parents
    return edges


def part_d():
    _, ap, *_ = _arco()
    daily = ap.DailyPartitionsDefinition(start_date="2021-01-01", end_date="2026-01-01")
    edges = _layers()
    graph = _graph(edges)
    defs = dict.fromkeys(edges, daily)
    plan, targets_s, s = _plan(graph, defs, 100)
    check(len(plan.chunks) == 19 and plan.partition_count == 100 * 1826, "d counts")
    offset = ap.TimeWindowPartitionMapping(start_offset=-1)
    mappings = {(c, p): offset for c, ps in edges.items() for p in ps}
    shifted, _, offset_s = _plan(graph, defs, 100, mappings)
    check(len(shifted.chunks) == 190 and shifted.partition_count == 100 * 1826, "d offset")
    # A layer's assets share runs; the second run of each layer past the first reads the
    # day before its range, the last day of the previous layer's first run.
    seconds = shifted.chunks[20::19]
    check(len(seconds) == 9 and all(len(c.asset_keys) == 10 for c in seconds), "d layers")
    check(all(c.deps == (c.chunk_id - 20, c.chunk_id - 19) for c in seconds), "d offset deps")
    return {
        "d_s": s,
        "d_targets_s": targets_s,
        "d_chunks": len(plan.chunks),
        "d_partitions": plan.partition_count,
        "d_offset_s": offset_s,
        "d_offset_chunks": len(shifted.chunks),
        "d_offset_deps": sum(len(c.deps) for c in shifted.chunks),
    }


PARTS = {"a": part_a, "b": part_b, "c": part_c, "d": part_d}


# -- Dagster (child process) -------------------------------------------------------------


def dagster_part(part):
    """Dagster's first backfill step for part a or c (see the module docstring)."""
    import dagster as dg
    from dagster._core.definitions.automation_tick_evaluation_context import (
        build_run_requests_with_backfill_policies,
    )
    from dagster._core.execution.asset_backfill import AssetBackfillData

    if part == "a":
        pd = dg.DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
        policy = dg.BackfillPolicy.multi_run(100)

        @dg.asset(name="a", partitions_def=pd, backfill_policy=policy)
        def _a(): ...

        assets, expected = [_a], 475
    else:
        daily = dg.DailyPartitionsDefinition(start_date="2016-01-01", end_date="2026-01-01")
        weekly = dg.WeeklyPartitionsDefinition(start_date="2016-01-03", end_date="2026-01-04")
        policy = dg.BackfillPolicy.multi_run(30)

        @dg.asset(name="A", partitions_def=daily, backfill_policy=policy)
        def _a(): ...

        @dg.asset(name="B", partitions_def=daily, backfill_policy=policy, deps=["A"])
        def _b(): ...

        @dg.asset(name="C", partitions_def=weekly, backfill_policy=policy, deps=["B"])
        def _c(): ...

        assets, expected = [_a, _b, _c], 140
    graph = dg.Definitions(assets=assets).resolve_asset_graph()
    keys = sorted(graph.get_all_asset_keys())
    instance = dg.DagsterInstance.ephemeral()
    gc.collect()
    t0 = time.perf_counter()
    data = AssetBackfillData.from_asset_partitions(
        asset_graph=graph,
        partition_names=None,
        asset_selection=keys,
        dynamic_partitions_store=instance,
        backfill_start_timestamp=dt.datetime(2101, 1, 1, tzinfo=dt.UTC).timestamp(),
        all_partitions=True,
    )
    requests = build_run_requests_with_backfill_policies(
        list(data.target_subset.iterate_asset_partitions()), graph, instance
    )
    el = time.perf_counter() - t0
    check(len(requests) == expected, f"dagster {part}: {len(requests)} run requests")
    return {f"dagster_{part}_s": el, f"dagster_{part}_chunks": len(requests)}


def run_dagster(python, part):
    proc = subprocess.run(
        [python, os.path.abspath(__file__), "--side", "dagster", "--part", part],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"the Dagster side of part {part} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=[*PARTS, "all"], required=True)
    parser.add_argument("--side", choices=["arco", "dagster"], default="arco")
    parser.add_argument("--dagster-python", default=None)
    args = parser.parse_args()
    parts = list(PARTS) if args.part == "all" else [args.part]
    if args.side == "dagster":
        out = {}
        for name in parts:
            if name in ("a", "c"):
                out.update(dagster_part(name))
        print(json.dumps(out))
        return
    _arco()
    out = {"workload": "backfill_planning", "part": args.part}
    out["import_s"] = time.perf_counter() - T_START
    for name in parts:
        out.update(PARTS[name]())
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if args.dagster_python:
        for name in (p for p in parts if p in ("a", "c")):
            figures = run_dagster(args.dagster_python, name)
            check(figures[f"dagster_{name}_chunks"] == out[f"{name}_chunks"], f"{name} runs")
            out.update(figures)
            out[f"dagster_ratio_{name}"] = figures[f"dagster_{name}_s"] / out[f"{name}_s"]
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
