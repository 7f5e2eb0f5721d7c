"""Declarative automation, Arco Flow against Dagster: `evaluate_automation_conditions` (issue 6).

Usage: python automation_compare.py [--side arco|dagster] [--n 500] [--width 100]
           [--partitions 1000] [--history 30] [--reps 1]
           [--arco-store sqlite|memory] [--dagster-store memory|sqlite]

The same graph and the same stored history on both sides, each side in its own
interpreter (`--side dagster` needs one with dagster==1.13.28; `compare.py` runs both):

- `--n` assets a_00000.. in layers of `--width`, each depending on two assets of the layer
  above (i and i+1 modulo the width), all daily-partitioned over the `--partitions` days
  that end yesterday (the last complete day), all under `AutomationCondition.eager()`.
- History: the last `--history` partitions of every asset materialized. Arco Flow: the
  bulk append of `automation_daemon.py` (`ArcoInstance.append`, one RunStarted /
  RunSucceeded pair per layer around one AssetMaterialized per asset partition). Dagster:
  one `instance.report_runless_asset_event(AssetMaterialization(key, partition=p))` per
  asset partition (its event log has no batch write in OSS: `store_event_batch` stores
  the events one by one).
- Stores: Arco Flow on its SQLite store (`ArcoInstance.from_home` in a fresh folder) or in
  memory (`ArcoInstance.ephemeral()`); Dagster on `DagsterInstance.ephemeral()` (its event
  log on an in-memory SQLite database) or `DagsterInstance.local_temp()` (SQLite files,
  which open two connections per stored event: about 12 ms an event on the reference
  machine, minutes of setup at 15,000 events, hence not the default).

Timed, each a single call of the side's `evaluate_automation_conditions(defs, instance,
cursor=..., evaluation_time=now)` (the current time at the call):

- `first_eval_s`: (a) the first evaluation, no cursor;
- `idle_eval_s`: (b) with the cursor of the previous call and nothing new stored;
- `event_eval_s`: (c) after the root a_00000's latest partition is materialized (Arco
  Flow: one run's RunStarted, AssetMaterialized, RunSucceeded; Dagster: one runless
  materialization), which requests the latest partition of every asset downstream of
  the root (eager requests a child together with its parent);
- `settle_eval_s`: the call after (c), nothing new: the requests are handled, none repeats.

With `--reps R` the idle / event / settle cycle runs R times (a new root materialization
each time) and the fields are medians. Each call's requested asset partitions are counted
(`requested_*`) and checked: nothing in (a), (b) and settle, in (c) exactly the latest
partition of each asset downstream of the root. Prints one JSON line.
"""

import argparse
import datetime as dt
import json
import resource
import statistics
import sys
import tempfile
import time
from collections import deque

from _common import check

WORKLOAD = "automation_compare"


def layered_names(n, width):
    """Asset names and, per name, the names of its two parents in the layer above."""
    names = [f"a_{i:05d}" for i in range(n)]
    parents = {}
    for i, name in enumerate(names):
        layer_start = (i // width - 1) * width
        parents[name] = (
            []
            if layer_start < 0
            else [names[layer_start + i % width], names[layer_start + (i + 1) % width]]
        )
    return names, parents


def downstream_of(root, parents):
    """Every name downstream of `root` (not itself), by a plain breadth-first walk."""
    children = {}
    for child, ps in parents.items():
        for parent in ps:
            children.setdefault(parent, []).append(child)
    found, queue = set(), deque([root])
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in found:
                found.add(child)
                queue.append(child)
    return found


class Side:
    """One side's calls: definitions, history, one root materialization, one evaluation."""

    name = ""
    store = ""

    def load_history(self, partition_keys):
        raise NotImplementedError

    def materialize_root(self, partition_key):
        raise NotImplementedError

    def evaluate(self, cursor):
        """(result, cursor): one timed call's outcome."""
        raise NotImplementedError

    def requested(self, result, names):
        """name -> requested partition keys, for the names with any requested."""
        raise NotImplementedError

    def close(self):
        pass


class ArcoSide(Side):
    name = "arco"

    def __init__(self, args):
        from automation_daemon import build_definitions

        import arco_flow as af
        from arco_flow.storage.instance import ArcoInstance

        self.af = af
        today = dt.datetime.now(dt.UTC).date()
        self.daily = af.DailyPartitionsDefinition(
            start_date=(today - dt.timedelta(days=args.partitions)).isoformat()
        )
        self.width = args.width
        started = time.perf_counter()
        self.defs, self.keys = build_definitions(args.n, args.width, self.daily)
        self.definitions_s = time.perf_counter() - started
        self.store = args.arco_store
        if self.store == "sqlite":
            from pathlib import Path

            self.home = Path(tempfile.mkdtemp(prefix="arco-automation-compare-"))
            self.instance = ArcoInstance.from_home(self.home)
        else:
            self.instance = ArcoInstance.ephemeral()

    def partition_keys(self, now):
        return self.daily.get_partition_keys(now)

    def load_history(self, partition_keys):
        from automation_daemon import load_history

        load_history(self.instance, self.keys, self.width, partition_keys)

    def materialize_root(self, partition_key):
        import uuid

        from arco_flow.core.events import AssetMaterialized, NewEvent, RunStarted, RunSucceeded

        root = self.keys[0]
        run_id = str(uuid.uuid4())
        events = [
            RunStarted(run_id=run_id, plan_id=run_id, job_name="__ASSET_JOB", asset_keys=(root,)),
            AssetMaterialized(
                run_id=run_id, task_id=root.path[-1], asset_key=root, partition_key=partition_key
            ),
            RunSucceeded(run_id=run_id),
        ]
        self.instance.append([NewEvent(event=e, idempotency_key=str(uuid.uuid4())) for e in events])

    def evaluate(self, cursor):
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        result = self.af.evaluate_automation_conditions(
            self.defs, self.instance, cursor=cursor, evaluation_time=now
        )
        return time.perf_counter() - started, result, result.cursor

    def requested(self, result, names):
        found = {}
        for name in names:
            keys = result.get_requested_partitions(name)
            if keys:
                found[name] = keys
        return found, result.total_requested

    def close(self):
        self.instance.dispose()


class DagsterSide(Side):
    name = "dagster"

    def __init__(self, args):
        import warnings

        import dagster as dg

        # evaluate_automation_conditions warns of a beta parameter on every call
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        self.dg = dg
        today = dt.datetime.now(dt.UTC).date()
        self.daily = dg.DailyPartitionsDefinition(
            start_date=(today - dt.timedelta(days=args.partitions)).isoformat()
        )
        names, parents = layered_names(args.n, args.width)
        eager = dg.AutomationCondition.eager()
        started = time.perf_counter()
        assets = []
        for name in names:

            @dg.asset(
                name=name,
                deps=parents[name],
                partitions_def=self.daily,
                automation_condition=eager,
            )
            def _node() -> None:
                return None

            assets.append(_node)
        self.defs = dg.Definitions(assets=assets)
        self.definitions_s = time.perf_counter() - started
        self.names = names
        self.store = args.dagster_store
        if self.store == "sqlite":
            self.instance = dg.DagsterInstance.local_temp(
                tempfile.mkdtemp(prefix="dagster-automation-compare-")
            )
        else:
            self.instance = dg.DagsterInstance.ephemeral()

    def partition_keys(self, now):
        return self.daily.get_partition_keys(current_time=now)

    def load_history(self, partition_keys):
        report = self.instance.report_runless_asset_event
        materialization = self.dg.AssetMaterialization
        for name in self.names:
            for partition_key in partition_keys:
                report(materialization(asset_key=name, partition=partition_key))

    def materialize_root(self, partition_key):
        self.instance.report_runless_asset_event(
            self.dg.AssetMaterialization(asset_key=self.names[0], partition=partition_key)
        )

    def evaluate(self, cursor):
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        result = self.dg.evaluate_automation_conditions(
            self.defs, self.instance, cursor=cursor, evaluation_time=now
        )
        return time.perf_counter() - started, result, result.cursor

    def requested(self, result, names):
        found = {}
        for name in names:
            keys = result.get_requested_partitions(self.dg.AssetKey(name))
            if keys:
                found[name] = set(keys)
        return found, result.total_requested

    def close(self):
        self.instance.dispose()


def run(side, args):
    names, parents = layered_names(args.n, args.width)
    root = names[0]
    expected = downstream_of(root, parents)
    now = dt.datetime.now(dt.UTC)
    partition_keys = side.partition_keys(now)
    check(len(partition_keys) == args.partitions, f"{len(partition_keys)} partitions", WORKLOAD)
    latest = partition_keys[-1]

    started = time.perf_counter()
    side.load_history(partition_keys[-args.history :])
    history_s = time.perf_counter() - started

    def evaluate(cursor, what, want):
        seconds, result, cursor = side.evaluate(cursor)
        found, total = side.requested(result, names)
        wanted = sum(len(keys) for keys in want.values())
        check(
            found == want and total == wanted,
            f"{side.name} {what}: requested {total} asset partitions (first assets: "
            f"{dict(sorted(found.items())[:5])}), expected {wanted}",
            WORKLOAD,
        )
        return seconds, total, cursor

    first_s, first_n, cursor = evaluate(None, "first evaluation", {})
    idle, event, settle = [], [], []
    event_n = idle_n = settle_n = 0
    for _rep in range(args.reps):
        seconds, idle_n, cursor = evaluate(cursor, "idle evaluation", {})
        idle.append(seconds)
        side.materialize_root(latest)
        want = {name: {latest} for name in expected}
        seconds, event_n, cursor = evaluate(cursor, "evaluation after the root's update", want)
        event.append(seconds)
        seconds, settle_n, cursor = evaluate(cursor, "settling evaluation", {})
        settle.append(seconds)
    side.close()
    return {
        "workload": WORKLOAD,
        "side": side.name,
        "store": side.store,
        "n_assets": args.n,
        "width": args.width,
        "layers": -(-args.n // args.width),
        "partitions": args.partitions,
        "history_partitions": args.history,
        "materialized_asset_partitions": args.n * args.history,
        "definitions_s": side.definitions_s,
        "history_s": history_s,
        "first_eval_s": first_s,
        "idle_eval_s": statistics.median(idle),
        "event_eval_s": statistics.median(event),
        "settle_eval_s": statistics.median(settle),
        "requested_first": first_n,
        "requested_idle": idle_n,
        "requested_event": event_n,
        "requested_settle": settle_n,
        "reps": args.reps,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["arco", "dagster"], default="arco")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=1_000)
    parser.add_argument("--history", type=int, default=30)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--arco-store", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--dagster-store", choices=["memory", "sqlite"], default="memory")
    args = parser.parse_args()
    check(
        args.n > args.width, "--n must exceed --width so that the root has a downstream", WORKLOAD
    )
    side = ArcoSide(args) if args.side == "arco" else DagsterSide(args)
    print(json.dumps(run(side, args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
