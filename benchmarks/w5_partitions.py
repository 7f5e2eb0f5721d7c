"""W5: partitions (Arco Flow side).

Usage: python w5_partitions.py --part a|b|c|d|e|f|g|all

Same parameters and JSON fields as ../shared/bench-dagster/w5_partitions.py (parts a-e);
parts f and g are Arco Flow only.

  a  Daily partitions from 2000-01-01; list all keys as of 2026-11-27T00:00Z
     (9827 keys, 2000-01-01 .. 2026-11-26).
  b  Hourly partitions from 2021-01-01-00:00; list all keys as of
     2026-01-01T00:00Z (5 years, 43824 keys).
  c  Multi partitions: daily from 2016-01-01 as of 2026-01-01T00:00Z (10 years,
     3653 days) x static 20 values -> 73060 keys; list all keys (as MultiPartitionKey
     objects, as Dagster returns them).
  d  A -> B, both daily from 2000-01-01 with end_date 2026-11-27 (9827 partitions
     each), B depends on A with TimeWindowPartitionMapping(start_offset=-1).
     d_setup_s: the mapping Dagster's defaults would pick (infer_partition_mapping,
                which returns the given one) and the definitions resolved.
     d_all:     the subset of ALL partitions of B, mapped to A's partitions in one
                call (get_upstream_mapped_partitions_result_for_partitions), then
                the keys listed.
     d_per_key: every partition of B separately (the all-subset cut into one-partition
                subsets, as a planner iterates), mapped to A with the same public call,
                and the parent keys listed; total time and mean per partition.
                d_per_key_from_keys_s does the same starting from each key string
                (subset_with_partition_keys([key])), as Dagster's loop does.
     Arco Flow reports no nonexistent parent for the first partition: as in Dagster,
     an offset never reaches before the upstream start.
  e  Materialize partition 2026-11-26 of A -> B (identity mapping) in process with
     af.materialize on the default ephemeral instance; B's value is "2026-11-26!".
  f  Daily partitions 1970-01-01 .. 2100-01-01 (47482 partitions): count them and
     cut the all-subset into chunks of 100, no key listed (f_s), then the keys of
     every chunk (f_keys_s).
  g  1,000,000 dynamic keys in an in-memory store: subset of all of them, count,
     intersect with and subtract the subset of a key range (500,000 keys), chunk the
     rest into runs of 100 (g_s). g_scattered_s: subtract every other key among the
     first 100,000 (50,000 ranges) and chunk. g_from_keys_s: build that scattered subset
     from its 50,000 key strings (the key index of the million keys is built here).
     The input keys are made and garbage-collected before the clock starts.
Each part is timed on its first call in the process. Checks the counts and ends listed
in ../shared/WORKLOADS.md before printing one JSON line.
"""

import argparse
import datetime as dt
import gc
import json
import os
import resource
import time

T_START = time.perf_counter()
import arco_flow as af  # noqa: E402
import arco_flow.core.partitions as ap  # noqa: E402

materialize = af.materialize  # loads the execution layer: part of the import

T_IMPORTED = time.perf_counter()

UTC = dt.UTC


def check(ok, message):
    """A result check that `python -O` does not remove."""
    if not ok:
        raise SystemExit(f"W5 check failed: {message}")


def part_a():
    pd = ap.DailyPartitionsDefinition(start_date="2000-01-01")
    t = time.perf_counter()
    keys = pd.get_partition_keys(current_time=dt.datetime(2026, 11, 27, tzinfo=UTC))
    el = time.perf_counter() - t
    check(len(keys) == 9827 and keys[0] == "2000-01-01" and keys[-1] == "2026-11-26", "a keys")
    return {"a_s": el, "a_keys": len(keys), "a_first": keys[0], "a_last": keys[-1]}


def part_b():
    pd = ap.HourlyPartitionsDefinition(start_date="2021-01-01-00:00")
    t = time.perf_counter()
    keys = pd.get_partition_keys(current_time=dt.datetime(2026, 1, 1, tzinfo=UTC))
    el = time.perf_counter() - t
    check(
        len(keys) == 43824 and keys[0] == "2021-01-01-00:00" and keys[-1] == "2025-12-31-23:00",
        "b keys",
    )
    return {"b_s": el, "b_keys": len(keys), "b_first": keys[0], "b_last": keys[-1]}


def part_c():
    pd = ap.MultiPartitionsDefinition(
        {
            "date": ap.DailyPartitionsDefinition(start_date="2016-01-01"),
            "region": ap.StaticPartitionsDefinition([f"r{i:02d}" for i in range(20)]),
        }
    )
    t = time.perf_counter()
    keys = pd.get_partition_keys(current_time=dt.datetime(2026, 1, 1, tzinfo=UTC))
    el = time.perf_counter() - t
    check(len(keys) == 73060, "c key count")
    check(keys[0] == "2016-01-01|r00" and keys[-1] == "2025-12-31|r19", "c ends")
    check(keys[1].keys_by_dimension == {"date": "2016-01-01", "region": "r01"}, "c key type")
    return {"c_s": el, "c_keys": len(keys), "c_first": str(keys[0]), "c_last": str(keys[-1])}


def part_d():
    # The clock is read here, in the benchmark, as the engine will: core takes "now" in.
    now = dt.datetime.now(UTC)
    pd = ap.DailyPartitionsDefinition(start_date="2000-01-01", end_date="2026-11-27")
    a_pd = b_pd = pd
    t0 = time.perf_counter()
    mapping = ap.infer_partition_mapping(ap.TimeWindowPartitionMapping(start_offset=-1), b_pd, a_pd)
    mapping.validate_partition_mapping(a_pd, b_pd)
    t1 = time.perf_counter()
    all_b = b_pd.subset_with_all_partitions(current_time=now)
    res = mapping.get_upstream_mapped_partitions_result_for_partitions(
        all_b, b_pd, a_pd, current_time=now
    )
    up_keys = res.partitions_subset.get_partition_keys()
    t2 = time.perf_counter()
    b_keys = b_pd.get_partition_keys(current_time=now)
    t3 = time.perf_counter()
    total = nonexistent = 0
    for one in all_b.chunks(1):
        r = mapping.get_upstream_mapped_partitions_result_for_partitions(
            one, b_pd, a_pd, current_time=now
        )
        total += len(r.partitions_subset.get_partition_keys())
        nonexistent += len(r.required_but_nonexistent_subset)
    t4 = time.perf_counter()
    from_keys = 0
    for key in b_keys:
        one = b_pd.subset_with_partition_keys([key], current_time=now)
        r = mapping.get_upstream_mapped_partitions_result_for_partitions(
            one, b_pd, a_pd, current_time=now
        )
        from_keys += len(r.partitions_subset.get_partition_keys())
    t5 = time.perf_counter()
    check(len(up_keys) == 9827 and len(b_keys) == 9827, "d key counts")
    check(total == 19653 and from_keys == 19653, f"d pairs {total} / {from_keys}")
    return {
        "d_setup_s": t1 - t0,
        "d_all_s": t2 - t1,
        "d_all_upstream_keys": len(up_keys),
        "d_all_nonexistent": len(res.required_but_nonexistent_subset),
        "d_downstream_keys": len(b_keys),
        "d_per_key_s": t4 - t3,
        "d_per_key_mean_s": (t4 - t3) / len(b_keys),
        "d_per_key_pairs": total,
        "d_per_key_nonexistent": nonexistent,
        "d_per_key_from_keys_s": t5 - t4,
    }


def part_e():
    os.environ.pop("ARCO_HOME", None)  # default ephemeral instance
    pd = ap.DailyPartitionsDefinition(start_date="2000-01-01")

    @af.asset(name="A", partitions_def=pd)
    def _a(context: af.AssetExecutionContext):
        return context.partition_key

    @af.asset(name="B", partitions_def=pd)
    def _b(A):  # the upstream asset is named A, as in Dagster's script
        return A + "!"

    t = time.perf_counter()
    result = af.materialize([_a, _b], partition_key="2026-11-26")
    el = time.perf_counter() - t
    check(result.success, "the run failed")
    check(result.output_for_node("B") == "2026-11-26!", f"B = {result.output_for_node('B')!r}")
    materializations = result.get_asset_materialization_events()
    check(len(materializations) == 2, f"{len(materializations)} materializations")
    return {"e_s": el, "e_materializations": len(materializations)}


def part_f():
    pd = ap.DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
    t = time.perf_counter()
    subset = pd.subset_with_all_partitions()
    count = len(subset)
    chunks = subset.chunks(100)
    t1 = time.perf_counter()
    keys = [c.get_partition_keys() for c in chunks]
    t2 = time.perf_counter()
    check(count == 47482 and len(chunks) == 475 and len(chunks[-1]) == 82, "f chunks")
    check(keys[0][0] == "1970-01-01" and keys[-1][-1] == "2099-12-31", "f ends")
    return {"f_s": t1 - t, "f_partitions": count, "f_chunks": len(chunks), "f_keys_s": t2 - t1}


def part_g():
    keys = [f"customer-{i:07d}" for i in range(1_000_000)]
    store = ap.InMemoryDynamicPartitionsStore({"customers": keys})
    pd = ap.DynamicPartitionsDefinition(name="customers")
    # The million input keys are fresh containers in the young generations: collect once
    # so that the timed work does not pay for the collector scanning the test input.
    gc.collect()
    t = time.perf_counter()
    everything = pd.subset_with_all_partitions(dynamic_partitions_store=store)
    count = len(everything)
    window = pd.subset_with_partition_key_range(
        ap.PartitionKeyRange("customer-0100000", "customer-0599999"),
        dynamic_partitions_store=store,
    )
    both = everything & window
    rest = everything - window
    chunks = rest.chunks(100)
    t1 = time.perf_counter()
    space = everything.space
    every_other = ap.PartitionsSubset.from_ranges(space, ((i, i + 1) for i in range(0, 100_000, 2)))
    scattered = (everything - every_other).chunks(100)
    t2 = time.perf_counter()
    from_keys = pd.subset_with_partition_keys(keys[0:100_000:2], dynamic_partitions_store=store)
    t3 = time.perf_counter()
    check(count == 1_000_000 and len(both) == 500_000 and len(rest) == 500_000, "g counts")
    check(len(chunks) == 5000 and chunks[1000].get_partition_keys()[0] == "customer-0600000", "g")
    check(len(scattered) == 9500 and from_keys == every_other, "g scattered")
    return {
        "g_s": t1 - t,
        "g_partitions": count,
        "g_chunks": len(chunks),
        "g_scattered_s": t2 - t1,
        "g_scattered_ranges": len(every_other.ranges),
        "g_from_keys_s": t3 - t2,
    }


PARTS = {"a": part_a, "b": part_b, "c": part_c, "d": part_d, "e": part_e, "f": part_f, "g": part_g}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=[*PARTS, "all"], required=True)
    args = parser.parse_args()
    out = {"workload": "W5", "part": args.part, "import_s": T_IMPORTED - T_START}
    for name in PARTS if args.part == "all" else [args.part]:
        out.update(PARTS[name]())
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
