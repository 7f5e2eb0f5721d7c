"""The pure partition status rules, against a key-by-key model of Dagster's semantics."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    InMemoryDynamicPartitionsStore,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco_flow.storage.partition_status import (
    ActiveRun,
    MaterializedCache,
    PartitionFailure,
    asset_partition_status,
    dynamic_dependencies,
    extend_materialized,
    indexing_fingerprint,
    partition_status,
    ranges_from_data,
    ranges_of_keys,
    ranges_to_data,
)

KEYS = [f"k{i}" for i in range(12)]
STATIC = StaticPartitionsDefinition(KEYS)
SPACE = STATIC.resolve()


def _failure(event_id: int, start: str, end: str) -> PartitionFailure:
    return PartitionFailure(
        tenant_id="t",
        workspace_id="w",
        asset_key="a",
        run_id=f"r{event_id}",
        task_id="t",
        range_start=start,
        range_end=end,
        event_id=event_id,
    )


def _span(data) -> tuple[str, str]:
    low, high = sorted(data)
    return KEYS[low], KEYS[high]


# (kind, event_id-ordering position, partition index or span)
_histories = st.lists(
    st.one_of(
        st.tuples(st.just("materialized"), st.integers(0, 11)),
        st.tuples(st.just("failed"), st.tuples(st.integers(0, 11), st.integers(0, 11))),
        st.tuples(st.just("active"), st.tuples(st.integers(0, 11), st.integers(0, 11))),
    ),
    max_size=25,
)


def _model(history) -> dict[str, set[str]]:
    """Key by key: latest materialization, latest failure, active runs after it."""
    latest_mat: dict[str, int] = {}
    latest_fail: dict[str, int] = {}
    active: dict[str, int] = {}
    for event_id, (kind, data) in enumerate(history, start=1):
        if kind == "materialized":
            latest_mat[KEYS[data]] = event_id
        else:
            start, end = sorted(data)
            target = latest_fail if kind == "failed" else active
            for key in KEYS[start : end + 1]:
                target[key] = max(target.get(key, 0), event_id)
    status: dict[str, set[str]] = {name: set() for name in ("m", "f", "p", "x")}
    for key in KEYS:
        mat = latest_mat.get(key, 0)
        if active.get(key, 0) > mat:
            status["p"].add(key)
        elif latest_fail.get(key, 0) > mat:
            status["f"].add(key)
        elif mat:
            status["m"].add(key)
        else:
            status["x"].add(key)
    return status


@settings(max_examples=200, deadline=None)
@given(_histories)
def test_status_agrees_with_a_key_by_key_model(history):
    materialized, failures, runs, newer = [], [], [], []
    for event_id, (kind, data) in enumerate(history, start=1):
        if kind == "materialized":
            materialized.append(KEYS[data])
            newer.append((event_id, KEYS[data]))
        elif kind == "failed":
            failures.append(_failure(event_id, *_span(data)))
        else:
            start, end = _span(data)
            runs.append(ActiveRun(created_event_id=event_id, range_start=start, range_end=end))
    status = partition_status(SPACE, ranges_of_keys(SPACE, materialized), failures, runs, newer)
    expected = _model(history)
    assert set(status.materialized) == expected["m"]
    assert set(status.failed) == expected["f"]
    assert set(status.in_progress) == expected["p"]
    assert set(status.missing) == expected["x"]
    assert status.num_partitions == len(KEYS)


def test_unknown_keys_have_no_status():
    status = partition_status(
        SPACE,
        ranges_of_keys(SPACE, ["k1", "gone", ""]),
        [_failure(5, "gone", "k3")],
        [ActiveRun(created_event_id=6, range_start="k2", range_end="nope")],
        [(4, "gone")],
    )
    assert status.materialized.get_partition_keys() == ["k1"]
    assert status.failed.is_empty
    assert status.in_progress.is_empty


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 5)), max_size=10))
def test_ranges_round_trip_through_their_data_form(pairs):
    ranges = tuple((start, start + size) for start, size in pairs)
    assert ranges_from_data(ranges_to_data(ranges)) == ranges


def test_the_materialized_ranges_only_grow():
    grown = extend_materialized(SPACE, ((0, 2),), ["k2", "k5", "nope"])
    assert grown == ((0, 3), (5, 6))


def test_dynamic_dependencies_name_what_moves_indices():
    dynamic = DynamicPartitionsDefinition(name="d")
    multi = MultiPartitionsDefinition({"c": dynamic, "s": StaticPartitionsDefinition(["x"])})
    assert dynamic_dependencies(dynamic) == [("d", False)]
    assert dynamic_dependencies(multi) == [("d", True)]
    assert dynamic_dependencies(STATIC) == []


def test_the_fingerprint_changes_with_the_definition_and_its_key_versions():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert indexing_fingerprint(daily, []) == indexing_fingerprint(
        DailyPartitionsDefinition(start_date="2024-01-01"), []
    )
    assert indexing_fingerprint(daily, []) != indexing_fingerprint(STATIC, [])
    dynamic = DynamicPartitionsDefinition(name="d")
    assert indexing_fingerprint(dynamic, [1]) != indexing_fingerprint(dynamic, [2])


class _Source:
    def __init__(self, rows):
        self.rows = rows
        self.kept: MaterializedCache | None = None
        self.reads: list[int] = []

    def index_versions(self, dependencies):
        return [0 for _ in dependencies]

    def cached(self, fingerprint):
        return self.kept if self.kept and self.kept.fingerprint == fingerprint else None

    def store_cache(self, cache):
        self.kept = cache

    def latest_since(self, after_event_id):
        self.reads.append(after_event_id)
        return [row for row in self.rows if row[0] > after_event_id]

    def failures(self):
        return []

    def active_runs(self):
        return []


def test_the_cache_is_read_then_extended_with_newer_rows_only():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    space = daily.resolve(datetime(2024, 1, 11, tzinfo=UTC))
    source = _Source([(1, "2024-01-01"), (2, "2024-01-02")])
    assert asset_partition_status(space, source).num_materialized == 2
    assert source.kept is not None
    assert source.kept.through_event_id == 2
    source.rows.append((7, "2024-01-05"))
    status = asset_partition_status(space, source)
    assert status.materialized.get_partition_keys() == ["2024-01-01", "2024-01-02", "2024-01-05"]
    assert source.reads == [0, 2]
    assert status.num_missing == 7


def test_dynamic_spaces_take_their_keys_from_the_store():
    store = InMemoryDynamicPartitionsStore({"d": ["a", "b"]})
    space = DynamicPartitionsDefinition(name="d").resolve(None, store)
    status = partition_status(space, ranges_of_keys(space, ["b"]), [], [], [])
    assert status.missing.get_partition_keys() == ["a"]
