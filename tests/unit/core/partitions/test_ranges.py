from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.partitions._ranges import (
    chunk_ranges,
    clip_ranges,
    count,
    difference,
    index_at_position,
    intersection,
    is_member,
    iterate,
    normalize,
    ranges_from_indices,
    shift_ranges,
    slice_positions,
    union,
)

index_sets = st.sets(st.integers(min_value=-20, max_value=80), max_size=40)


def model(ranges):
    return set(iterate(ranges))


def is_normal(ranges):
    return all(a < b for a, b in ranges) and all(
        ranges[i][1] < ranges[i + 1][0] for i in range(len(ranges) - 1)
    )


def test_normalize_merges_overlapping_and_touching_ranges():
    assert normalize([(5, 7), (0, 2), (2, 3), (6, 9), (4, 4)]) == ((0, 3), (5, 9))
    assert normalize([(0, 10), (2, 5)]) == ((0, 10),)


def test_ranges_from_indices_groups_runs():
    assert ranges_from_indices([3, 1, 2, 7, 7, 9, 8]) == ((1, 4), (7, 10))
    assert ranges_from_indices([]) == ()


def test_chunks_cut_a_long_range_arithmetically():
    chunks = chunk_ranges(((0, 47482),), 100)
    assert len(chunks) == 475
    assert chunks[0] == ((0, 100),)
    assert chunks[-1] == ((47400, 47482),)


def test_chunks_span_several_ranges():
    assert chunk_ranges(((0, 3), (10, 12), (20, 25)), 4) == [
        ((0, 3), (10, 11)),
        ((11, 12), (20, 23)),
        ((23, 25),),
    ]


def test_position_lookup_and_slicing():
    ranges = ((0, 3), (10, 12))
    assert [index_at_position(ranges, p) for p in range(5)] == [0, 1, 2, 10, 11]
    assert slice_positions(ranges, 2, 4) == ((2, 3), (10, 11))


@settings(max_examples=200, deadline=None)
@given(index_sets, index_sets)
def test_set_algebra_matches_python_sets(left, right):
    a, b = ranges_from_indices(left), ranges_from_indices(right)
    for result, expected in (
        (union(a, b), left | right),
        (intersection(a, b), left & right),
        (difference(a, b), left - right),
    ):
        assert is_normal(result)
        assert model(result) == expected
    assert count(a) == len(left)
    assert all(is_member(a, i) == (i in left) for i in range(-25, 85))
    assert model(shift_ranges(a, 7)) == {i + 7 for i in left}
    assert model(clip_ranges(a, 0, 50)) == {i for i in left if 0 <= i < 50}


@settings(max_examples=100, deadline=None)
@given(index_sets, st.integers(min_value=1, max_value=9))
def test_chunks_keep_order_and_size(indices, size):
    ranges = ranges_from_indices(indices)
    chunks = chunk_ranges(ranges, size)
    flat = [i for chunk in chunks for i in iterate(chunk)]
    assert flat == sorted(indices)
    assert all(count(chunk) == size for chunk in chunks[:-1])
