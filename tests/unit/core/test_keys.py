import pickle

import pytest

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetCheckKey, AssetKey, is_valid_name


def test_key_accepts_a_string_or_parts():
    assert AssetKey("orders").path == ("orders",)
    assert AssetKey(["raw", "orders"]).path == ("raw", "orders")


def test_user_string_round_trips():
    key = AssetKey(["warehouse", "orders"])
    assert key.to_user_string() == "warehouse/orders"
    assert AssetKey.from_user_string("warehouse/orders") == key


def test_from_coercible_splits_strings_on_slash():
    assert AssetKey.from_coercible("a/b") == AssetKey(["a", "b"])
    assert AssetKey.from_coercible(["a", "b"]) == AssetKey(["a", "b"])
    key = AssetKey("x")
    assert AssetKey.from_coercible(key) is key


def test_with_prefix_and_parent():
    key = AssetKey("orders").with_prefix(["raw"])
    assert key == AssetKey(["raw", "orders"])
    assert key.parent == AssetKey("raw")
    assert key.has_prefix(["raw"])
    assert not key.has_prefix(["clean"])


@pytest.mark.parametrize("bad", [[], [""], ["a/b"], ["has space"], [3]])
def test_invalid_keys_are_rejected_with_a_fix(bad):
    with pytest.raises(DefinitionError, match=r"AssetKey|at least one part"):
        AssetKey(bad)


def test_keys_are_immutable_hashable_and_ordered():
    a, b = AssetKey("a"), AssetKey(["a", "b"])
    with pytest.raises(AttributeError):
        a.path = ("z",)
    assert {a, AssetKey("a")} == {a}
    assert sorted([b, a]) == [a, b]
    assert a != "a"


def test_keys_pickle():
    key = AssetKey(["a", "b"])
    assert pickle.loads(pickle.dumps(key)) == key
    check = AssetCheckKey(key, "not_null")
    assert pickle.loads(pickle.dumps(check)) == check


def test_check_key_user_string_and_validation():
    assert AssetCheckKey("a/b", "rows_positive").to_user_string() == "a/b:rows_positive"
    with pytest.raises(DefinitionError, match="check name"):
        AssetCheckKey("a", "bad name")


def test_valid_names():
    assert is_valid_name("a_1")
    assert not is_valid_name("a-1")
    assert not is_valid_name("")


def test_keys_hash_and_compare_as_their_parts():
    key = AssetKey(["a", "b"])
    assert key.path == ("a", "b")
    assert {key: 1}[AssetKey.from_user_string("a/b")] == 1
    assert repr(key) == "AssetKey(['a', 'b'])"
    assert str(key) == "a/b"
