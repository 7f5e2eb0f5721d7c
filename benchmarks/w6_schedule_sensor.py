"""W6: schedule and sensor evaluation (Arco Flow side).

Usage: python w6_schedule_sensor.py [--ticks 1000] [--cron-ticks 10000]
                                    [--sensor-requests 100] [--sensor-evals 200]

Same parameters and JSON fields as ../shared/bench-dagster/w6_schedule_sensor.py.

  cron:     the first `cron-ticks` fire times of "*/5 * * * *" (UTC) at or after
            2026-01-01T00:00Z from Arco Flow's cron iteration (`cron_string_iterator`,
            datetimes in the zone, as Dagster's).
  schedule: a schedule on "*/5 * * * *" targeting a one-asset job; its function returns
            one RunRequest whose run key and one tag are the scheduled time in ISO format.
            For each of the first `ticks` fire times: build_schedule_context(
            scheduled_execution_time=t) and schedule.evaluate_tick(ctx).
  sensor:   a sensor targeting the same job that yields `sensor-requests` RunRequests
            (run key key_<i>, one tag). One evaluation = build_sensor_context() +
            sensor.evaluate_tick(ctx); repeated `sensor-evals` times. No instance, no
            cursor: no de-duplication against stored runs.
Prints one JSON line.
"""

import argparse
import datetime as dt
import json
import resource
import time

T_START = time.perf_counter()
import arco_flow as af  # noqa: E402
from arco_flow.sdk.cron import cron_string_iterator  # noqa: E402
from arco_flow.sdk.run_requests import RunRequest  # noqa: E402
from arco_flow.sdk.schedules import build_schedule_context, schedule  # noqa: E402
from arco_flow.sdk.sensors import build_sensor_context, sensor  # noqa: E402

T_IMPORTED = time.perf_counter()

from _common import check  # noqa: E402

CRON = "*/5 * * * *"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=1000)
    ap.add_argument("--cron-ticks", type=int, default=10000)
    ap.add_argument("--sensor-requests", type=int, default=100)
    ap.add_argument("--sensor-evals", type=int, default=200)
    args = ap.parse_args()

    @af.asset(name="target")
    def _target():
        return 1

    job = af.define_asset_job("w6_job", selection=[_target])

    @schedule(cron_schedule=CRON, job=job, execution_timezone="UTC", name="w6_schedule")
    def _schedule(context):
        ts = context.scheduled_execution_time.isoformat()
        return RunRequest(run_key=ts, tags={"scheduled": ts})

    n_req = args.sensor_requests

    @sensor(job=job, name="w6_sensor")
    def _sensor(context):
        for i in range(n_req):
            yield RunRequest(run_key=f"key_{i}", tags={"i": str(i)})

    # cron iteration
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    it = cron_string_iterator(start.timestamp(), CRON, "UTC")
    fire_times = [next(it) for _ in range(args.cron_ticks)]
    t1 = time.perf_counter()
    check(fire_times[0] == start, f"first fire time {fire_times[0]}", "W6")
    check(fire_times[1] - fire_times[0] == dt.timedelta(minutes=5), "5-minute spacing", "W6")
    check(
        fire_times[-1] == start + dt.timedelta(minutes=5 * (args.cron_ticks - 1)),
        f"last fire time {fire_times[-1]}",
        "W6",
    )

    # schedule evaluation
    n_runs = 0
    t2 = time.perf_counter()
    for ft in fire_times[: args.ticks]:
        ctx = build_schedule_context(scheduled_execution_time=ft)
        data = _schedule.evaluate_tick(ctx)
        n_runs += len(data.run_requests or [])
    t3 = time.perf_counter()
    check(n_runs == args.ticks, f"{n_runs} schedule run requests", "W6")
    check(data.run_requests[0].run_key == fire_times[args.ticks - 1].isoformat(), "run key", "W6")

    # sensor evaluation
    per = []
    n_sensor_runs = 0
    for _ in range(args.sensor_evals):
        ts = time.perf_counter()
        ctx = build_sensor_context()
        data = _sensor.evaluate_tick(ctx)
        per.append(time.perf_counter() - ts)
        n_sensor_runs += len(data.run_requests)
    check(n_sensor_runs == args.sensor_evals * n_req, f"{n_sensor_runs} sensor requests", "W6")
    check(data.run_requests[-1].run_key == f"key_{n_req - 1}", "sensor run key", "W6")
    per_sorted = sorted(per)

    out = {
        "workload": "W6",
        "import_s": T_IMPORTED - T_START,
        "cron_ticks": args.cron_ticks,
        "cron_s": t1 - t0,
        "cron_per_tick_s": (t1 - t0) / args.cron_ticks,
        "schedule_ticks": args.ticks,
        "schedule_s": t3 - t2,
        "schedule_per_tick_s": (t3 - t2) / args.ticks,
        "sensor_requests_per_eval": n_req,
        "sensor_evals": args.sensor_evals,
        "sensor_total_s": sum(per),
        "sensor_first_eval_s": per[0],
        "sensor_mean_eval_s": sum(per) / len(per),
        "sensor_median_eval_s": per_sorted[len(per) // 2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
