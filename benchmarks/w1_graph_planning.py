"""W1: graph build + planning for a layered DAG of N assets (Arco Flow side).

Usage: python w1_graph_planning.py --n N [--width W] [--reps R]

Same parameters and JSON fields as ../shared/bench-dagster/w1_graph_planning.py.

Graph: asset k (k = 0..N-1) sits in layer l = k // W at index i = k % W and is
named "a_<l>_<i>". Layer 0 has no parents. An asset in layer l >= 1 depends on
the assets of layer l-1 at indices {i, (i+1) % W, (3*i+1) % W} (deduplicated),
so every asset has 1..3 parents. Dependencies are lineage/ordering deps (no
data is passed; the assets are never executed here).

Timed phases (each printed separately, seconds):
  a  define_s        N decorator calls (@af.asset with deps=...)
  b  definitions_s   af.Definitions(assets=...) constructor
     asset_graph_s   defs.resolve_asset_graph()
  c  job_s           defs.resolve_implicit_global_asset_job_def()
     plan_s          af.build_plan(defs.manifest, graph, job.asset_keys); the
                     manifest is built (and the definitions validated) on its
                     first use, which is here, so that work is timed in plan_s
  d  selections on the mid-graph key a_<L//2>_<W//2> (L = number of layers):
     *_first_s       first call, *_mean_s mean of the next R calls
     sel_down        AssetSelection.assets(key).downstream().resolve(graph)
     sel_up          AssetSelection.assets(key).upstream().resolve(graph)
     sel_str_down    AssetSelection.from_string('key:"<key>"+').resolve(graph)
     sel_str_up      AssetSelection.from_string('+key:"<key>"').resolve(graph)

Checks (outside the timed phases): N asset keys, N plan tasks, one task
dependency per edge and every dependency in an earlier stage, and each
selection equal to the set computed by a plain breadth-first walk of the
generator's own parent lists (string selections equal to object selections).
Prints one JSON line.
"""

import argparse
import json
import resource
import statistics
import time

T_START = time.perf_counter()
import arco_flow as af  # noqa: E402

T_IMPORTED = time.perf_counter()


def parents(l, i, width):  # noqa: E741
    if l == 0:
        return []
    return sorted({i % width, (i + 1) % width, (3 * i + 1) % width})


def make_asset(name, dep_names):
    @af.asset(name=name, deps=dep_names)
    def _f():
        return None

    return _f


def check(ok, message):
    """A result check that `python -O` does not remove."""
    if not ok:
        raise SystemExit(f"W1 check failed: {message}")


def timed(fn, reps):
    t = time.perf_counter()
    res = fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return res, first, (statistics.mean(times) if times else None)


def reference_walk(start, edges):
    """Names reachable from `start` along `edges` (name -> list of names), start included."""
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def check_plan(plan, n, n_edges):
    tasks = plan.tasks
    check(len(tasks) == n, f"plan has {len(tasks)} tasks, expected {n}")
    stage = {t.task_id: t.stage for t in tasks}
    check(len(stage) == n, "plan task ids are not unique")
    deps = 0
    for t in tasks:
        for d in t.deps:
            check(stage[d] < t.stage, f"task {t.task_id} runs before its dependency {d}")
        deps += len(t.deps)
    check(deps == n_edges, f"plan has {deps} task dependencies, expected {n_edges}")
    check(bool(plan.plan_id), "plan has no plan_id")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--width", type=int, default=100)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    n, w = args.n, args.width
    layers = (n + w - 1) // w

    # (a) define
    t0 = time.perf_counter()
    assets = []
    n_edges = 0
    for k in range(n):
        l, i = divmod(k, w)  # noqa: E741
        ps = parents(l, i, w)
        n_edges += len(ps)
        assets.append(make_asset(f"a_{l}_{i}", [f"a_{l - 1}_{j}" for j in ps]))
    t1 = time.perf_counter()

    # (b) Definitions + asset graph
    defs = af.Definitions(assets=assets)
    t2 = time.perf_counter()
    graph = defs.resolve_asset_graph()
    t3 = time.perf_counter()
    n_keys = len(graph.get_all_asset_keys())
    check(n_keys == n == len(graph), f"graph has {n_keys} keys, expected {n}")

    # (c) implicit all-assets job + execution plan (manifest built on first use)
    t4 = time.perf_counter()
    job = defs.resolve_implicit_global_asset_job_def()
    t5 = time.perf_counter()
    plan = af.build_plan(defs.manifest, graph, job.asset_keys)
    t6 = time.perf_counter()
    n_steps = len(plan.tasks)
    check_plan(plan, n, n_edges)

    # (d) selections
    mid = f"a_{layers // 2}_{w // 2}"
    down, down_first, down_mean = timed(
        lambda: af.AssetSelection.assets(mid).downstream().resolve(graph), args.reps
    )
    up, up_first, up_mean = timed(
        lambda: af.AssetSelection.assets(mid).upstream().resolve(graph), args.reps
    )
    sdown, sdown_first, sdown_mean = timed(
        lambda: af.AssetSelection.from_string(f'key:"{mid}"+').resolve(graph), args.reps
    )
    sup, sup_first, sup_mean = timed(
        lambda: af.AssetSelection.from_string(f'+key:"{mid}"').resolve(graph), args.reps
    )
    check(set(sdown) == set(down), "string downstream selection differs from the object one")
    check(set(sup) == set(up), "string upstream selection differs from the object one")

    # Reference sets from the generator's own parent lists (not timed).
    up_edges, down_edges = {}, {}
    for k in range(n):
        l, i = divmod(k, w)  # noqa: E741
        name = f"a_{l}_{i}"
        for j in parents(l, i, w):
            parent = f"a_{l - 1}_{j}"
            up_edges.setdefault(name, []).append(parent)
            down_edges.setdefault(parent, []).append(name)
    check(
        {key.to_user_string() for key in down} == reference_walk(mid, down_edges),
        f"downstream selection of {mid} is wrong ({len(down)} keys)",
    )
    check(
        {key.to_user_string() for key in up} == reference_walk(mid, up_edges),
        f"upstream selection of {mid} is wrong ({len(up)} keys)",
    )

    out = {
        "workload": "W1",
        "n": n,
        "width": w,
        "layers": layers,
        "edges": n_edges,
        "asset_keys": n_keys,
        "plan_steps": n_steps,
        "import_s": T_IMPORTED - T_START,
        "define_s": t1 - t0,
        "definitions_s": t2 - t1,
        "asset_graph_s": t3 - t2,
        "build_and_resolve_s": t3 - t1,
        "job_s": t5 - t4,
        "plan_s": t6 - t5,
        "job_and_plan_s": t6 - t4,
        "total_s": t6 - t0,
        "mid_key": mid,
        "sel_down_count": len(down),
        "sel_up_count": len(up),
        "sel_down_first_s": down_first,
        "sel_down_mean_s": down_mean,
        "sel_up_first_s": up_first,
        "sel_up_mean_s": up_mean,
        "sel_str_down_first_s": sdown_first,
        "sel_str_down_mean_s": sdown_mean,
        "sel_str_up_first_s": sup_first,
        "sel_str_up_mean_s": sup_mean,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
