"""Partition mappings. Expected keys of the literal cases were produced by Dagster 1.13.28."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    InMemoryDynamicPartitionsStore,
    LastPartitionMapping,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    infer_partition_mapping,
)

NOW = datetime(2024, 1, 20, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
HOURLY = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
WEEKLY = WeeklyPartitionsDefinition(start_date="2024-01-01")
LATE = DailyPartitionsDefinition(start_date="2024-01-05")
LETTERS = StaticPartitionsDefinition(["a", "b", "c"])
XY = StaticPartitionsDefinition(["x", "y"])
REGIONS = StaticPartitionsDefinition(["eu", "us"])
MULTI = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})


def upstream(mapping, keys, downstream_def, upstream_def):
    subset = downstream_def.subset_with_partition_keys(keys, current_time=NOW)
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset, downstream_def, upstream_def, current_time=NOW
    )
    found = sorted(result.partitions_subset.get_partition_keys())
    return found, sorted(result.required_but_nonexistent_partition_keys)


def weekdays_from(start):
    return TimeWindowPartitionsDefinition(start=start, fmt="%Y-%m-%d", cron_schedule="0 0 * * 1-5")


def downstream(mapping, keys, upstream_def, downstream_def):
    subset = upstream_def.subset_with_partition_keys(keys, current_time=NOW)
    result = mapping.get_downstream_partitions_for_partitions(
        subset, upstream_def, downstream_def, current_time=NOW
    )
    return sorted(result.get_partition_keys())


WEEK = [f"2024-01-{d:02d}" for d in range(7, 14)]


@pytest.mark.parametrize(
    ("mapping", "keys", "downstream_def", "upstream_def", "expected"),
    [
        (
            TimeWindowPartitionMapping(),
            ["2024-01-03", "2024-01-09"],
            DAILY,
            WEEKLY,
            (["2024-01-07"], ["2023-12-31"]),
        ),
        (TimeWindowPartitionMapping(), ["2024-01-07"], WEEKLY, DAILY, (WEEK, [])),
        (TimeWindowPartitionMapping(), ["2024-01-03-05:00"], HOURLY, DAILY, (["2024-01-03"], [])),
        (
            TimeWindowPartitionMapping(start_offset=-2, end_offset=1),
            ["2024-01-05"],
            DAILY,
            DAILY,
            (["2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"], []),
        ),
        (
            TimeWindowPartitionMapping(),
            ["2024-01-03", "2024-01-06"],
            DAILY,
            LATE,
            (["2024-01-06"], ["2024-01-03"]),
        ),
        (
            TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True),
            ["2024-01-03", "2024-01-06"],
            DAILY,
            LATE,
            (["2024-01-06"], []),
        ),
        (
            StaticPartitionMapping({"a": "x", "b": ["x", "y"], "c": "y"}),
            ["x"],
            XY,
            LETTERS,
            (["a", "b"], []),
        ),
        (
            MultiToSingleDimensionPartitionMapping(),
            ["2024-01-03"],
            DAILY,
            MULTI,
            (["2024-01-03|eu", "2024-01-03|us"], []),
        ),
        (
            MultiToSingleDimensionPartitionMapping(),
            ["2024-01-03|eu", "2024-01-04|us"],
            MULTI,
            DAILY,
            (["2024-01-03", "2024-01-04"], []),
        ),
        (
            MultiPartitionMapping(
                {
                    "date": DimensionPartitionMapping(
                        "date", TimeWindowPartitionMapping(start_offset=-1)
                    ),
                    "region": DimensionPartitionMapping("region", IdentityPartitionMapping()),
                }
            ),
            ["2024-01-03|eu"],
            MULTI,
            MULTI,
            (["2024-01-02|eu", "2024-01-03|eu"], []),
        ),
    ],
)
def test_upstream_partitions_match_dagster(mapping, keys, downstream_def, upstream_def, expected):
    assert upstream(mapping, keys, downstream_def, upstream_def) == expected


@pytest.mark.parametrize(
    ("mapping", "keys", "upstream_def", "downstream_def", "expected"),
    [
        (TimeWindowPartitionMapping(), ["2024-01-03"], DAILY, WEEKLY, []),
        (
            TimeWindowPartitionMapping(start_offset=-2, end_offset=1),
            ["2024-01-05"],
            DAILY,
            DAILY,
            ["2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"],
        ),
        (StaticPartitionMapping({"a": "x", "b": ["x", "y"], "c": "y"}), ["c"], LETTERS, XY, ["y"]),
        (
            MultiToSingleDimensionPartitionMapping(),
            ["2024-01-03"],
            DAILY,
            MULTI,
            ["2024-01-03|eu", "2024-01-03|us"],
        ),
    ],
)
def test_downstream_partitions_match_dagster(mapping, keys, upstream_def, downstream_def, expected):
    assert downstream(mapping, keys, upstream_def, downstream_def) == expected


def test_mapping_every_day_of_130_years_is_one_range():
    daily = DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
    everything = daily.subset_with_all_partitions()
    result = TimeWindowPartitionMapping(
        start_offset=-1
    ).get_upstream_mapped_partitions_result_for_partitions(everything, daily, daily)
    assert result.partitions_subset.ranges == ((0, 47482),)
    # As Dagster: the offset does not reach before the first upstream partition.
    assert result.required_but_nonexistent_subset.is_empty


def test_a_partition_before_the_upstream_start_is_reported_even_with_an_offset():
    # Dagster reports nothing here: the offset moves the window's start past its end.
    # The downstream partition's own window is reported; the day the offset adds is not.
    mapping = TimeWindowPartitionMapping(start_offset=-1)
    found, missing = upstream(mapping, ["2024-01-03", "2024-01-06"], DAILY, LATE)
    assert (found, missing) == (["2024-01-05", "2024-01-06"], ["2024-01-03"])


def test_identity_all_and_last():
    assert upstream(IdentityPartitionMapping(), ["b"], LETTERS, LETTERS) == (["b"], [])
    other = StaticPartitionsDefinition(["b", "z"])
    assert upstream(IdentityPartitionMapping(), ["a", "b"], LETTERS, other) == (["b"], ["a"])
    assert downstream(IdentityPartitionMapping(), ["a", "b"], LETTERS, other) == ["b"]
    assert upstream(AllPartitionMapping(), ["a"], LETTERS, XY) == (["x", "y"], [])
    assert downstream(AllPartitionMapping(), ["a"], LETTERS, XY) == ["x", "y"]
    assert upstream(LastPartitionMapping(), ["a"], LETTERS, DAILY) == (["2024-01-19"], [])
    assert downstream(LastPartitionMapping(), ["2024-01-19"], DAILY, XY) == ["x", "y"]
    assert downstream(LastPartitionMapping(), ["2024-01-18"], DAILY, XY) == []
    unpartitioned = AllPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
        None, None, XY
    )
    assert unpartitioned.partitions_subset.get_partition_keys() == ["x", "y"]


def test_default_mappings_follow_dagster():
    pairs = [
        (DAILY, DAILY),
        (DAILY, HOURLY),
        (LETTERS, LETTERS),
        (None, DAILY),
        (DAILY, None),
        (MULTI, DAILY),
        (DAILY, MULTI),
        (LETTERS, XY),
    ]
    assert [type(infer_partition_mapping(None, down, up)).__name__ for down, up in pairs] == [
        "TimeWindowPartitionMapping",
        "TimeWindowPartitionMapping",
        "IdentityPartitionMapping",
        "AllPartitionMapping",
        "AllPartitionMapping",
        "MultiToSingleDimensionPartitionMapping",
        "MultiToSingleDimensionPartitionMapping",
        "IdentityPartitionMapping",
    ]
    given = LastPartitionMapping()
    assert infer_partition_mapping(given, DAILY, DAILY) is given


@pytest.mark.parametrize(
    ("mapping", "upstream_def", "downstream_def", "message"),
    [
        (TimeWindowPartitionMapping(), LETTERS, DAILY, "both must be time-window"),
        (
            TimeWindowPartitionMapping(),
            DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin"),
            DAILY,
            "time zones differ",
        ),
        (IdentityPartitionMapping(), LETTERS, DAILY, "got static and time_window"),
        (
            StaticPartitionMapping({"a": "x", "q": "y"}),
            LETTERS,
            XY,
            "'q' is not a key of the upstream",
        ),
        (StaticPartitionMapping({"a": "xx"}), LETTERS, XY, "did you mean 'x'"),
        (
            MultiToSingleDimensionPartitionMapping(),
            LETTERS,
            XY,
            "exactly one of the two must be multi",
        ),
        (MultiToSingleDimensionPartitionMapping("day"), MULTI, DAILY, "no dimension 'day'"),
        (
            MultiPartitionMapping(
                {"day": DimensionPartitionMapping("date", IdentityPartitionMapping())}
            ),
            MULTI,
            MULTI,
            "the upstream has no dimension 'day'",
        ),
    ],
)
def test_incompatible_definitions_are_rejected_naming_both(
    mapping, upstream_def, downstream_def, message
):
    with pytest.raises(PartitionError, match=message) as caught:
        mapping.validate_partition_mapping(upstream_def, downstream_def)
    assert repr(upstream_def) in str(caught.value)
    assert repr(downstream_def) in str(caught.value)


def test_a_subset_of_an_equal_definition_is_accepted():
    twin = DailyPartitionsDefinition(start_date="2024-01-01")
    assert upstream(IdentityPartitionMapping(), ["2024-01-02"], twin, DAILY)[0] == ["2024-01-02"]
    subset = twin.subset_with_partition_keys(["2024-01-02"], current_time=NOW)
    result = TimeWindowPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
        subset, DAILY, DAILY, current_time=NOW
    )
    assert result.partitions_subset.get_partition_keys() == ["2024-01-02"]


def test_a_subset_of_another_definition_is_rejected_at_the_call():
    subset = LETTERS.subset_with_partition_keys(["a"])
    with pytest.raises(PartitionError, match="pass a subset of it"):
        IdentityPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
            subset, StaticPartitionsDefinition(["a"]), LETTERS
        )


def test_mappings_are_values():
    assert TimeWindowPartitionMapping(start_offset=-1) == TimeWindowPartitionMapping(
        start_offset=-1
    )
    assert StaticPartitionMapping({"a": "x"}) == StaticPartitionMapping({"a": ["x"]})
    assert (
        len({MultiToSingleDimensionPartitionMapping(), MultiToSingleDimensionPartitionMapping()})
        == 1
    )
    with pytest.raises(PartitionError, match="start_offset must be an integer"):
        TimeWindowPartitionMapping(start_offset=0.5)  # type: ignore[arg-type]  # on purpose
    with pytest.raises(PartitionError, match="maps every partition to no window"):
        TimeWindowPartitionMapping(start_offset=0, end_offset=-1)


# -- composition with the inverse direction ----------------------------------------------

TIME_DEFS = [
    DailyPartitionsDefinition(start_date="2024-01-01", timezone="America/New_York"),
    DailyPartitionsDefinition(start_date="2024-01-10", timezone="America/New_York", hour_offset=6),
    HourlyPartitionsDefinition(start_date="2024-01-03-00:00", timezone="America/New_York"),
    WeeklyPartitionsDefinition(start_date="2023-12-20", timezone="America/New_York"),
]
TIME_NOW = datetime(2024, 3, 15, tzinfo=UTC)  # after New York's change to summer time


@st.composite
def time_cases(draw):
    down_def, up_def = draw(st.sampled_from(TIME_DEFS)), draw(st.sampled_from(TIME_DEFS))
    start_offset = draw(st.integers(-3, 1))
    end_offset = draw(st.integers(max(start_offset, -1), 3))
    mapping = TimeWindowPartitionMapping(start_offset=start_offset, end_offset=end_offset)
    keys = down_def.get_partition_keys(current_time=TIME_NOW)
    chosen = draw(st.lists(st.sampled_from(keys), max_size=6))
    return (
        mapping,
        down_def,
        up_def,
        down_def.subset_with_partition_keys(chosen, current_time=TIME_NOW),
    )


@settings(max_examples=100, deadline=None)
@given(time_cases())
def test_time_mappings_composed_with_their_inverse_cover_the_original(case):
    mapping, down_def, up_def, subset = case
    up = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset, down_def, up_def, current_time=TIME_NOW
    ).partitions_subset
    back = mapping.get_downstream_partitions_for_partitions(
        up, up_def, down_def, current_time=TIME_NOW
    )
    for key in subset:
        one = down_def.subset_with_partition_keys([key], current_time=TIME_NOW)
        needs = mapping.get_upstream_mapped_partitions_result_for_partitions(
            one, down_def, up_def, current_time=TIME_NOW
        ).partitions_subset
        assert (key in back) == (not needs.is_empty), key
    fed = mapping.get_downstream_partitions_for_partitions(
        up, up_def, down_def, current_time=TIME_NOW
    )
    again = mapping.get_upstream_mapped_partitions_result_for_partitions(
        fed, down_def, up_def, current_time=TIME_NOW
    ).partitions_subset
    assert (up - again).is_empty or fed.is_empty


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(MULTI.get_partition_keys(current_time=NOW)), max_size=10))
def test_multi_to_single_composed_with_its_inverse_covers_the_original(keys):
    mapping = MultiToSingleDimensionPartitionMapping()
    subset = MULTI.subset_with_partition_keys(keys, current_time=NOW)
    days = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset, MULTI, DAILY, current_time=NOW
    ).partitions_subset
    assert set(days.get_partition_keys()) == {k.split("|")[0] for k in keys}
    back = mapping.get_downstream_partitions_for_partitions(days, DAILY, MULTI, current_time=NOW)
    assert (subset - back).is_empty


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(["x", "y"]), max_size=2))
def test_static_mapping_composed_with_its_inverse_covers_the_original(keys):
    mapping = StaticPartitionMapping({"a": "x", "b": ["x", "y"], "c": "y"})
    subset = XY.subset_with_partition_keys(keys)
    up = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset, XY, LETTERS
    ).partitions_subset
    back = mapping.get_downstream_partitions_for_partitions(up, LETTERS, XY)
    assert (subset - back).is_empty


def test_identity_between_definitions_of_the_same_kind():
    store = InMemoryDynamicPartitionsStore({"customers": ["acme", "globex"]})
    customers = DynamicPartitionsDefinition(name="customers")
    subset = customers.subset_with_partition_keys(["globex"], dynamic_partitions_store=store)
    result = IdentityPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
        subset, customers, customers, dynamic_partitions_store=store
    )
    assert result.partitions_subset.get_partition_keys() == ["globex"]
    with pytest.raises(PartitionError, match="got time_window and unpartitioned"):
        IdentityPartitionMapping().validate_partition_mapping(DAILY, None)
    assert "same key" in IdentityPartitionMapping().description
    IdentityPartitionMapping().validate_partition_mapping(MULTI, MULTI)
    same = StaticPartitionsDefinition(["a", "b", "c"])
    assert upstream(
        IdentityPartitionMapping(), ["a", "c"], same, StaticPartitionsDefinition(["c", "a"])
    ) == (
        ["a", "c"],
        [],
    )


def test_identity_between_time_windows_with_other_starts_or_formats():
    later = DailyPartitionsDefinition(start_date="2024-01-03")
    assert upstream(IdentityPartitionMapping(), ["2024-01-02", "2024-01-04"], DAILY, later) == (
        ["2024-01-04"],
        ["2024-01-02"],
    )
    assert downstream(IdentityPartitionMapping(), ["2024-01-02", "2024-01-04"], DAILY, later) == [
        "2024-01-04"
    ]
    slashed = DailyPartitionsDefinition(start_date="2024/01/03", fmt="%Y/%m/%d")
    assert upstream(IdentityPartitionMapping(), ["2024-01-04"], DAILY, slashed) == (
        [],
        ["2024-01-04"],
    )
    business = weekdays_from("2024-01-01")
    later_business = weekdays_from("2024-01-03")
    assert upstream(
        IdentityPartitionMapping(), ["2024-01-02", "2024-01-04"], business, later_business
    ) == (
        ["2024-01-04"],
        ["2024-01-02"],
    )


def test_identity_by_key_between_schedules_that_differ():
    morning = DailyPartitionsDefinition(start_date="2024-01-03", hour_offset=6)
    assert upstream(IdentityPartitionMapping(), ["2024-01-02", "2024-01-04"], DAILY, morning) == (
        ["2024-01-04"],
        ["2024-01-02"],
    )


def test_empty_subsets_map_to_empty_subsets():
    mappings = [
        IdentityPartitionMapping(),
        AllPartitionMapping(),
        LastPartitionMapping(),
        TimeWindowPartitionMapping(),
        MultiToSingleDimensionPartitionMapping(),
    ]
    for mapping in mappings:
        up_def = MULTI if isinstance(mapping, MultiToSingleDimensionPartitionMapping) else DAILY
        assert upstream(mapping, [], DAILY, up_def) == ([], [])
        assert downstream(mapping, [], DAILY, up_def) == []
    assert upstream(IdentityPartitionMapping(), [], LETTERS, LETTERS) == ([], [])
    assert downstream(IdentityPartitionMapping(), ["a", "b"], LETTERS, LETTERS) == ["a", "b"]


def test_last_partition_of_an_asset_with_no_partition_yet():
    future = DailyPartitionsDefinition(start_date="2025-01-01")
    assert upstream(LastPartitionMapping(), ["a"], LETTERS, future) == ([], [])
    empty = future.empty_subset(current_time=NOW)
    assert (
        LastPartitionMapping()
        .get_downstream_partitions_for_partitions(empty, future, LETTERS, current_time=NOW)
        .is_empty
    )


def test_multi_to_single_reports_missing_partitions_of_either_side():
    late_multi = MultiPartitionsDefinition({"date": LATE, "region": REGIONS})
    mapping = MultiToSingleDimensionPartitionMapping()
    found, missing = upstream(mapping, ["2024-01-04", "2024-01-05"], DAILY, late_multi)
    assert found == ["2024-01-05|eu", "2024-01-05|us"]
    assert missing == ["2024-01-04|eu", "2024-01-04|us"]
    found, missing = upstream(mapping, ["2024-01-04|eu", "2024-01-06|us"], MULTI, LATE)
    assert (found, missing) == (["2024-01-06"], ["2024-01-04"])
    regions_first = MultiPartitionsDefinition({"a_region": REGIONS, "date": LATE})
    found, missing = upstream(
        MultiToSingleDimensionPartitionMapping("date"), ["2024-01-04"], DAILY, regions_first
    )
    assert missing == ["eu|2024-01-04", "us|2024-01-04"]


def test_multi_to_single_needs_one_matching_dimension():
    twice = MultiPartitionsDefinition({"a": DAILY, "b": DAILY})
    with pytest.raises(PartitionError, match="give partition_dimension_name"):
        MultiToSingleDimensionPartitionMapping().validate_partition_mapping(twice, DAILY)
    with pytest.raises(PartitionError, match="must equal one dimension"):
        MultiToSingleDimensionPartitionMapping().validate_partition_mapping(MULTI, LETTERS)
    assert MultiToSingleDimensionPartitionMapping("a") != MultiToSingleDimensionPartitionMapping()
    with pytest.raises(AttributeError):
        MultiToSingleDimensionPartitionMapping().partition_dimension_name = "x"  # type: ignore[misc]


def test_multi_partition_mapping_checks_every_dimension():
    def bad(table, up=MULTI, down=MULTI):
        with pytest.raises(PartitionError) as caught:
            MultiPartitionMapping(table).validate_partition_mapping(up, down)
        return str(caught.value)

    identity = IdentityPartitionMapping()
    assert "the downstream has no dimension 'x'" in bad(
        {"date": DimensionPartitionMapping("x", identity)}
    )
    assert "mapped twice" in bad(
        {
            "date": DimensionPartitionMapping("date", TimeWindowPartitionMapping()),
            "region": DimensionPartitionMapping("date", identity),
        }
    )
    assert "dimension 'region' -> 'date'" in bad(
        {"region": DimensionPartitionMapping("date", identity)}
    )
    assert "both must be multi-partitioned" in bad({}, up=DAILY)
    with pytest.raises(PartitionError, match=r"takes \{upstream dimension"):
        MultiPartitionMapping({"date": identity})
    mapping = MultiPartitionMapping({"date": DimensionPartitionMapping("date", identity)})
    assert mapping == MultiPartitionMapping({"date": DimensionPartitionMapping("date", identity)})
    assert len({mapping, mapping}) == 1
    assert "'date': 'date' by IdentityPartitionMapping()" in repr(mapping)
    with pytest.raises(AttributeError):
        mapping.x = 1  # type: ignore[attr-defined]
    # Dimensions left out depend on everything: region is not mapped, so both regions feed.
    assert upstream(mapping, ["2024-01-03|eu"], MULTI, MULTI) == (
        ["2024-01-03|eu", "2024-01-03|us"],
        [],
    )
    assert downstream(mapping, ["2024-01-03|eu"], MULTI, MULTI) == [
        "2024-01-03|eu",
        "2024-01-03|us",
    ]


def test_static_mapping_arguments_are_checked():
    with pytest.raises(PartitionError, match="takes a mapping"):
        StaticPartitionMapping(["a"])  # type: ignore[arg-type]
    with pytest.raises(PartitionError, match="is not key strings"):
        StaticPartitionMapping({"a": [1]})  # type: ignore[dict-item]
    mapping = StaticPartitionMapping(dict.fromkeys("abcdefg", "x"))
    assert "(7 upstream keys)" in repr(mapping)
    with pytest.raises(AttributeError):
        mapping.x = 1  # type: ignore[attr-defined]
    with pytest.raises(PartitionError, match="both must be StaticPartitionsDefinitions"):
        mapping.validate_partition_mapping(DAILY, XY)


def test_time_mapping_onto_a_definition_with_exclusions_skips_excluded_windows():
    weekdays = DailyPartitionsDefinition(start_date="2024-01-01", exclusions=["0 0 * * 6,0"])
    found, missing = upstream(
        TimeWindowPartitionMapping(), ["2024-01-05", "2024-01-06"], DAILY, weekdays
    )
    assert (found, missing) == (["2024-01-05"], [])
