"""data.dynamo_types converts exactly as boto3.dynamodb.types does: every DynamoDB type, nested, the
records the service writes and reads, and the same errors for what DynamoDB cannot hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary as Boto3Binary
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings, strategies as st

from data import dynamo_types
from data.dynamo import from_dynamo, to_dynamo
from data.records import assignment_item, new_channel_item
from tests.unit.builders import make_assignment, make_channel
from tests.unit.seed_records import seed_channel

boto3_serializer = TypeSerializer()
boto3_deserializer = TypeDeserializer()


def plain(value: Any) -> Any:
    """A deserialized value with each Binary (theirs or ours) as ("Binary", its bytes), to compare."""
    if isinstance(value, (Boto3Binary, dynamo_types.Binary)):
        return ("Binary", type(value.value), value.value)
    if isinstance(value, (set, frozenset)):
        return ("set", sorted((plain(inner) for inner in value), key=repr))
    if isinstance(value, list):
        return [plain(inner) for inner in value]
    if isinstance(value, dict):
        return {key: plain(inner) for key, inner in value.items()}
    return (type(value), value)


numbers = st.one_of(st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
                    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-10**20, max_value=10**20))
binaries = st.one_of(st.binary(max_size=8), st.binary(max_size=8).map(bytearray))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8), binaries)
sets = st.one_of(st.frozensets(numbers, max_size=4), st.sets(st.text(max_size=6), max_size=4),
                 st.sets(st.binary(max_size=4), max_size=4))
values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(value=values)
def test_every_type_nested_serializes_and_reads_back_as_with_boto3(value: Any) -> None:
    ours = dynamo_types.serialize(value)
    theirs = boto3_serializer.serialize(value)
    assert ours == theirs
    assert plain(dynamo_types.deserialize(theirs)) == plain(boto3_deserializer.deserialize(theirs))


@pytest.mark.parametrize(
    "wire",
    [
        {"NULL": True}, {"BOOL": False}, {"N": "12.50"}, {"N": "-1E+3"}, {"N": "0.000001"}, {"S": ""},
        {"B": b"\x00\xff"}, {"NS": ["1", "2.5"]}, {"SS": ["a", "b"]}, {"BS": [b"a", b"b"]},
        {"L": [{"S": "x"}, {"M": {"k": {"N": "3"}}}]}, {"M": {}}, {"L": []}, {"s": "lower-case type"},
    ],
)
def test_each_wire_type_reads_as_with_boto3(wire: dict[str, Any]) -> None:
    assert plain(dynamo_types.deserialize(wire)) == plain(boto3_deserializer.deserialize(wire))


def test_the_records_convert_as_with_boto3() -> None:
    stored = seed_channel("ch-1")
    assert plain(from_dynamo(stored)) == plain({k: boto3_deserializer.deserialize(v) for k, v in stored.items()})
    channel = make_channel()
    for item in (new_channel_item(channel), assignment_item(make_assignment("host-1", channel))):
        assert to_dynamo(item) == {k: boto3_serializer.serialize(v) for k, v in item.items()}


def test_binary_behaves_as_boto3s() -> None:
    ours, theirs = dynamo_types.Binary(b"key"), Boto3Binary(b"key")
    assert (ours == b"key", ours != b"other", bytes(ours), repr(ours), hash(ours)) == (
        theirs == b"key", theirs != b"other", bytes(theirs), repr(theirs), hash(theirs))
    assert dynamo_types.Binary(b"a") == dynamo_types.Binary(b"a")


@pytest.mark.parametrize(
    "value",
    [1.5, {1.5}, Decimal("NaN"), Decimal("Infinity"), Decimal("1" * 39), Decimal("1E+200"), object(),
     {1, "mixed"}, [1.0], {"nested": {"deeper": 2.5}}],
    # Fixed names: every pytest-xdist worker must collect the same ids, and an object's repr (its address)
    # or a mixed set's (its hash order) differs from one process to the next.
    ids=["float", "set-of-float", "NaN", "Infinity", "39-digits", "1E+200", "object", "mixed-set", "list-of-float",
         "nested-float"],
)
def test_what_dynamodb_cannot_hold_is_refused_with_boto3s_error(value: Any) -> None:
    with pytest.raises(Exception) as theirs:
        boto3_serializer.serialize(value)
    with pytest.raises(Exception) as ours:
        dynamo_types.serialize(value)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value).replace("data.dynamo_types", "boto3") == str(theirs.value).replace("boto3.dynamodb.types", "boto3")


@pytest.mark.parametrize("wire", [{}, {"X": 1}, {"N": "1" * 39}, {"N": "1E+300"}])
def test_what_boto3_cannot_read_is_refused_the_same_way(wire: dict[str, Any]) -> None:
    with pytest.raises(Exception) as theirs:
        boto3_deserializer.deserialize(wire)
    with pytest.raises(Exception) as ours:
        dynamo_types.deserialize(wire)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
