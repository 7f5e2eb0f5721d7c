"""W7: import / cold-start cost, measured on a child process (Arco Flow side).

Usage: python w7_startup.py --what pass|import|load|cli [--n-assets 100]

Same parameters and JSON fields as ../shared/bench-dagster/w7_startup.py.

Starts ONE child process with the same interpreter (sys.executable) and times
it from spawn to exit (wall, seconds); peak RSS of the child comes from
resource.getrusage(RUSAGE_CHILDREN). The child's output is discarded.

  pass    python -c "pass"                 (interpreter floor, for reference)
  import  python -c "import arco_flow"
  load    python -c "<import the generated module, defs.resolve_asset_graph()>"
  cli     python -m arco_flow.cli.main assets list -f <generated module>
          (loads the code location the way the CLI does and prints the keys)

The generated module (written to a temporary directory) contains N literal
@af.asset functions forming a chain: a_0() returns 0, a_i(a_{i-1}) returns
a_{i-1} + 1, and `defs = af.Definitions(assets=[a_0, ..., a_{N-1}])`.
ARCO_HOME points to an empty temporary directory for every child.
Prints one JSON line.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def write_module(path, n):
    lines = ["import arco_flow as af", "", ""]
    for i in range(n):
        lines.append("@af.asset")
        if i == 0:
            lines += ["def a_0():", "    return 0", "", ""]
        else:
            lines += [f"def a_{i}(a_{i - 1}):", f"    return a_{i - 1} + 1", "", ""]
    lines.append("defs = af.Definitions(assets=[" + ", ".join(f"a_{i}" for i in range(n)) + "])")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--what", choices=["pass", "import", "load", "cli"], required=True)
    ap.add_argument("--n-assets", type=int, default=100)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="w7_")
    try:
        mod_path = os.path.join(tmp, "w7_defs.py")
        write_module(mod_path, args.n_assets)
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        env = dict(os.environ, ARCO_HOME=home)
        py = sys.executable
        if args.what == "pass":
            cmd = [py, "-c", "pass"]
        elif args.what == "import":
            cmd = [py, "-c", "import arco_flow"]
        elif args.what == "load":
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); import w7_defs; "
                "g = w7_defs.defs.resolve_asset_graph(); "
                "n = len(g.get_all_asset_keys()); "
                "sys.exit(0 if n == int(sys.argv[2]) else f'load: {n} keys')"
            )
            cmd = [py, "-c", code, tmp, str(args.n_assets)]
        else:
            cmd = [py, "-m", "arco_flow.cli.main", "assets", "list", "-f", mod_path]
        t = time.perf_counter()
        proc = subprocess.run(
            cmd, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"child failed with {proc.returncode}: {cmd}")
        if args.what == "cli":
            listed = [ln for ln in proc.stdout.decode().splitlines() if ln.strip()]
            if sorted(listed) != sorted(f"a_{i}" for i in range(args.n_assets)):
                raise SystemExit(f"cli listed {len(listed)} keys, not a_0..a_{args.n_assets - 1}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {
        "workload": "W7",
        "what": args.what,
        "n_assets": args.n_assets if args.what in ("load", "cli") else 0,
        "wall_s": wall,
        "child_cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_rss_mb": ru.ru_maxrss / 1024.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
