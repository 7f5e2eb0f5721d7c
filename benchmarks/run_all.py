"""Run every Arco Flow workload script REPS times (round-robin over the
configurations, so that slow drift of the machine spreads evenly), collect the
JSON line each prints, add the whole-process wall time and peak RSS seen from
here (os.wait4), and write:
  <out>.jsonl         one line per run
  <out>.summary.json  median / min / max / n of every numeric field, per configuration
  <out>.md            a summary table (median / min / max over the runs)

Usage: python run_all.py --out PREFIX [--reps 3] [--only W1,W5] [--long]

The same role and flags as ../shared/bench-dagster/run_all.py. The scripts are
taken from this file's directory and run with this interpreter
(sys.executable), one new process per run. Stdout of each run is parsed;
stderr (the tool's log output) goes to a temporary file that is shown only when
a run fails. Before each run the runner calls os.sync(), so that the file
write-back of one run does not spill into the next one's timings.
Configurations whose script does not exist here yet are skipped (and named on
stderr).

The runs measure the arco_flow of the checkout this directory belongs to: if
`import arco_flow` in a fresh interpreter does not load that checkout (not
installed, or a stale editable install), the checkout's root is put first on
PYTHONPATH for the child processes, and a note says so on stderr.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)

# (id, script, args), in the order of the Dagster side's run_all.py.
CONFIGS = [
    ("W1 n=1000", "w1_graph_planning.py", ["--n", "1000", "--width", "100"]),
    ("W1 n=10000", "w1_graph_planning.py", ["--n", "10000", "--width", "100"]),
    ("W2 chain n=100", "w2_inprocess_exec.py", ["--shape", "chain", "--n", "100"]),
    ("W2 fanout n=100", "w2_inprocess_exec.py", ["--shape", "fanout", "--n", "100"]),
    ("W2 chain n=500", "w2_inprocess_exec.py", ["--shape", "chain", "--n", "500"]),
    ("W2 fanout n=500", "w2_inprocess_exec.py", ["--shape", "fanout", "--n", "500"]),
    ("W3 chain n=100", "w3_persistent_instance.py", ["--shape", "chain", "--n", "100"]),
    ("W3 fanout n=100", "w3_persistent_instance.py", ["--shape", "fanout", "--n", "100"]),
    ("W3 chain n=300", "w3_persistent_instance.py", ["--shape", "chain", "--n", "300"]),
    ("W3 fanout n=300", "w3_persistent_instance.py", ["--shape", "fanout", "--n", "300"]),
    ("W4 independent n=25", "w4_multiprocess.py", ["--shape", "independent", "--n", "25"]),
    ("W4 chain n=15", "w4_multiprocess.py", ["--shape", "chain", "--n", "15"]),
    ("W5 a daily", "w5_partitions.py", ["--part", "a"]),
    ("W5 b hourly", "w5_partitions.py", ["--part", "b"]),
    ("W5 c multi", "w5_partitions.py", ["--part", "c"]),
    ("W5 d mapping", "w5_partitions.py", ["--part", "d"]),
    ("W5 e materialize", "w5_partitions.py", ["--part", "e"]),
    ("W6 schedule+sensor", "w6_schedule_sensor.py", []),
    ("W7 python pass", "w7_startup.py", ["--what", "pass"]),
    ("W7 import", "w7_startup.py", ["--what", "import"]),
    ("W7 load defs n=100", "w7_startup.py", ["--what", "load", "--n-assets", "100"]),
    ("W7 cli asset list n=100", "w7_startup.py", ["--what", "cli", "--n-assets", "100"]),
]
# Sizes first asked for, whose single run takes more than a minute on the
# reference machine (2 cores) in Dagster; run once each with --long.
LONG = [
    ("W3 chain n=500", "w3_persistent_instance.py", ["--shape", "chain", "--n", "500"]),
    ("W3 fanout n=500", "w3_persistent_instance.py", ["--shape", "fanout", "--n", "500"]),
    ("W4 independent n=50", "w4_multiprocess.py", ["--shape", "independent", "--n", "50"]),
    ("W4 chain n=20", "w4_multiprocess.py", ["--shape", "chain", "--n", "20"]),
]

# Variables that would point a run at existing state instead of a fresh one.
HOME_VARS = ("ARCO_HOME", "DAGSTER_HOME")


def select_configs(configs, only):
    """The configurations whose id starts with one of the comma-separated prefixes."""
    if not only:
        return list(configs)
    prefixes = tuple(p.strip() for p in only.split(",") if p.strip())
    return [c for c in configs if c[0].startswith(prefixes)]


def available_configs(configs, directory):
    """(configs whose script exists in `directory`, ids of the others)."""
    present = [c for c in configs if os.path.exists(os.path.join(directory, c[1]))]
    missing = [c[0] for c in configs if c not in present]
    return present, missing


def arco_env(python=None):
    """The environment for Arco Flow runs: no ARCO_HOME/DAGSTER_HOME, and this
    checkout importable (see the module docstring)."""
    env = dict(os.environ)
    for var in HOME_VARS:
        env.pop(var, None)
    probe = subprocess.run(
        [
            python or sys.executable,
            "-c",
            "import arco_flow, sys; sys.stdout.write(str(getattr(arco_flow, '__file__', None)))",
        ],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
    )
    wanted = os.path.join(REPO_ROOT, "arco_flow", "__init__.py")
    loaded = probe.stdout.strip() if probe.returncode == 0 else ""
    if not loaded or not os.path.exists(loaded) or not os.path.samefile(loaded, wanted):
        env["PYTHONPATH"] = os.pathsep.join(
            [REPO_ROOT, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        print(
            f"note: `import arco_flow` does not load this checkout (got {loaded or 'an error'}"
            f"); running with PYTHONPATH={env['PYTHONPATH']}",
            file=sys.stderr,
        )
    return env


def run_once(script_path, args, python=None, env=None):
    """Runs one script in a new process; its JSON record plus process wall and peak RSS.

    Dirty pages of the previous run are flushed first (os.sync, outside the timed
    window), so that its write-back does not slow the file writes of this one.
    """
    os.sync()
    with tempfile.TemporaryFile() as errf:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [python or sys.executable, script_path, *args],
            stdout=subprocess.PIPE,
            stderr=errf,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        out = proc.stdout.read()
        _pid, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            errf.seek(0)
            tail = errf.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{script_path} {args} exited {proc.returncode}:\n{tail}")
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{script_path} {args} printed no JSON line: {out[-1000:]!r}")
    rec = json.loads(lines[-1])
    rec["process_wall_s"] = wall
    rec["process_peak_rss_mb"] = ru.ru_maxrss / 1024.0
    return rec


def is_number(v):
    return isinstance(v, int | float) and not isinstance(v, bool)


def summarise(records):
    """config id -> field -> {median, min, max, n}, over the numeric fields."""
    by_id = {}
    for r in records:
        by_id.setdefault(r["config"], []).append(r)
    summary = {}
    for cid, recs in by_id.items():
        fields = {}
        for k in recs[0]:
            vals = [r.get(k) for r in recs]
            if all(is_number(v) for v in vals):
                fields[k] = {
                    "median": statistics.median(vals),
                    "min": min(vals),
                    "max": max(vals),
                    "n": len(vals),
                }
        summary[cid] = fields
    return summary


def summary_markdown(summary):
    lines = ["| config | field | median | min | max |", "|---|---|---:|---:|---:|"]
    for cid, fields in summary.items():
        for k, s in fields.items():
            if k == "rep":
                continue
            lines.append(f"| {cid} | {k} | {s['median']:.6g} | {s['min']:.6g} | {s['max']:.6g} |")
    return "\n".join(lines) + "\n"


def ensure_parent(prefix):
    parent = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(parent, exist_ok=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="output prefix (.jsonl and .md are added)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated prefixes, e.g. W1,W5")
    ap.add_argument("--long", action="store_true", help="run only the LONG configurations")
    args = ap.parse_args()

    configs = select_configs(LONG if args.long else CONFIGS, args.only)
    configs, missing = available_configs(configs, HERE)
    if missing:
        print(f"skipped (no Arco Flow script yet): {', '.join(missing)}", file=sys.stderr)
    if not configs:
        raise SystemExit("nothing to run")
    env = arco_env()
    ensure_parent(args.out)

    records = []
    with open(args.out + ".jsonl", "w") as f:
        for rep in range(args.reps):
            for cid, script, sargs in configs:
                rec = run_once(os.path.join(HERE, script), sargs, env=env)
                rec["config"] = cid
                rec["rep"] = rep
                records.append(rec)
                f.write(json.dumps(rec) + "\n")
                f.flush()
                print(f"[{rep}] {cid}: process {rec['process_wall_s']:.2f}s", file=sys.stderr)

    summary = summarise(records)
    with open(args.out + ".summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write(summary_markdown(summary))


if __name__ == "__main__":
    main()
