"""The channel-request and schedule queries read on the event loop (data.request_reads,
data.slot_reads; docs/architecture.md "Two DynamoDB clients"): no trip to the thread pool, the same
round trips as before, and a failed read an UPSTREAM_ERROR at its own field."""

from __future__ import annotations

import pytest

from app.bootstrap import Service
from tests.api.channel_requests_support import MINE, QUEUE, submit
from tests.api.slot_support import CHANNEL_SLOTS, MY_SLOTS, booked, host_id, shared_channel, tomorrow
from tests.api.test_page_execution import count_thread_hops
from tests.faults import Fault, Spy
from tests.support import GraphQLClient, TokenFactory, error_codes

PENDING_REQUESTS = "{ capacity { limit pendingRequests } }"
CURRENT_SLOT = "query($id: ID!) { channel(id: $id) { id currentSlot { id } } }"
THROTTLED = "DynamoDB Query failed: ProvisionedThroughputExceededException."


def throttled(service: Service, operation: str = "Query", on_calls: set[int] | None = None) -> Fault:
    return Fault(service.clients.dynamodb, operation, "ProvisionedThroughputExceededException", status=400,
                 on_calls=on_calls)


async def test_the_request_queue_reads_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = await submit(gql, tokens.host(host_id()))
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(QUEUE, token=admin)
    assert [edge["node"]["id"] for edge in result["data"]["channelRequests"]["edges"]] == [request["id"]]
    assert spy.operations == ["Query"]
    assert hops.trips == 0


async def test_a_requesters_own_requests_read_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, service: Service, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    requester = tokens.host(host_id())
    request = await submit(gql, requester)
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(MINE, token=requester)
    assert [found["id"] for found in result["data"]["myChannelRequests"]] == [request["id"]]
    assert spy.operations == ["Query"]
    assert hops.trips == 0


async def test_the_pending_requests_count_reads_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await submit(gql, tokens.host(host_id()))
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(PENDING_REQUESTS, token=admin)
    assert result["data"]["capacity"]["pendingRequests"] == 1
    assert spy.operations == ["GetItem", "GetItem"]  # the channel counter, then the requests' counter
    assert hops.trips == 0


async def test_a_channels_schedule_and_current_slot_read_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(CHANNEL_SLOTS, {"id": channel_id}, token=admin)
    channel = result["data"]["channel"]
    assert [edge["node"]["id"] for edge in channel["slots"]["edges"]] == [slot["id"]]
    assert channel["currentSlot"] is None
    assert sorted(spy.operations) == ["BatchGetItem", "Query", "Query"]
    assert hops.trips == 0


async def test_a_hosts_slots_read_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, admin: str, service: Service, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(MY_SLOTS, token=tokens.host(host))
    assert [edge["node"]["id"] for edge in result["data"]["mySlots"]["edges"]] == [slot["id"]]
    assert spy.operations == ["Query"]
    assert hops.trips == 0


async def test_a_failed_request_queue_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    with throttled(service):
        result = await gql(QUEUE, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["channelRequests"]
    assert result["errors"][0]["message"] == THROTTLED


async def test_a_failed_own_requests_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, service: Service, tokens: TokenFactory
) -> None:
    with throttled(service):
        result = await gql(MINE, token=tokens.host(host_id()))
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["myChannelRequests"]
    assert result["errors"][0]["message"] == THROTTLED


async def test_a_failed_pending_requests_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    with throttled(service, "GetItem", on_calls={2}):  # the requests' counter, after the channel counter
        result = await gql(PENDING_REQUESTS, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["capacity", "pendingRequests"]
    assert result["errors"][0]["message"] == "DynamoDB GetItem failed: ProvisionedThroughputExceededException."


async def test_a_failed_schedule_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel_id = await shared_channel(gql, admin, host_id())
    document = "query($id: ID!) { channel(id: $id) { id slots { edges { cursor } } } }"
    with throttled(service):
        result = await gql(document, {"id": channel_id}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["channel", "slots"]
    assert result["errors"][0]["message"] == THROTTLED


async def test_a_failed_current_slot_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel_id = await shared_channel(gql, admin, host_id())
    with throttled(service):
        result = await gql(CURRENT_SLOT, {"id": channel_id}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["channel", "currentSlot"]
    assert result["errors"][0]["message"] == THROTTLED
    assert result["data"]["channel"] == {"id": channel_id, "currentSlot": None}


async def test_a_failed_host_slots_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, service: Service, tokens: TokenFactory
) -> None:
    with throttled(service):
        result = await gql(MY_SLOTS, token=tokens.host(host_id()))
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["mySlots"]
    assert result["errors"][0]["message"] == THROTTLED
