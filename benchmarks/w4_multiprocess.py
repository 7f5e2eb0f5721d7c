"""W4: the process-pool executor (at most 2 steps at once) on a persistent store in a
fresh directory (Arco Flow side).

Usage: python w4_multiprocess.py --shape independent|chain --n N [--max-concurrent 2]

Same parameters and JSON fields as ../shared/bench-dagster/w4_multiprocess.py.

Graph: N assets a_0..a_{N-1}.
  independent: a_i has no dependencies and returns i
  chain      : a_0 returns 0; a_i (i >= 1) takes the value of a_{i-1} and returns it + 1,
               so values cross process boundaries through the filesystem IO manager

Execution: every asset is one task, run on the process_pool dispatcher with
max_workers = max_concurrent (worker processes started with `spawn`, the default,
lazily, and kept for many tasks: a step costs a message, not a process start) and
at most max_concurrent tasks at once, all other settings at their defaults. Values
are pickled by a FilesystemIOManager that the workers bind under a fresh temporary
directory (the dispatcher's storage_dir), removed at the end.

The run records into the default persistent store, as W3 does: a fresh temporary
directory is ARCO_HOME, holding the SQLite event store and the values' storage/.

The workers find the definitions by loading this very file (code location
{"file": <this file>, "attribute": "defs"}); `defs` is rebuilt from the environment
that main() sets before the pool starts, as Dagster rebuilds its job from
reconstructable_args.

Timed:
  setup_s    the definitions and the instance exist
  execute_s  launching the run on the process pool: planning, every worker process
             started, every task done, the run marked as succeeded, every worker exited
  per_step_s execute_s / N (wall time per step at 2-way concurrency, not CPU time)
Also reported: children_cpu_s and peak_rss_children_mb from RUSAGE_CHILDREN (the
worker processes, waited for by the pool's close()).
Prints one JSON line.
"""

import argparse
import json
import os
import pickle
import resource
import shutil
import tempfile
import time

T_START = time.perf_counter()
import _common  # noqa: E402  # the scripts' folder is on sys.path

import arco_flow as af  # noqa: E402
from arco_flow.core.events import AssetMaterialized  # noqa: E402
from arco_flow.execution.run_operations import launch_into_instance  # noqa: E402
from arco_flow.storage.instance import ArcoInstance  # noqa: E402

T_IMPORTED = time.perf_counter()

LOCATION_ENV = "ARCO_BENCH_W4_GRAPH"


def check(ok, message):
    _common.check(ok, message, "W4")


def build_assets(shape, n):
    assets = []
    if shape == "independent":
        for i in range(n):

            def _mk(i):
                @af.asset(name=f"a_{i}")
                def _f():
                    return i

                return _f

            assets.append(_mk(i))
    elif shape == "chain":

        @af.asset(name="a_0")
        def _root():
            return 0

        assets.append(_root)
        for i in range(1, n):

            def _mk(i):
                @af.asset(name=f"a_{i}", ins={"x": af.AssetIn(key=f"a_{i - 1}")})
                def _f(x):
                    return x + 1

                return _f

            assets.append(_mk(i))
    else:
        raise ValueError(shape)
    return assets


def make_definitions(shape, n):
    """Module-level factory, so that worker processes can rebuild the definitions."""
    return af.Definitions(assets=build_assets(shape, n))


_GRAPH = os.environ.get(LOCATION_ENV)
defs = make_definitions(*json.loads(_GRAPH)) if _GRAPH else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=["independent", "chain"], required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--max-concurrent", type=int, default=2)
    args = ap.parse_args()
    os.environ.pop("ARCO_HOME", None)

    home = tempfile.mkdtemp(prefix="w4_arco_home_")
    try:
        t0 = time.perf_counter()
        os.environ[LOCATION_ENV] = json.dumps([args.shape, args.n])
        definitions = make_definitions(args.shape, args.n)
        instance = ArcoInstance.get(home)
        t1 = time.perf_counter()
        outcome = launch_into_instance(
            definitions.resolve_implicit_global_asset_job_def(),
            instance,
            code_location={"file": os.path.abspath(__file__), "attribute": "defs"},
            executor="process_pool",
            max_concurrent=args.max_concurrent,
        )
        t2 = time.perf_counter()

        events = [record.event for record in instance.all_logs(outcome.run_id)]
        mats = [e for e in events if isinstance(e, AssetMaterialized)]
        tasks = instance.get_tasks(outcome.run_id)
        check(outcome.succeeded, f"the run failed: {outcome.first_failure}")
        check(len(tasks) == args.n, f"{len(tasks)} tasks")
        check(len(mats) == args.n, f"{len(mats)} materializations")
        check(
            {m.asset_key.to_user_string() for m in mats} == {f"a_{i}" for i in range(args.n)},
            "the materializations are not one per asset",
        )
        for i in range(args.n):
            with open(os.path.join(home, "storage", f"a_{i}"), "rb") as stored:
                value = pickle.load(stored)
            expected = i  # independent: its index; chain: a_0 = 0, then + 1 per step
            check(value == expected, f"a_{i} = {value!r}, expected {expected}")
        instance.dispose()
        size, nfiles = _common.dir_size(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {
        "workload": "W4",
        "shape": args.shape,
        "n": args.n,
        "max_concurrent": args.max_concurrent,
        "success": outcome.succeeded,
        "materializations": len(mats),
        "import_s": T_IMPORTED - T_START,
        "setup_s": t1 - t0,
        "execute_s": t2 - t1,
        "per_step_s": (t2 - t1) / args.n,
        "storage_bytes": size,
        "storage_files": nfiles,
        "peak_rss_mb": ru_self.ru_maxrss / 1024.0,
        "peak_rss_children_mb": ru_kids.ru_maxrss / 1024.0,
        "children_cpu_s": ru_kids.ru_utime + ru_kids.ru_stime,
        "self_cpu_s": ru_self.ru_utime + ru_self.ru_stime,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
