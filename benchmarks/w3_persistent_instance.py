"""W3: in-process execution (same graphs as W2) on the persistent embedded store.

Usage: python w3_persistent_instance.py --shape chain|fanout --n N

Same parameters and JSON fields as ../shared/bench-dagster/w3_persistent_instance.py.
A fresh temporary directory becomes ARCO_HOME (all defaults: the SQLite event store
arco.db and the filesystem IO manager's storage/ folder under it). The directory is
removed at the end.

Timed:
  define_s       building the N asset definitions
  instance_s     ArcoInstance.get() (opens/creates the SQLite store, runs migrations)
  materialize_s  af.materialize(all N assets, instance=instance)
  per_asset_s    materialize_s / N
Also reported: storage_bytes / storage_files = apparent size and file count of
ARCO_HOME after the run with the store closed (and a per-top-level-entry breakdown).
Prints one JSON line.
"""

import argparse
import json
import os
import resource
import shutil
import tempfile
import time

T_START = time.perf_counter()
import _common  # noqa: E402  # the scripts' folder is on sys.path

import arco_flow as af  # noqa: E402

materialize, ArcoInstance = af.materialize, af.ArcoInstance  # part of the import
T_IMPORTED = time.perf_counter()


def check(ok, message):
    _common.check(ok, message, "W3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=["chain", "fanout"], required=True)
    ap.add_argument("--n", type=int, required=True)
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="w3_arco_home_")
    os.environ["ARCO_HOME"] = home
    try:
        t0 = time.perf_counter()
        assets = _common.build_chain_or_fanout(af, args.shape, args.n)
        t1 = time.perf_counter()
        instance = ArcoInstance.get()
        t2 = time.perf_counter()
        result = materialize(assets, instance=instance)
        t3 = time.perf_counter()
        last = result.output_for_node(f"a_{args.n - 1}")
        expected = args.n - 1 if args.shape == "chain" else 1
        check(result.success, "the run failed")
        check(last == expected, f"a_{args.n - 1} = {last!r}, expected {expected}")
        n_mats = len(result.get_asset_materialization_events())
        check(n_mats == args.n, f"{n_mats} materializations")
        stored = instance.get_asset_records()
        check(len(stored) == args.n, f"{len(stored)} asset records in the store")
        instance.dispose()
        size, nfiles = _common.dir_size(home)
        breakdown = {}
        for entry in sorted(os.listdir(home)):
            path = os.path.join(home, entry)
            breakdown[entry] = (
                _common.dir_size(path)[0] if os.path.isdir(path) else os.path.getsize(path)
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)

    out = {
        "workload": "W3",
        "shape": args.shape,
        "n": args.n,
        "success": result.success,
        "materializations": n_mats,
        "import_s": T_IMPORTED - T_START,
        "define_s": t1 - t0,
        "instance_s": t2 - t1,
        "materialize_s": t3 - t2,
        "per_asset_s": (t3 - t2) / args.n,
        "storage_bytes": size,
        "storage_files": nfiles,
        "storage_breakdown_bytes": breakdown,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
