"""Run the Arco Flow and the Dagster workload scripts side by side and compare.

Usage:
  python benchmarks/compare.py [--only W1,W2,W7] [--reps 3] [--out PREFIX]
      [--dagster-dir DIR] [--dagster-python PYTHON] [--md FILE] [--long]

Both sides run the script of the same name with the same arguments, one new
process per run: Arco Flow's scripts from this directory with this interpreter
(sys.executable), Dagster's from --dagster-dir (default: ../shared/bench-dagster
relative to the repository root) with the interpreter from --dagster-python, or
else the environment variable ARCO_BENCH_DAGSTER_PYTHON, or else this
interpreter if it can `import dagster`. The runs go round-robin: rep 1 of every
configuration, then rep 2, ...; within one configuration and rep the two sides
run back to back, and which side goes first alternates, so that neither side
always runs on a warmer (or cooler) machine.

Prints, per configuration and per numeric field, the median of both sides and
the ratio dagster / arco (above 1: Arco Flow is faster or smaller), and writes
  <out>.jsonl         every run of both sides (field "side": "arco" or "dagster")
  <out>.summary.json  side -> configuration -> field -> median / min / max / n
  <out>.md            the comparison table (or the file given by --md)
Count fields (keys, steps, edges, selection sizes, materializations) must agree
between the two sides; a disagreement is flagged in the table and on stderr.

Some workloads hold both sides in one script of this directory (TWO_SIDED, ids
starting "automation"): the Dagster side runs that same script with `--side dagster`
under the Dagster interpreter, e.g. `--only automation` (and `--long --only automation`
for N=2,000 and for Dagster on its SQLite instance).

Benchmarks are not tests: this reports figures and never fails on a timing.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_all import (
    CONFIGS,
    HERE,
    HOME_VARS,
    LONG,
    REPO_ROOT,
    arco_env,
    available_configs,
    ensure_parent,
    run_once,
    select_configs,
    summarise,
)

DEFAULT_DAGSTER_DIR = os.path.join(REPO_ROOT, "..", "shared", "bench-dagster")
DEFAULT_OUT = os.path.join(REPO_ROOT, "bench-results", "compare")
# Fields that say what was measured: they must be equal on both sides.
COUNT_FIELDS = (
    "n",
    "width",
    "layers",
    "edges",
    "asset_keys",
    "plan_steps",
    "sel_down_count",
    "sel_up_count",
    "materializations",
    "n_assets",
    "cron_ticks",
    "schedule_ticks",
    "sensor_requests_per_eval",
    "sensor_evals",
    "partitions",
    "history_partitions",
    "materialized_asset_partitions",
    "requested_first",
    "requested_idle",
    "requested_event",
    "requested_settle",
)
SKIP_FIELDS = ("rep", "reps")
# Scripts of this directory that hold both sides: `--side dagster` runs Dagster's.
TWO_SIDED_SCRIPTS = ("automation_compare.py",)
TWO_SIDED = [
    ("automation n=500", "automation_compare.py", ["--n", "500"]),
    ("automation memory n=500", "automation_compare.py", ["--n", "500", "--arco-store", "memory"]),
]
TWO_SIDED_LONG = [
    ("automation n=2000", "automation_compare.py", ["--n", "2000"]),
    # Dagster's SQLite event log stores an event in about 12 ms: 3 minutes of setup
    (
        "automation sqlite n=500",
        "automation_compare.py",
        ["--n", "500", "--dagster-store", "sqlite"],
    ),
]


def dagster_python(flag):
    """The interpreter for the Dagster side (see the module docstring)."""
    if flag:
        return flag
    env = os.environ.get("ARCO_BENCH_DAGSTER_PYTHON")
    if env:
        return env
    if importlib.util.find_spec("dagster") is not None:
        return sys.executable
    raise SystemExit(
        "no interpreter with dagster: pass --dagster-python PYTHON or set "
        "ARCO_BENCH_DAGSTER_PYTHON (an interpreter with dagster==1.13.28 installed)"
    )


def side_command(side, script, args, dirs):
    """(script path, arguments) of one side's run of a configuration."""
    if script in TWO_SIDED_SCRIPTS:
        return os.path.join(HERE, script), [*args, "--side", side]
    return os.path.join(dirs[side], script), args


def interpreter_info(python, env, module):
    code = (
        "import platform, sys; "
        f"import {module} as m; "
        "sys.stdout.write(platform.python_version() + ' ' + str(getattr(m, '__version__', '?')))"
    )
    proc = subprocess.run(
        [python, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{python} cannot import {module}:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip()


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return f"{v:.4g}"


def ratio(dagster, arco):
    if dagster is None or arco is None:
        return None
    if arco == 0:
        return None if dagster == 0 else float("inf")
    return dagster / arco


def fields_in_order(*field_maps):
    seen = []
    for fields in field_maps:
        for k in fields:
            if k not in seen and k not in SKIP_FIELDS:
                seen.append(k)
    return seen


def comparison_rows(configs, summary):
    """(config, field, arco stats, dagster stats, ratio, mismatch) per compared field."""
    rows = []
    for cid, _script, _args in configs:
        arco = summary["arco"].get(cid, {})
        dag = summary["dagster"].get(cid, {})
        for k in fields_in_order(arco, dag):
            a, d = arco.get(k), dag.get(k)
            am = a["median"] if a else None
            dm = d["median"] if d else None
            mismatch = k in COUNT_FIELDS and a is not None and d is not None and am != dm
            rows.append((cid, k, a, d, ratio(dm, am), mismatch))
    return rows


def text_table(rows):
    header = ("config", "field", "arco median", "dagster median", "dagster/arco")
    body = [
        (
            cid,
            k,
            fmt(a["median"] if a else None),
            fmt(d["median"] if d else None),
            (fmt(r) + "x" if r is not None else "-") + ("  MISMATCH" if bad else ""),
        )
        for cid, k, a, d, r, bad in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = []
    for j, row in enumerate([header, *body]):
        cells = [
            str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i]) for i, c in enumerate(row)
        ]
        lines.append("  ".join(cells))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def markdown(rows, meta):
    out = [
        "# Arco Flow vs Dagster: benchmark comparison",
        "",
        *(f"- {k}: {v}" for k, v in meta.items()),
        "",
        "Medians over the runs (min-max in brackets); ratio = dagster / arco "
        "(above 1: Arco Flow is faster or smaller). Times in seconds, memory in MB.",
        "",
        "| config | field | arco median [min-max] | dagster median [min-max] | dagster/arco |",
        "|---|---|---:|---:|---:|",
    ]

    def cell(s):
        if not s:
            return "-"
        return f"{fmt(s['median'])} [{fmt(s['min'])}-{fmt(s['max'])}]"

    for cid, k, a, d, r, bad in rows:
        rtxt = (fmt(r) + "x") if r is not None else "-"
        if bad:
            rtxt += " **MISMATCH**"
        out.append(f"| {cid} | {k} | {cell(a)} | {cell(d)} | {rtxt} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT, help="output prefix (.jsonl, .md are added)")
    ap.add_argument("--md", default=None, help="markdown table file (default: <out>.md)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated prefixes, e.g. W1,W2,W7")
    ap.add_argument("--long", action="store_true", help="run only the LONG configurations")
    ap.add_argument("--dagster-dir", default=DEFAULT_DAGSTER_DIR)
    ap.add_argument("--dagster-python", default=None)
    args = ap.parse_args()

    dagster_dir = os.path.abspath(args.dagster_dir)
    dpy = dagster_python(args.dagster_python)
    configs = select_configs(
        [*LONG, *TWO_SIDED_LONG] if args.long else [*CONFIGS, *TWO_SIDED], args.only
    )
    configs, no_arco = available_configs(configs, HERE)
    two_sided = [c for c in configs if c[1] in TWO_SIDED_SCRIPTS]
    configs, no_dagster = available_configs([c for c in configs if c not in two_sided], dagster_dir)
    configs += two_sided
    if no_arco or no_dagster:
        print(
            f"skipped (script missing on one side): {', '.join(no_arco + no_dagster)}",
            file=sys.stderr,
        )
    if not configs:
        raise SystemExit("nothing to compare")

    envs = {"arco": arco_env()}
    envs["dagster"] = {k: v for k, v in os.environ.items() if k not in HOME_VARS}
    pythons = {"arco": sys.executable, "dagster": dpy}
    dirs = {"arco": HERE, "dagster": dagster_dir}
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "arco side": "python/arco_flow "
        + interpreter_info(sys.executable, envs["arco"], "arco_flow"),
        "dagster side": "python/dagster " + interpreter_info(dpy, envs["dagster"], "dagster"),
        "reps": args.reps,
        "order": "round-robin over configurations; the side that runs first alternates",
    }
    for k, v in meta.items():
        print(f"{k}: {v}", file=sys.stderr)

    ensure_parent(args.out)
    records = {"arco": [], "dagster": []}
    with open(args.out + ".jsonl", "w") as f:
        for rep in range(args.reps):
            for ci, (cid, script, sargs) in enumerate(configs):
                order = ("arco", "dagster") if (rep + ci) % 2 == 0 else ("dagster", "arco")
                for side in order:
                    path, side_args = side_command(side, script, sargs, dirs)
                    rec = run_once(path, side_args, python=pythons[side], env=envs[side])
                    rec.update(config=cid, rep=rep, side=side)
                    records[side].append(rec)
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
                    print(
                        f"[{rep}] {cid} {side}: process {rec['process_wall_s']:.2f}s",
                        file=sys.stderr,
                    )

    summary = {side: summarise(recs) for side, recs in records.items()}
    with open(args.out + ".summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    rows = comparison_rows(configs, summary)
    for cid, k, a, d, _r, bad in rows:
        if bad:
            print(
                f"MISMATCH {cid} {k}: arco {a['median']} != dagster {d['median']}",
                file=sys.stderr,
            )
    sys.stdout.write(text_table(rows))
    md_path = args.md or args.out + ".md"
    ensure_parent(md_path)
    with open(md_path, "w") as f:
        f.write(markdown(rows, meta))
    print(f"wrote {args.out}.jsonl, {args.out}.summary.json, {md_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
