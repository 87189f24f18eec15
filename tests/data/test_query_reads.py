"""The queries' channel-request and schedule reads on the event loop (data.request_reads,
data.slot_reads) against the stores' own (data.channel_requests, data.slots): for each read, the
same request body on the wire (consistent reads included) and the same answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from data.request_reads import RequestReads
from data.slot_reads import SlotReads
from domain.channel_requests import ChannelRequestStatus
from services.backend import ChannelsBackend
from tests.data.conftest import reader_for, run_read
from tests.data.test_channel_request_storage import request_of
from tests.data.test_slot_storage import HOUR, NOW, TEN, booked

T = TypeVar("T")


@contextmanager
def request_bodies(client: Any, operation: str) -> Iterator[list[dict[str, Any]]]:
    """Each `operation` call's body as sent (`before-call` sees it serialised), from either client."""
    bodies: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        bodies.append(json.loads(params["body"]))

    client.meta.events.register(f"before-call.dynamodb.{operation}", record)
    try:
        yield bodies
    finally:
        client.meta.events.unregister(f"before-call.dynamodb.{operation}", record)


def both_ways(stores: ChannelsBackend, operation: str, sync: Callable[[], T],
              awaited: Callable[[RequestReads, SlotReads], Awaitable[T]]) -> tuple[T, T, list[dict[str, Any]]]:
    """The store's answer, the async read's, and the two request bodies (store's first)."""
    reader = reader_for(stores.table)
    requests, slots = RequestReads(stores.requests, reader), SlotReads(stores.slots, reader)
    with request_bodies(stores.table.client, operation) as bodies:
        expected = sync()
        answered = run_read(reader, lambda _: awaited(requests, slots))
    return expected, answered, bodies


def test_a_request_page_after_a_cursor_is_the_stores(stores: ChannelsBackend) -> None:
    for n in range(4):
        stores.requests.add(request_of(f"p{n}", n))
    cursor = stores.requests.list_requests(ChannelRequestStatus.PENDING, 1, None).requests[0][1]
    expected, answered, bodies = both_ways(
        stores, "Query", lambda: stores.requests.list_requests(ChannelRequestStatus.PENDING, 2, cursor),
        lambda requests, _: requests.page(ChannelRequestStatus.PENDING, 2, cursor))
    assert [request.id for request, _ in answered.requests] == ["req-p1-1", "req-p2-2"]
    assert answered == expected
    assert bodies[0] == bodies[1] and "ExclusiveStartKey" in bodies[0]


def test_a_requesters_own_requests_are_the_stores(stores: ChannelsBackend) -> None:
    stores.requests.add(request_of("p1"))
    expected, answered, bodies = both_ways(stores, "Query", lambda: stores.requests.list_own("p1"),
                                           lambda requests, _: requests.own("p1"))
    assert [request.id for request in answered] == ["req-p1-0"]
    assert answered == expected
    assert bodies[0] == bodies[1]


def test_the_pending_count_is_the_stores_read_eventually_consistent(stores: ChannelsBackend) -> None:
    stores.requests.add(request_of("p1"))
    expected, answered, bodies = both_ways(stores, "GetItem", stores.requests.pending_count,
                                           lambda requests, _: requests.pending_count())
    assert (answered, expected) == (1, 1)
    assert bodies[0] == bodies[1] and bodies[0]["ConsistentRead"] is False


def test_a_channels_windowed_slot_page_is_the_stores_read_consistently(stores: ChannelsBackend) -> None:
    first = booked(stores.slots)
    booked(stores.slots, TEN + 2 * HOUR, TEN + 3 * HOUR, channel_id=first.channel_id)
    booked(stores.slots, TEN + 4 * HOUR, TEN + 5 * HOUR, channel_id=first.channel_id)
    expected, answered, bodies = both_ways(
        stores, "Query", lambda: stores.slots.channel_page(first.channel_id, NOW, TEN + 4 * HOUR, 1, None),
        lambda _, slots: slots.channel_page(first.channel_id, NOW, TEN + 4 * HOUR, 1, None))
    assert [slot for slot, _ in answered.slots] == [first] and answered.has_next_page
    assert answered == expected
    assert bodies[0] == bodies[1]
    assert (bodies[0]["ConsistentRead"], bodies[0]["FilterExpression"]) == (True, "startsAt < :end")


def test_a_hosts_slot_page_after_a_cursor_is_the_stores(stores: ChannelsBackend) -> None:
    first = booked(stores.slots, host="h-9")
    second = booked(stores.slots, TEN + 2 * HOUR, TEN + 3 * HOUR, host="h-9", channel_id=first.channel_id)
    cursor = stores.slots.host_page("h-9", NOW, None, 1, None).slots[0][1]
    expected, answered, bodies = both_ways(
        stores, "Query", lambda: stores.slots.host_page("h-9", NOW, None, 10, cursor),
        lambda _, slots: slots.host_page("h-9", NOW, None, 10, cursor))
    assert [slot for slot, _ in answered.slots] == [second] and not answered.has_next_page
    assert answered == expected
    assert bodies[0] == bodies[1] and "ExclusiveStartKey" in bodies[0]


def test_the_slots_ending_after_a_moment_are_the_stores_read_consistently(stores: ChannelsBackend) -> None:
    slot = booked(stores.slots)
    expected, answered, bodies = both_ways(stores, "Query", lambda: stores.slots.ending_after(slot.channel_id, NOW, 1),
                                           lambda _, slots: slots.ending_after(slot.channel_id, NOW, 1))
    assert answered == expected == [slot]
    assert bodies[0] == bodies[1] and bodies[0]["ConsistentRead"] is True


@pytest.mark.parametrize("status", [None, ChannelRequestStatus.REJECTED])
def test_an_empty_request_page_is_the_stores(stores: ChannelsBackend, status: ChannelRequestStatus | None) -> None:
    expected, answered, bodies = both_ways(stores, "Query", lambda: stores.requests.list_requests(status, 5, None),
                                           lambda requests, _: requests.page(status, 5, None))
    assert answered == expected and answered.requests == [] and not answered.has_next_page
    assert bodies[0] == bodies[1]
