"""Channel listings over the sparse indexes, and the opaque cursors that page through them."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from domain.errors import BadUserInput
from domain.model import ChannelState
from data.table import (
    CATALOG_ATTRIBUTE,
    CHANNEL_ENTITY,
    CHANNEL_SK,
    CHANNELS_BY_CREATED_INDEX,
    CHANNELS_BY_STATE_INDEX,
    STATE_KEY_ATTRIBUTE,
)

_CURSOR_MAX_LENGTH = 1024


@dataclass(frozen=True)
class ChannelListing:
    """Which index partition a `channels` query reads: all channels, or those of one state."""

    index: str
    partition_attribute: str
    partition_value: str

    @classmethod
    def of(cls, state: ChannelState | None) -> ChannelListing:
        if state is None:
            return cls(CHANNELS_BY_CREATED_INDEX, CATALOG_ATTRIBUTE, CHANNEL_ENTITY)
        return cls(CHANNELS_BY_STATE_INDEX, STATE_KEY_ATTRIBUTE, state.value)

    def page_query(self, first: int, after: str | None) -> dict[str, Any]:
        """The Query (without its table and index) of a page of `first` after the cursor `after`:
        newest first, `first + 1` items (the extra one says a next page exists)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "#partition = :partition",
            "ExpressionAttributeNames": {"#partition": self.partition_attribute},
            "ExpressionAttributeValues": {":partition": {"S": self.partition_value}},
            "ScanIndexForward": False,
            "Limit": first + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {name: {"S": value} for name, value in self.position_from_cursor(after).items()}
        return query

    def position_of(self, item: dict[str, Any]) -> dict[str, str]:
        """The index key of an item: where the next page starts after it."""
        return {
            "pk": item["pk"],
            "sk": item["sk"],
            self.partition_attribute: self.partition_value,
            "createdAt": item["createdAt"],
        }

    def cursor_of(self, item: dict[str, Any]) -> str:
        return encode_cursor(self.position_of(item))

    def position_from_cursor(self, cursor: str) -> dict[str, str]:
        """The position a cursor holds, when this service made it for this listing; else BAD_USER_INPUT.

        Only an exact channel-index key in this listing's partition is accepted, so a crafted cursor
        cannot start a read anywhere else.
        """
        invalid = BadUserInput("'after' is not a cursor this service returned for this listing.")
        position = decode_cursor(cursor, {"pk", "sk", self.partition_attribute, "createdAt"})
        if (
            position is None
            or not position["pk"].startswith("channel#")
            or position["sk"] != CHANNEL_SK
            or position[self.partition_attribute] != self.partition_value
        ):
            raise invalid
        return position


def encode_cursor(position: dict[str, str]) -> str:
    """An opaque cursor holding an index position (the ExclusiveStartKey of the next page)."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected_keys: set[str]) -> dict[str, str] | None:
    """The position of a cursor made by `encode_cursor` with exactly `expected_keys`, all non-empty
    strings; None for anything else (the listing then checks that the position is one of its own)."""
    if len(cursor) > _CURSOR_MAX_LENGTH:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        return None
    if (
        not isinstance(position, dict)
        or set(position) != expected_keys
        or not all(isinstance(value, str) and value for value in position.values())
    ):
        return None
    return position
