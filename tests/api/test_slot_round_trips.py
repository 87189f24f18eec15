"""What schedules cost in DynamoDB calls (docs/schedules.md): a booking is four reads and one
transaction of four items; a week of a channel and a host's slots are one Query each, whatever the
number of slots."""

from __future__ import annotations

from app.bootstrap import Service
from tests.api.slot_support import CHANNEL_SLOTS, MY_SLOTS, at, book, booked, host_id, shared_channel, tomorrow
from tests.faults import Spy
from tests.support import GraphQLClient, TokenFactory


async def test_a_booking_is_four_reads_and_one_transaction_of_four_items(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    with Spy(service.clients.dynamodb) as spy:
        result = await book(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    assert "errors" not in result
    # The host's assignment, the channel, the schedule version, the slots around; then the write.
    assert spy.operations == ["GetItem", "GetItem", "GetItem", "Query", "TransactWriteItems"]


async def test_a_week_of_a_channel_is_one_query_whatever_its_slots(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    for day in range(7):
        for hour in (9, 12, 18):
            await booked(gql, admin, channel_id, tomorrow(24 * day + hour), tomorrow(24 * day + hour + 1),
                         hostUserId=host)
    week = {"id": channel_id, "from": at(tomorrow()), "to": at(tomorrow(24 * 7)), "first": 100}
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(CHANNEL_SLOTS.replace(" currentSlot { id }", ""), week, token=admin)
    assert len(result["data"]["channel"]["slots"]["edges"]) == 21
    # channel(id) reads its record (a batch of one); the week is one Query.
    assert spy.operations == ["BatchGetItem", "Query"]
    assert spy.calls[1][1]["ScannedCount"] == 21


async def test_my_slots_is_one_query(gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    for hour in (9, 12, 18):
        await booked(gql, tokens.host(host), channel_id, tomorrow(hour), tomorrow(hour + 1))
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(MY_SLOTS, {"first": 2}, token=tokens.host(host))
    assert len(result["data"]["mySlots"]["edges"]) == 2
    assert spy.operations == ["Query"]
    assert spy.calls[0][1]["ScannedCount"] == 3  # the page and the one that says a next page exists
