"""`channels(after:)` cursors (CONTRACT.md section 2): opaque, and only the service's own are accepted."""

from __future__ import annotations

import base64
import json

import pytest

from data.pagination import ChannelListing
from domain.errors import BadUserInput
from domain.model import ChannelState

ITEM = {
    "pk": "channel#3f2b9c1e-7d4a-4b8e-9c2f-1a5e6d7c8b9a",
    "sk": "info",
    "entityType": "persistentChannel",
    "channelName": "Morning Show",
    "createdAt": "2026-10-01T17:00:00.000Z",
}
ALL = ChannelListing.of(None)
IDLE = ChannelListing.of(ChannelState.IDLE)
REFUSED = "'after' is not a cursor this service returned for this listing."


def encode(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_all_channels_cursor_round_trips_to_the_index_key() -> None:
    assert ALL.position_from_cursor(ALL.cursor_of(ITEM)) == {
        "pk": ITEM["pk"],
        "sk": "info",
        "channelCatalog": "persistentChannel",
        "createdAt": "2026-10-01T17:00:00.000Z",
    }


def test_state_cursor_round_trips_to_the_index_key() -> None:
    assert IDLE.position_from_cursor(IDLE.cursor_of(ITEM)) == {
        "pk": ITEM["pk"],
        "sk": "info",
        "channelState": "IDLE",
        "createdAt": "2026-10-01T17:00:00.000Z",
    }


def test_cursor_is_url_safe_text() -> None:
    cursor = ALL.cursor_of(ITEM)

    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


VALID_POSITION = {"pk": ITEM["pk"], "sk": "info", "channelState": "IDLE", "createdAt": ITEM["createdAt"]}

FORGED = {
    "empty": "",
    "not-base64": "%%%not*base64%%%",
    "non-ascii": "é" * 8,
    "not-json": base64.urlsafe_b64encode(b"hello, world").decode(),
    "not-utf8": base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    "json-list": encode([VALID_POSITION]),
    "json-string": encode("channel#x"),
    "missing-key": encode({k: v for k, v in VALID_POSITION.items() if k != "createdAt"}),
    "extra-key": encode({**VALID_POSITION, "entityType": "persistentChannel"}),
    "wrong-partition-attribute": encode({**{k: v for k, v in VALID_POSITION.items() if k != "channelState"},
                                         "channelCatalog": "persistentChannel"}),
    "pk-not-a-channel": encode({**VALID_POSITION, "pk": "host#host-a"}),
    "sk-not-info": encode({**VALID_POSITION, "sk": "channel#assignment"}),
    "another-states-partition": encode({**VALID_POSITION, "channelState": "LIVE"}),
    "number-value": encode({**VALID_POSITION, "createdAt": 1790877600000}),
    "empty-value": encode({**VALID_POSITION, "createdAt": ""}),
    "oversize": encode({**VALID_POSITION, "pk": "channel#" + "a" * 1000}),
}


@pytest.mark.parametrize("cursor", FORGED.values(), ids=FORGED.keys())
def test_forged_cursor_is_bad_user_input(cursor: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        IDLE.position_from_cursor(cursor)

    assert raised.value.code == "BAD_USER_INPUT"
    assert raised.value.message == REFUSED


def test_the_forged_cursors_differ_from_a_valid_one_only_in_what_they_name() -> None:
    # The valid position they are made from is accepted: each refusal is for its own reason.
    assert IDLE.position_from_cursor(encode(VALID_POSITION)) == VALID_POSITION


def test_cursor_of_one_state_is_refused_by_another_states_listing() -> None:
    live = ChannelListing.of(ChannelState.LIVE)

    with pytest.raises(BadUserInput):
        IDLE.position_from_cursor(live.cursor_of(ITEM))


def test_all_channels_cursor_is_refused_by_a_state_listing() -> None:
    with pytest.raises(BadUserInput):
        IDLE.position_from_cursor(ALL.cursor_of(ITEM))


def test_state_cursor_is_refused_by_the_all_channels_listing() -> None:
    with pytest.raises(BadUserInput):
        ALL.position_from_cursor(IDLE.cursor_of(ITEM))
