import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.canonical_json import canonical_json, canonical_json_bytes, fingerprint, loads
from arco_flow.core.errors import CanonicalJsonError

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def _shuffled(value):
    if isinstance(value, dict):
        items = list(value.items())
        random.Random(len(items)).shuffle(items)
        return {k: _shuffled(v) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v) for v in value]
    return value


@given(json_values)
def test_canonical_json_is_independent_of_key_order(value):
    assert canonical_json(_shuffled(value)) == canonical_json(value)


@given(json_values)
def test_canonical_json_round_trips(value):
    text = canonical_json(value)
    again = loads(text)
    assert canonical_json(again) == text


@given(json_values)
def test_canonical_json_matches_the_c_encoder_when_there_are_no_floats(value):
    if any(isinstance(leaf, float) for leaf in _leaves(value)):
        return
    expected = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if not _has_astral_keys(value):
        assert canonical_json(value) == expected


def _has_astral_keys(value):
    if isinstance(value, dict):
        return any(any(ord(c) > 0xFFFF for c in k) for k in value) or any(
            _has_astral_keys(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_astral_keys(v) for v in value)
    return False


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_round_trips_exactly(number):
    assert float(canonical_json(number)) == number or number == 0


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (100.0, "100"),
        (0.1, "0.1"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (9007199254740994.0, "9007199254740994"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (3.14e-10, "3.14e-10"),
    ],
)
def test_numbers_use_the_ecmascript_form(number, expected):
    # Values from RFC 8785 appendix B and ECMAScript Number.prototype.toString.
    assert canonical_json(number) == expected


def test_members_are_sorted_by_utf16_code_units():
    # U+1F600 is a surrogate pair (D83D DE00) and sorts before U+FB01 in UTF-16.
    assert canonical_json({"\ufb01": 2, "\U0001f600": 1}) == '{"\U0001f600":1,"\ufb01":2}'


def test_strings_escape_only_what_json_requires():
    assert canonical_json('é\n\u0001"\\/') == '"é\\n\\u0001\\"\\\\/"'


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected_with_a_fix(bad):
    with pytest.raises(CanonicalJsonError, match="store it as a string"):
        canonical_json({"x": [bad]})


def test_integers_a_double_cannot_hold_are_rejected_naming_where():
    with pytest.raises(CanonicalJsonError, match=r"\$\.a\[1\]"):
        canonical_json({"a": [1, 2**60 + 1]})


def test_large_integers_a_double_holds_are_written_as_that_double():
    assert canonical_json(2**60) == canonical_json(float(2**60)) == "1152921504606847000"
    assert loads("1152921504606847000") == float(2**60)
    assert canonical_json(10**21) == "1e+21"


def test_non_string_keys_are_rejected():
    with pytest.raises(CanonicalJsonError, match="must be strings"):
        canonical_json({1: "x"})


def test_unknown_types_are_rejected():
    with pytest.raises(CanonicalJsonError, match="set"):
        canonical_json({"a": {1, 2}})


def test_lone_surrogates_are_rejected():
    with pytest.raises(CanonicalJsonError, match="surrogate"):
        canonical_json_bytes("\ud800")


def test_fingerprint_is_sha256_of_the_canonical_bytes():
    import hashlib

    value = {"b": 1.0, "a": [True, None]}
    assert fingerprint(value) == hashlib.sha256(b'{"a":[true,null],"b":1}').hexdigest()


def test_tuples_encode_as_arrays():
    assert canonical_json({"a": (1, 2)}) == '{"a":[1,2]}'


@given(json_values)
def test_the_fast_path_and_the_reference_encoder_agree(value):
    from arco_flow.core.canonical_json import _encode

    parts: list[str] = []
    _encode(value, parts, "$")
    assert canonical_json(value) == "".join(parts)


@given(st.floats(min_value=-1e17, max_value=1e17, allow_nan=False))
def test_floats_near_the_fast_path_bounds_match_the_reference(number):
    from arco_flow.core.canonical_json import _encode

    parts: list[str] = []
    _encode({"x": [number, number / 3, number * 1e-9]}, parts, "$")
    assert canonical_json({"x": [number, number / 3, number * 1e-9]}) == "".join(parts)
