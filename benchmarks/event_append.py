"""Event-append throughput on the SQLite event store (issue 3; no WORKLOADS.md id yet).

Usage: python event_append.py [--events 20000] [--single-events 2000]
                              [--batch-sizes 100,1000] [--no-dagster]

The events are those of realistic runs of 100 tasks each: RunStarted (with its plan), then
per task TaskStarted, a LogRecorded line, AssetMaterialized (small metadata, a data
version) and TaskSucceeded (with usage), then RunSucceeded: about 4 events per task.

Timed, each on a fresh SQLite file in a temporary directory (WAL, synchronous=NORMAL):
  single_eps       appending --single-events events one by one, one transaction each
  batch<N>_eps     appending --events events in batches of N (one transaction per batch),
                   for each N of --batch-sizes
Also reported: bytes_per_event, the size of the database files (with the WAL) after the
last batched run, divided by its events.

When `import dagster` works (and --no-dagster is not given), --single-events comparable
events (step start, log line, asset materialization, step success) go through Dagster's
SQLite event log storage (`SqliteEventLogStorage`, on a fresh directory each time):
  dagster_single_eps       `store_event`, one event per call, as Dagster's run worker does
  dagster_batch1000_eps    `store_event_batch` in batches of 1000 (for SQLite, Dagster
                           loops over `store_event`)
and the ratios arco / dagster: dagster_ratio_single (single_eps / dagster_single_eps) and
dagster_ratio_batch<N> (batch<N>_eps / dagster_batch1000_eps); above 1, Arco Flow is faster.

The result is checked before printing: every event is in the log, every run SUCCESS, every
task SUCCEEDED, and one materialization per task. Prints one JSON line.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from arco_flow.core.events import (
    AssetMaterialized,
    LogRecorded,
    NewEvent,
    RunStarted,
    RunSucceeded,
    TaskStarted,
    TaskSucceeded,
    TaskUsage,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey
from arco_flow.storage.records import RunsFilter, RunStatus
from arco_flow.storage.sql_store import SqlEventStore

TASKS_PER_RUN = 100


def check(ok, message):
    """A result check that `python -O` does not remove."""
    if not ok:
        raise SystemExit(f"event_append check failed: {message}")


def run_events(run_index):
    """The events of one run of TASKS_PER_RUN tasks."""
    run_id = f"run-{run_index:06d}"
    tasks = [f"asset_{i}" for i in range(TASKS_PER_RUN)]
    plan = {
        "plan_id": f"plan-{run_index}",
        "version": 1,
        "tasks": [[t, t, [t], [], 0] for t in tasks],
    }
    events = [
        RunStarted(
            run_id=run_id,
            plan_id=f"plan-{run_index}",
            job_name="__asset_job",
            asset_keys=tuple(AssetKey(t) for t in tasks),
            tags={"team": "data"},
            plan=plan,
            code_location={"module": "bench"},
            coordinator={"host": "bench", "pid": 1},
        )
    ]
    for t in tasks:
        events += [
            TaskStarted(run_id=run_id, task_id=t, attempt=1),
            LogRecorded(run_id=run_id, task_id=t, level="INFO", message=f"computing {t}"),
            AssetMaterialized(
                run_id=run_id,
                task_id=t,
                asset_key=AssetKey(t),
                metadata={"row_count": {"type": "int", "value": 1000}},
                data_version="5d41402abc4b2a76",
                code_version="1",
            ),
            TaskSucceeded(
                run_id=run_id,
                task_id=t,
                attempt=1,
                usage=TaskUsage(wall_s=0.25, cpu_s=0.125, peak_rss_mb=64.0),
            ),
        ]
    events.append(RunSucceeded(run_id=run_id))
    return [NewEvent(event=e, idempotency_key=idempotency_key(e)) for e in events]


def make_events(count):
    """At least `count` events of whole runs, cut to `count` (the last run may be cut)."""
    events = []
    run_index = 0
    while len(events) < count:
        events += run_events(run_index)
        run_index += 1
    return events[:count]


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, name)) for name in os.listdir(path))


def time_arco(events, batch_size):
    """Events per second appending `events` in batches of `batch_size`; and bytes per event."""
    tmp = tempfile.mkdtemp(prefix="event_append_")
    try:
        store = SqlEventStore(os.path.join(tmp, "arco.db"))
        started = time.perf_counter()
        for start in range(0, len(events), batch_size):
            store.append(events[start : start + batch_size])
        elapsed = time.perf_counter() - started
        check_store(store, events)
        store.close()
        return len(events) / elapsed, dir_bytes(tmp) / len(events)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_store(store, events):
    log = store.read_all(limit=None)
    check(len(log) == len(events), f"{len(log)} events in the log, {len(events)} appended")
    complete_runs = {e.event.run_id for e in events if isinstance(e.event, RunSucceeded)}
    for run_id in list(complete_runs)[:3]:
        check(store.get_run(run_id).status is RunStatus.SUCCESS, f"{run_id} not SUCCESS")
        tasks = store.list_tasks(run_id)
        check(len(tasks) == TASKS_PER_RUN, f"{run_id} has {len(tasks)} tasks")
        check(all(t.status.value == "SUCCEEDED" for t in tasks), f"{run_id}: a task not done")
    done = store.list_runs(RunsFilter(statuses=[RunStatus.SUCCESS]))
    check(len(done) == len(complete_runs), f"{len(done)} SUCCESS runs, {len(complete_runs)}")
    materialized = sum(isinstance(e.event, AssetMaterialized) for e in events)
    counted = sum(r.materialization_count for r in store.asset_records())
    check(counted == materialized, f"{counted} materializations counted, {materialized} sent")


def time_dagster(count):
    """Events per second through Dagster's SQLite event log storage.

    `store_event` one event per call (as Dagster's run worker stores them), and
    `store_event_batch` in batches of 1000 (which, for SQLite, loops over `store_event`).
    """
    try:
        import dagster as dg
        from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
        from dagster._core.events.log import EventLogEntry
        from dagster._core.execution.plan.objects import StepSuccessData
        from dagster._core.storage.event_log import SqliteEventLogStorage
    except ImportError:
        return None

    tmp = tempfile.mkdtemp(prefix="event_append_dagster_")
    try:
        entries = []
        run_index = 0
        while len(entries) < count:
            run_id = f"00000000-0000-0000-0000-{run_index:012d}"
            for i in range(TASKS_PER_RUN):
                step = f"asset_{i}"

                def entry(dagster_event, message="", step=step, run_id=run_id):
                    return EventLogEntry(
                        error_info=None,
                        level="debug",
                        user_message=message,
                        run_id=run_id,
                        timestamp=time.time(),
                        step_key=step,
                        job_name="__ASSET_JOB",
                        dagster_event=dagster_event,
                    )

                def dagster_event(kind, data=None, step=step):
                    return DagsterEvent(
                        event_type_value=kind.value,
                        job_name="__ASSET_JOB",
                        step_key=step,
                        event_specific_data=data,
                    )

                materialization = dg.AssetMaterialization(
                    asset_key=step,
                    metadata={"row_count": 1000},
                    tags={"dagster/data_version": "5d41402abc4b2a76", "dagster/code_version": "1"},
                )
                entries += [
                    entry(dagster_event(DagsterEventType.STEP_START)),
                    entry(None, f"computing {step}"),
                    entry(
                        dagster_event(
                            DagsterEventType.ASSET_MATERIALIZATION,
                            StepMaterializationData(materialization),
                        )
                    ),
                    entry(dagster_event(DagsterEventType.STEP_SUCCESS, StepSuccessData(250.0))),
                ]
            run_index += 1
        entries = entries[:count]
        figures = {}
        for name, size in (("dagster_single_eps", 1), ("dagster_batch1000_eps", 1000)):
            storage = SqliteEventLogStorage(os.path.join(tmp, name))
            started = time.perf_counter()
            if size == 1:
                for item in entries:
                    storage.store_event(item)
            else:
                for start in range(0, len(entries), size):
                    storage.store_event_batch(entries[start : start + size])
            figures[name] = len(entries) / (time.perf_counter() - started)
            runs = {e.run_id for e in entries}
            stored = sum(len(storage.get_records_for_run(r, limit=100000).records) for r in runs)
            check(stored == len(entries), f"dagster stored {stored} of {len(entries)} events")
            storage.dispose()
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--single-events", type=int, default=2000)
    ap.add_argument("--batch-sizes", default="100,1000")
    ap.add_argument("--no-dagster", action="store_true")
    args = ap.parse_args()
    batch_sizes = [int(size) for size in args.batch_sizes.split(",") if size.strip()]

    out = {"workload": "event_append", "events": args.events, "single_events": args.single_events}
    single_eps, _ = time_arco(make_events(args.single_events), 1)
    out["single_eps"] = single_eps
    events = make_events(args.events)
    for size in batch_sizes:
        eps, bytes_per_event = time_arco(events, size)
        out[f"batch{size}_eps"] = eps
        out["bytes_per_event"] = bytes_per_event
    if not args.no_dagster:
        figures = time_dagster(args.single_events)
        if figures is None:
            print("dagster is not importable: no Dagster figure", file=sys.stderr)
        else:
            out.update(figures)
            out["dagster_ratio_single"] = single_eps / figures["dagster_single_eps"]
            for size in batch_sizes:
                out[f"dagster_ratio_batch{size}"] = (
                    out[f"batch{size}_eps"] / figures["dagster_batch1000_eps"]
                )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
