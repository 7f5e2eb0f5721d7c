from arco_flow.storage.verification import diff_projections


def rows(**tables):
    return {name: {tuple(key): row for key, row in table.items()} for name, table in tables.items()}


def test_equal_projections_have_no_difference():
    live = rows(runs={("t", "w", "r1"): {"status": "SUCCESS"}})
    assert diff_projections(live, rows(runs={("t", "w", "r1"): {"status": "SUCCESS"}})) == []


def test_each_missing_extra_and_changed_row_is_one_line_naming_table_key_and_column():
    live = rows(
        runs={("t", "w", "r1"): {"status": "SUCCESS", "job_name": "j"}, ("t", "w", "r9"): {}},
        materializations={},
    )
    rebuilt = rows(
        runs={("t", "w", "r1"): {"status": "FAILURE", "job_name": "j"}},
        materializations={(7,): {"event_id": 7}},
    )
    assert diff_projections(live, rebuilt) == [
        "runs[t, w, r1]: status is 'SUCCESS' live, but 'FAILURE' rebuilt from the log",
        "runs[t, w, r9]: in the live projection, but the log does not produce it",
        "materializations[7]: produced by the log, but missing from the live projection",
    ]


def test_integers_compare_equal_to_equal_floats():
    assert (
        diff_projections(rows(tasks={("k",): {"wall_s": 0}}), rows(tasks={("k",): {"wall_s": 0.0}}))
        == []
    )


def test_event_ids_sort_numerically():
    rebuilt = rows(materializations={(10,): {}, (9,): {}})
    assert [line.split(":")[0] for line in diff_projections({}, rebuilt)] == [
        "materializations[9]",
        "materializations[10]",
    ]


def test_a_long_list_is_cut_with_a_count_of_the_rest():
    rebuilt = rows(observations={(i,): {} for i in range(5)})
    lines = diff_projections({}, rebuilt, max_lines=2)
    assert len(lines) == 3
    assert lines[-1] == "... and 3 more differences"
