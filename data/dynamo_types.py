"""DynamoDB's attribute values to Python and back, exactly as boto3.dynamodb.types converts them.

Written out here because importing boto3.dynamodb.types imports the boto3 package, whose __init__
imports boto3.session and, through boto3.compat, s3transfer: ~60 ms of every cold start, for a
service that makes no S3 transfer (issue #12). tests/unit/test_dynamo_types.py compares both on every
DynamoDB type, nested, and on the errors.

    Python                              DynamoDB
    None                                {'NULL': True}
    True/False                          {'BOOL': True/False}
    int/Decimal                         {'N': str(value)}   (read back as Decimal)
    str                                 {'S': str}
    Binary/bytearray/bytes              {'B': bytes}        (read back as Binary)
    set of int/Decimal, str, binary     {'NS'|'SS'|'BS': [...]}
    list/tuple                          {'L': [...]}
    Mapping                             {'M': {...}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's number rules: 38 digits of precision, exponents -128 to 126; anything rounded is refused.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
BINARY_TYPES = (bytearray, bytes)


class Binary:
    """Binary data read from DynamoDB (boto3's Binary: equal to its bytes, bytes() gives them)."""

    def __init__(self, value: bytes | bytearray) -> None:
        if not isinstance(value, BINARY_TYPES):
            types = ", ".join([str(kind) for kind in BINARY_TYPES])
            raise TypeError(f"Value must be of the following types: {types}")
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Binary):
            return self.value == other.value
        return self.value == other

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return f"Binary({self.value!r})"

    def __bytes__(self) -> bytes:
        return bytes(self.value)

    def __hash__(self) -> int:
        return hash(self.value)


def _is_number(value: object) -> bool:
    if isinstance(value, (int, Decimal)):
        return True
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return False


def _is_string(value: object) -> bool:
    return isinstance(value, str)


def _is_binary(value: object) -> bool:
    return isinstance(value, (Binary, bytearray, bytes))


def _is_set_of(value: object, kind: Callable[[object], bool]) -> bool:
    return isinstance(value, Set) and False not in map(kind, value)


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ["Infinity", "NaN"]:
        raise TypeError("Infinity and NaN not supported")
    return number


def _binary(value: Binary | bytes | bytearray) -> bytes | bytearray:
    return value.value if isinstance(value, Binary) else value


def serialize(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value (boto3's TypeSerializer.serialize)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if _is_binary(value):
        return {"B": _binary(value)}
    if _is_set_of(value, _is_number):
        return {"NS": [_number(number) for number in value]}
    if _is_set_of(value, _is_string):
        return {"SS": list(value)}
    if _is_set_of(value, _is_binary):
        return {"BS": [_binary(data) for data in value]}
    if isinstance(value, Mapping):
        return {"M": {key: serialize(inner) for key, inner in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize(inner) for inner in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value as Python (boto3's TypeDeserializer.deserialize)."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    dynamodb_type = list(value.keys())[0]
    reader = _READERS.get(dynamodb_type.lower())
    if reader is None:
        raise TypeError(f"Dynamodb type {dynamodb_type} is not supported")
    return reader(value[dynamodb_type])


_READERS: dict[str, Callable[[Any], Any]] = {
    "null": lambda value: None,
    "bool": lambda value: value,
    "n": DYNAMODB_CONTEXT.create_decimal,
    "s": lambda value: value,
    "b": Binary,
    "ns": lambda value: set(map(DYNAMODB_CONTEXT.create_decimal, value)),
    "ss": set,
    "bs": lambda value: set(map(Binary, value)),
    "l": lambda value: [deserialize(inner) for inner in value],
    "m": lambda value: {key: deserialize(inner) for key, inner in value.items()},
}
