"""The indexes the service reads, the shape each must have, and which one serves a channel listing.

A GSI's key schema and projection cannot change in place (UpdateTable's `Update` action changes only
throughput), so an index of the right name and the wrong shape (made by hand or by another tool) is
replaced expand/contract (data.index_migration): a *replacement* index of the right shape is built
beside it under its own name, listings read the replacement while the misshapen index is rebuilt,
then the replacement is removed. Only the two channel listings have a replacement: they are what
the issue's "one round trip" is about, and their readers (data.listing_indexes) can switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from data.table import (
    CATALOG_ATTRIBUTE,
    CHANNELS_BY_ARN_INDEX,
    CHANNELS_BY_CREATED_INDEX,
    CHANNELS_BY_STATE_INDEX,
    CHANNEL_REQUESTS_BY_CREATED_INDEX,
    CHANNEL_REQUESTS_BY_REQUESTER_INDEX,
    CHANNEL_REQUESTS_BY_STATUS_INDEX,
    REQUEST_CATALOG_ATTRIBUTE,
    REQUEST_STATUS_ATTRIBUTE,
    REQUESTER_ATTRIBUTE,
    SLOT_HOST_ATTRIBUTE,
    SLOTS_BY_HOST_INDEX,
    STATE_KEY_ATTRIBUTE,
)

ALL = "ALL"
KEYS_ONLY = "KEYS_ONLY"
# The suffix of a listing index's replacement (data.table's names stay the ones the template makes).
REPLACEMENT_SUFFIX = "-replacement"


def _index(name: str, partition: str, sort: str | None, projection: str = ALL) -> dict[str, Any]:
    keys = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        keys.append({"AttributeName": sort, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": keys, "Projection": {"ProjectionType": projection}}


def required_indexes(entity_index: str) -> list[dict[str, Any]]:
    """Every GSI the service reads: the platform's entityType index, the two sparse listing indexes,
    channels by IVS ARN (for IVS's events), and the channel requests' three: by status (the admin
    queue), all by creation, and by requester; and a host's live slots (mySlots).

    Each is created as listed; what an existing one must project is in WHOLE_RECORD_INDEXES.
    """
    return [
        _index(entity_index, "entityType", None),
        _index(CHANNELS_BY_CREATED_INDEX, CATALOG_ATTRIBUTE, "createdAt"),
        _index(CHANNELS_BY_STATE_INDEX, STATE_KEY_ATTRIBUTE, "createdAt"),
        _index(CHANNELS_BY_ARN_INDEX, "channelArn", None, projection=KEYS_ONLY),
        _index(CHANNEL_REQUESTS_BY_STATUS_INDEX, REQUEST_STATUS_ATTRIBUTE, "createdAt"),
        _index(CHANNEL_REQUESTS_BY_CREATED_INDEX, REQUEST_CATALOG_ATTRIBUTE, "createdAt"),
        _index(CHANNEL_REQUESTS_BY_REQUESTER_INDEX, REQUESTER_ATTRIBUTE, "createdAt"),
        _index(SLOTS_BY_HOST_INDEX, SLOT_HOST_ATTRIBUTE, "endsAt"),
    ]


LISTING_INDEXES = (CHANNELS_BY_CREATED_INDEX, CHANNELS_BY_STATE_INDEX)
# The indexes the service reads whole records from (a listing page is then one Query): they must
# project ALL. From the others (the entityType and ARN indexes) it reads keys only, then the record by key.
WHOLE_RECORD_INDEXES = frozenset({
    *LISTING_INDEXES, CHANNEL_REQUESTS_BY_STATUS_INDEX, CHANNEL_REQUESTS_BY_CREATED_INDEX,
    CHANNEL_REQUESTS_BY_REQUESTER_INDEX, SLOTS_BY_HOST_INDEX,
})


def replacement_of(index: dict[str, Any]) -> dict[str, Any]:
    """The replacement of a listing index: the same keys and projection under its own name."""
    return {**index, "IndexName": index["IndexName"] + REPLACEMENT_SUFFIX}


def listing_names(name: str) -> tuple[str, str]:
    """A channel listing's index, then its replacement: the order a listing prefers them in."""
    return name, name + REPLACEMENT_SUFFIX


def _keys(index: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in index.get("KeySchema", [])]


def _keys_text(keys: list[tuple[str, str]]) -> str:
    return ", ".join(f"{attribute} ({kind})" for attribute, kind in keys)


@dataclass(frozen=True)
class ShapeProblem:
    """How an existing index differs from what the service needs; `keys` when even its keys differ
    (then nothing the service does with it works), else its projection is narrower than needed."""

    keys: bool
    detail: str


def shape_problem(existing: dict[str, Any], wanted: dict[str, Any]) -> ShapeProblem | None:
    """None when `existing` (as DescribeTable shows it) serves the service as `wanted` would: the
    same keys, and ALL where the service reads whole records from it (KEYS_ONLY or INCLUDE does not
    serve there: an INCLUDE list cannot be known to hold every attribute a record carries, now or
    later); any projection where it reads keys only."""
    keys, expected = _keys(existing), _keys(wanted)
    if keys != expected:
        return ShapeProblem(True, f"has keys {_keys_text(keys)}; the service queries it by {_keys_text(expected)}")
    projection = existing.get("Projection", {})
    kind = projection.get("ProjectionType", KEYS_ONLY)
    whole_records = wanted["IndexName"].removesuffix(REPLACEMENT_SUFFIX) in WHOLE_RECORD_INDEXES
    if whole_records and kind != ALL:
        included = projection.get("NonKeyAttributes")
        what = f"INCLUDE ({', '.join(included)})" if kind == "INCLUDE" and included else kind
        return ShapeProblem(False, f"projects {what}; the service reads whole records from it (ALL)")
    return None


def indexes_of(description: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {index["IndexName"]: index for index in description.get("GlobalSecondaryIndexes", [])}


def serving_index(description: dict[str, Any], wanted: dict[str, Any]) -> tuple[str, bool] | None:
    """Which index a listing reads on this table, and whether it projects whole records.

    The first of the listing's index and its replacement that is ACTIVE with the right keys, one of
    the right shape before one with a narrow projection (whose items are then read by key); None
    when neither is ACTIVE (a Query on an index still CREATING is refused by DynamoDB).
    """
    present = indexes_of(description)
    usable: list[tuple[str, bool]] = []
    for name in listing_names(wanted["IndexName"]):
        index = present.get(name)
        if index is None or index.get("IndexStatus") != "ACTIVE":
            continue
        problem = shape_problem(index, wanted)
        if problem is None:
            return name, True
        if not problem.keys:
            usable.append((name, False))
    return usable[0] if usable else None


def attribute_definitions(indexes: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The table's keys and the given indexes' keys, all strings, each once."""
    names = ["pk", "sk"] + [key["AttributeName"] for index in indexes for key in index["KeySchema"]]
    return [{"AttributeName": name, "AttributeType": "S"} for name in dict.fromkeys(names)]
