"""Schedules when DynamoDB fails mid-change (docs/schedules.md): a booking is one transaction, so a
failure leaves no partial booking and no phantom blocked time, and a retry books it."""

from __future__ import annotations

from app.bootstrap import Service
from data.table import schedule_key
from tests.api import queries
from tests.api.slot_support import CHANNEL_SLOTS, MOVE, at, book, booked, host_id, shared_channel, tomorrow
from tests.faults import Fault
from tests.support import GraphQLClient, TokenFactory, error_codes


async def schedule_of(gql: GraphQLClient, admin: str, channel_id: str) -> list[str]:
    page = (await gql(CHANNEL_SLOTS, {"id": channel_id}, token=admin))["data"]["channel"]["slots"]
    return [edge["node"]["startsAt"] for edge in page["edges"]]


async def test_a_booking_whose_transaction_fails_leaves_nothing_and_a_retry_books_it(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError") as fault:
        result = await book(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    assert fault.injected >= 1
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert "Traceback" not in str(result)
    assert await schedule_of(gql, admin, channel_id) == []
    assert service.table.get(schedule_key(channel_id)) is None
    await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    assert await schedule_of(gql, admin, channel_id) == [at(tomorrow(10))]


async def test_a_booking_whose_overlap_check_fails_writes_nothing(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    with Fault(service.clients.dynamodb, "Query", "InternalServerError"):
        result = await book(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert service.table.get(schedule_key(channel_id)) is None
    await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))


async def test_a_move_whose_transaction_fails_keeps_the_slot_where_it_was(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory
) -> None:
    host, other = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, host, other)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError"):
        result = await gql(MOVE, {"id": slot["id"], "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(15))},
                           token=tokens.host(host))
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert await schedule_of(gql, admin, channel_id) == [at(tomorrow(10))]
    await booked(gql, tokens.host(other), channel_id, tomorrow(14), tomorrow(15))  # the target time stayed free


async def test_an_unassignment_whose_transaction_fails_keeps_the_host_and_their_slots(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    await booked(gql, admin, channel_id, tomorrow(10), tomorrow(11), hostUserId=host)
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError"):
        result = await gql(queries.UNASSIGN, {"channelId": channel_id, "hostUserId": host}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert service.backend.assignments.get_assignment(host) is not None
    assert await schedule_of(gql, admin, channel_id) == [at(tomorrow(10))]
