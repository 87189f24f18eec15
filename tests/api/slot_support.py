"""Documents and helpers of the schedule tests (CONTRACT.md section 12)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.clock import format_timestamp
from tests.api import queries
from tests.api.test_errors import create
from tests.support import GraphQLClient

SLOT_FIELDS = "id channelId hostUserId title startsAt endsAt createdBy createdAt cancelledAt"
BOOK = "mutation Book($input: BookSlotInput!) { bookSlot(input: $input) { " + SLOT_FIELDS + " } }"
MOVE = (
    "mutation Move($id: ID!, $startsAt: DateTime!, $endsAt: DateTime!) {"
    " moveSlot(id: $id, startsAt: $startsAt, endsAt: $endsAt) { " + SLOT_FIELDS + " } }"
)
CANCEL = "mutation Cancel($id: ID!) { cancelSlot(id: $id) { " + SLOT_FIELDS + " } }"
CHANNEL_SLOTS = (
    "query Slots($id: ID!, $from: DateTime, $to: DateTime, $first: Int! = 50, $after: String) {"
    " channel(id: $id) { slots(from: $from, to: $to, first: $first, after: $after) {"
    " edges { cursor node { id hostUserId startsAt endsAt channel { id } } } pageInfo { hasNextPage endCursor } }"
    " currentSlot { id } } }"
)
MY_SLOTS = (
    "query Mine($from: DateTime, $to: DateTime, $first: Int! = 50, $after: String) {"
    " mySlots(from: $from, to: $to, first: $first, after: $after) {"
    " edges { node { id channelId startsAt } } pageInfo { hasNextPage endCursor } } }"
)
SET_LIVE = (
    "mutation Live($channelId: ID!, $hostUserId: ID) {"
    " setChannelState(channelId: $channelId, state: LIVE, hostUserId: $hostUserId) { state currentSessionId } }"
)
SESSIONS = "query S($id: ID!) { channel(id: $id) { sessions { edges { node { hostUserId slotId } } } } }"
HOUR = timedelta(hours=1)


def minute(offset: timedelta = timedelta(0)) -> datetime:
    """The current minute, plus `offset` (whole minutes, as slots are)."""
    return (datetime.now(UTC) + offset).replace(second=0, microsecond=0)


def at(moment: datetime) -> str:
    return format_timestamp(moment)


def tomorrow(hours: float = 0) -> datetime:
    """A day ahead at midnight UTC, plus `hours`: always ahead, whatever the time of the test."""
    return minute(timedelta(days=2)).replace(hour=0, minute=0) + timedelta(hours=hours)


async def shared_channel(gql: GraphQLClient, admin: str, *hosts: str) -> str:
    channel = await create(gql, admin, assignmentModel="SHARED")
    for host in hosts:
        result = await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": host}, token=admin)
        assert "errors" not in result, result
    return str(channel["id"])


def host_id() -> str:
    return f"host-{uuid.uuid4().hex[:8]}"


async def book(gql: GraphQLClient, token: str, channel_id: str, start: datetime, end: datetime,
               **fields: Any) -> dict[str, Any]:
    return await gql(BOOK, {"input": {"channelId": channel_id, "startsAt": at(start), "endsAt": at(end), **fields}},
                     token=token)


async def booked(gql: GraphQLClient, token: str, channel_id: str, start: datetime, end: datetime,
                 **fields: Any) -> dict[str, Any]:
    result = await book(gql, token, channel_id, start, end, **fields)
    assert "errors" not in result, result
    return result["data"]["bookSlot"]
