"""W2: in-process execution overhead with af.materialize() (Arco Flow side): no
instance given, so an ephemeral in-memory instance records the run, and the
default IO manager.

Usage: python w2_inprocess_exec.py --shape chain|fanout --n N

Same parameters and JSON fields as ../shared/bench-dagster/w2_inprocess_exec.py.

Graph: N assets a_0..a_{N-1}. a_0 returns 0.
  chain : a_i (i >= 1) takes the value of a_{i-1} and returns it + 1
  fanout: a_i (i >= 1) takes the value of a_0 and returns it + 1
The value of each parent is passed as a function argument (data dependency).

Timed:
  define_s       building the N asset definitions (decorator calls)
  materialize_s  one call to af.materialize(all N assets), from the call to its
                 return (definitions + job + plan + run + events + value storage;
                 the default IO manager pickles every value into a temporary
                 directory that materialize() creates and removes)
  per_asset_s    materialize_s / N
`af.materialize` is served by the execution layer, which `import arco_flow`
loads on first access; that access happens in the import phase (import_s), as
every module of Dagster is loaded by `import dagster`.
Prints one JSON line.
"""

import argparse
import json
import os
import resource
import time

T_START = time.perf_counter()
import _common  # noqa: E402  # the scripts' folder is on sys.path

import arco_flow as af  # noqa: E402

materialize = af.materialize  # loads the execution layer: part of the import
T_IMPORTED = time.perf_counter()


def check(ok, message):
    _common.check(ok, message, "W2")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=["chain", "fanout"], required=True)
    ap.add_argument("--n", type=int, required=True)
    args = ap.parse_args()
    # materialize() without an instance keeps the run's events in memory; make
    # sure nothing in the environment points it elsewhere.
    os.environ.pop("ARCO_HOME", None)

    t0 = time.perf_counter()
    assets = _common.build_chain_or_fanout(af, args.shape, args.n)
    t1 = time.perf_counter()
    result = materialize(assets)
    t2 = time.perf_counter()

    last = result.output_for_node(f"a_{args.n - 1}")
    expected = args.n - 1 if args.shape == "chain" else 1
    check(result.success, "the run failed")
    check(last == expected, f"a_{args.n - 1} = {last!r}, expected {expected}")
    materializations = result.get_asset_materialization_events()
    check(len(materializations) == args.n, f"{len(materializations)} materializations")
    check(
        {m.asset_key.to_user_string() for m in materializations}
        == {f"a_{i}" for i in range(args.n)},
        "the materializations are not one per asset",
    )
    out = {
        "workload": "W2",
        "shape": args.shape,
        "n": args.n,
        "success": result.success,
        "materializations": len(materializations),
        "import_s": T_IMPORTED - T_START,
        "define_s": t1 - t0,
        "materialize_s": t2 - t1,
        "per_asset_s": (t2 - t1) / args.n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
