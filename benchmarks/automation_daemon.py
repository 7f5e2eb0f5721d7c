"""Automation through the daemon on a real SQLite store: event to run request, idle tick.

10,000 daily-partitioned assets (1,000 partitions each by default) in layers of `--width`,
each depending on two assets of the layer above, all under `AutomationCondition.eager()`,
as `@asset` definitions. History: the last `--history` partitions of every asset are
materialized, appended in bulk through `ArcoInstance.append` (one `RunStarted` /
`RunSucceeded` pair per layer and one `AssetMaterialized` per asset partition) instead
of running assets, so building the store takes seconds, not hours.

An `AutomationDaemon` then ticks at wall-clock time (the daemon's default interval is
1 s). Per repetition:

- idle: a tick where no event arrived since the last (nothing recorded);
- event: one root's latest partition is materialized (a run's RunStarted,
  AssetMaterialized, RunSucceeded appended at once); timed from that append until the
  tick launches the first requested run (`event_to_launch_*`: its `TickRunRequested` is
  in the store by then) and until the tick ends (`event_tick_*`, which adds the launches
  and any cursor snapshot). The latency a user sees adds the wait for the next tick, at
  most one interval (`event_to_launch_worst_*` = that + interval).

The launcher records each requested run as started and succeeded without running it
(no asset code runs), so a tick's runs are all recorded and the next tick evaluates.
Prints one JSON line.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import check

import arco_flow as af
from arco_flow.core.automation import AutomationCondition
from arco_flow.core.events import (
    AssetMaterialized,
    NewEvent,
    RunStarted,
    RunSucceeded,
    TickRunRequested,
)
from arco_flow.core.keys import AssetKey
from arco_flow.daemon.automation_loop import AUTOMATION_INSTIGATOR, AutomationDaemon
from arco_flow.daemon.runner import DEFAULT_INTERVAL_S
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import instigator_stream


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _new(event):
    return NewEvent(event=event, idempotency_key=str(uuid.uuid4()))


class RecordingLauncher:
    """Records each requested run as started and succeeded; runs nothing."""

    def __init__(self, instance):
        self.instance = instance
        self.launched = 0
        self.first_launch_at = None
        """perf_counter() of the first launch since it was last reset."""

    def launch(self, request: TickRunRequested) -> None:
        if self.first_launch_at is None:
            self.first_launch_at = time.perf_counter()
        keys = tuple(AssetKey(path) for path in request.request["asset_selection"])
        run = RunStarted(
            run_id=request.run_id,
            plan_id=request.run_id,
            job_name=request.request["job_name"],
            asset_keys=keys,
            tags=dict(request.request["tags"]),
        )
        self.instance.append([_new(run), _new(RunSucceeded(run_id=request.run_id))])
        self.launched += 1


def build_definitions(n, width, daily):
    keys = [f"a_{i:05d}" for i in range(n)]
    eager = AutomationCondition.eager()
    assets = []
    for i, name in enumerate(keys):
        layer_start = (i // width - 1) * width
        deps = (
            []
            if layer_start < 0
            else [keys[layer_start + i % width], keys[layer_start + (i + 1) % width]]
        )

        @af.asset(name=name, deps=deps, partitions_def=daily, automation_condition=eager)
        def _node() -> None:
            return None

        assets.append(_node)
    return af.Definitions(assets=assets), [AssetKey(k) for k in keys]


def load_history(instance, keys, width, partition_keys):
    """Appends the materializations of `partition_keys` of every asset, a run per layer."""
    count = 0
    for start in range(0, len(keys), width):
        layer = keys[start : start + width]
        run_id = str(uuid.uuid4())
        events = [
            _new(
                RunStarted(
                    run_id=run_id, plan_id=run_id, job_name="__ASSET_JOB", asset_keys=tuple(layer)
                )
            )
        ]
        events += [
            _new(
                AssetMaterialized(
                    run_id=run_id, task_id=key.path[-1], asset_key=key, partition_key=p
                )
            )
            for key in layer
            for p in partition_keys
        ]
        events.append(_new(RunSucceeded(run_id=run_id)))
        instance.append(events)
        count += len(events)
    return count


def requested_after(instance, after):
    stream = instance.read_stream(instigator_stream(AUTOMATION_INSTIGATOR), after_sequence=after)
    last = after
    found = 0
    for record in stream:
        last = record.stream_sequence
        if isinstance(record.event, TickRunRequested):
            found += 1
    return found, last


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=1_000)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--history", type=int, default=30)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--home", default=None)
    args = parser.parse_args()

    today = datetime.now(UTC).date()
    daily = af.DailyPartitionsDefinition(
        start_date=(today - timedelta(days=args.partitions)).isoformat()
    )
    started = time.perf_counter()
    defs, keys = build_definitions(args.n, args.width, daily)
    defs_s = time.perf_counter() - started
    now = datetime.now(UTC)
    all_keys = daily.get_partition_keys(now)
    check(len(all_keys) == args.partitions, f"partition count {len(all_keys)}", "automation_daemon")
    history_keys = all_keys[-args.history :]

    home = Path(args.home or tempfile.mkdtemp(prefix="arco-automation-bench-"))
    with ArcoInstance.from_home(home) as instance:
        started = time.perf_counter()
        events = load_history(instance, keys, args.width, history_keys)
        history_s = time.perf_counter() - started

        launcher = RecordingLauncher(instance)
        daemon = AutomationDaemon(instance, defs, launcher=launcher)
        started = time.perf_counter()
        daemon.tick(time.time())  # first tick: reads every asset's state
        first_s = time.perf_counter() - started
        for _ in range(2):
            daemon.tick(time.time())
        _, seen = requested_after(instance, 0)

        root = keys[0]
        latest = all_keys[-1]
        idle, event, to_launch, sizes = [], [], [], []
        for _rep in range(args.reps):
            started = time.perf_counter()
            outcomes = daemon.tick(time.time())
            idle.append((time.perf_counter() - started) * 1000)
            check(not outcomes, "idle tick recorded something", "automation_daemon")

            run_id = str(uuid.uuid4())
            launcher.first_launch_at = None
            started = time.perf_counter()
            instance.append(
                [
                    _new(
                        RunStarted(
                            run_id=run_id,
                            plan_id=run_id,
                            job_name="__ASSET_JOB",
                            asset_keys=(root,),
                        )
                    ),
                    _new(
                        AssetMaterialized(
                            run_id=run_id, task_id="root", asset_key=root, partition_key=latest
                        )
                    ),
                    _new(RunSucceeded(run_id=run_id)),
                ]
            )
            daemon.tick(time.time())
            event.append((time.perf_counter() - started) * 1000)
            check(launcher.first_launch_at is not None, "no run launched", "automation_daemon")
            to_launch.append((launcher.first_launch_at - started) * 1000)
            found, seen_after = requested_after(instance, seen)
            check(found >= 1, "no run requested for the root's downstream", "automation_daemon")
            sizes.append(
                sum(
                    len(r.event.cursor_after or "")
                    for r in instance.read_stream(
                        instigator_stream(AUTOMATION_INSTIGATOR), after_sequence=seen
                    )
                    if hasattr(r.event, "cursor_after")
                )
            )
            seen = seen_after
            for _ in range(2):  # settle: the launched run's events, then nothing volatile
                daemon.tick(time.time())
            _, seen = requested_after(instance, seen)

        started = time.perf_counter()
        restarted = AutomationDaemon(instance, defs, launcher=launcher)
        restarted.tick(time.time())
        restart_s = time.perf_counter() - started

    interval_ms = DEFAULT_INTERVAL_S * 1000
    print(
        json.dumps(
            {
                "workload": "automation_daemon",
                "n_assets": args.n,
                "partitions": args.partitions,
                "history_partitions": args.history,
                "history_events": events,
                "history_append_s": round(history_s, 1),
                "definitions_s": round(defs_s, 2),
                "first_tick_s": round(first_s, 2),
                "interval_ms": interval_ms,
                "idle_tick_p50_ms": round(statistics.median(idle), 2),
                "idle_tick_p99_ms": round(_percentile(idle, 0.99), 2),
                "event_tick_p50_ms": round(statistics.median(event), 1),
                "event_tick_p99_ms": round(_percentile(event, 0.99), 1),
                "event_to_launch_p50_ms": round(statistics.median(to_launch), 1),
                "event_to_launch_p99_ms": round(_percentile(to_launch, 0.99), 1),
                "event_to_launch_worst_p99_ms": round(
                    _percentile(to_launch, 0.99) + interval_ms, 1
                ),
                "runs_launched": launcher.launched,
                "tick_record_bytes": max(sizes),
                "restart_first_tick_s": round(restart_s, 2),
                "reps": args.reps,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
