"""A page's channels resolve without per-channel waits where no I/O is needed (issue #12, item 3):
`channels` loads the page's assignments up front in its one batch read, only when they are selected,
and the answers, the round trips and the errors' paths stay what they were."""

from __future__ import annotations

from typing import Any

import pytest
from anyio import to_thread

import data.channel_reads
import data.loaders
import data.request_reads
import data.slot_reads
import schema.context

from app.bootstrap import Service
from data.table import channel_key
from tests.api import queries
from tests.api.test_errors import create
from tests.faults import Fault, Spy
from tests.support import GraphQLClient, TokenFactory, error_codes

PAGE_WITHOUT_ASSIGNMENTS = "{ channels(first: 20) { edges { node { id name streamKey state } } } }"
PAGE_WITH_ASSIGNMENTS_IN_A_FRAGMENT = (
    "query { channels(first: 20) { edges { node { id ...Hosts } } } }"
    " fragment Hosts on Channel { assignments { hostUserId channelId } }"
)
PAGE_SKIPPING_ASSIGNMENTS = (
    "query($skip: Boolean!) { channels(first: 20) { edges { node { id assignments @skip(if: $skip) { hostUserId } } } } }"
)


@pytest.fixture
async def three_channels(gql: GraphQLClient, admin: str) -> list[str]:
    """Newest first: a SHARED channel with two hosts, a HOST_OWNED one with one, one without a host."""
    empty = (await create(gql, admin, name="Empty"))["id"]
    owned = (await create(gql, admin, name="Owned"))["id"]
    shared = (await create(gql, admin, name="Shared", assignmentModel="SHARED"))["id"]
    await gql(queries.ASSIGN, {"channelId": owned, "hostUserId": "host-owned"}, token=admin)
    await gql(queries.ASSIGN, {"channelId": shared, "hostUserId": "host-a"}, token=admin)
    await gql(queries.ASSIGN, {"channelId": shared, "hostUserId": "host-b"}, token=admin)
    return [shared, owned, empty]


def hosts_by_channel(result: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        edge["node"]["id"]: sorted((a["hostUserId"], a["channelId"]) for a in edge["node"]["assignments"])
        for edge in result["data"]["channels"]["edges"]
    }


async def test_a_page_selecting_assignments_reads_them_in_one_batch_with_each_channels_hosts(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    shared, owned, empty = three_channels
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(queries.CHANNELS, {"first": 20}, token=admin)
    assert "errors" not in result
    assert spy.operations == ["Query", "BatchGetItem"]
    assert hosts_by_channel(result) == {
        shared: [("host-a", shared), ("host-b", shared)],
        owned: [("host-owned", owned)],
        empty: [],
    }


async def test_an_assignment_record_pointing_at_another_channel_is_not_this_channels_host(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    shared, owned, empty = three_channels
    # The empty channel's record still lists host-owned (as if the host had moved since): the host's
    # assignment record names `owned`, so only `owned` shows them.
    service.table.client.update_item(
        TableName=service.table.name, Key={name: {"S": value} for name, value in channel_key(empty).items()},
        UpdateExpression="ADD #hosts :host", ExpressionAttributeNames={"#hosts": "assignedHostIds"},
        ExpressionAttributeValues={":host": {"SS": ["host-owned"]}},
    )
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(queries.CHANNELS, {"first": 20}, token=admin)
    assert spy.operations == ["Query", "BatchGetItem"]
    assert hosts_by_channel(result)[empty] == []
    assert hosts_by_channel(result)[owned] == [("host-owned", owned)]


class CountingThreadHops:
    """anyio's to_thread, counting the trips resolvers and DataLoaders make to the thread pool."""

    def __init__(self) -> None:
        self.trips = 0

    async def run_sync(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        self.trips += 1
        return await to_thread.run_sync(function, *args, **kwargs)


def count_thread_hops(monkeypatch: pytest.MonkeyPatch) -> CountingThreadHops:
    hops = CountingThreadHops()
    for module in (schema.context, data.loaders, data.channel_reads, data.request_reads, data.slot_reads):
        monkeypatch.setattr(module, "to_thread", hops)
    return hops


async def test_a_page_selecting_assignments_reads_both_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(queries.CHANNELS, {"first": 20}, token=admin)
    assert "errors" not in result and len(result["data"]["channels"]["edges"]) == 3
    assert spy.operations == ["Query", "BatchGetItem"]
    assert hops.trips == 0  # both reads awaited on the event loop (data.dynamo_reads)


async def test_a_host_reading_its_channel_reads_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, service: Service, tokens: TokenFactory, three_channels: list[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, _, _ = three_channels
    hops = count_thread_hops(monkeypatch)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(queries.CHANNEL, {"id": shared}, token=tokens.host("host-a"))
    assert result["data"]["channel"]["id"] == shared
    # The host's own assignment, the channel, then the channel's hosts' assignments.
    assert spy.operations == ["BatchGetItem", "BatchGetItem", "BatchGetItem"]
    assert hops.trips == 0


async def test_a_page_not_selecting_assignments_reads_only_its_query(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(PAGE_WITHOUT_ASSIGNMENTS, token=admin)
    assert len(result["data"]["channels"]["edges"]) == 3
    assert all(edge["node"]["streamKey"] for edge in result["data"]["channels"]["edges"])
    assert spy.operations == ["Query"]


async def test_a_page_skipping_assignments_reads_only_its_query(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(PAGE_SKIPPING_ASSIGNMENTS, {"skip": True}, token=admin)
    assert [set(edge["node"]) for edge in result["data"]["channels"]["edges"]] == [{"id"}] * 3
    assert spy.operations == ["Query"]


async def test_a_page_including_assignments_by_directive_still_reads_them_in_one_batch(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(PAGE_SKIPPING_ASSIGNMENTS, {"skip": False}, token=admin)
    assert sum(len(edge["node"]["assignments"]) for edge in result["data"]["channels"]["edges"]) == 3
    assert spy.operations == ["Query", "BatchGetItem"]


async def test_a_page_selecting_assignments_through_a_fragment_reads_them_in_one_batch(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    shared, owned, empty = three_channels
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(PAGE_WITH_ASSIGNMENTS_IN_A_FRAGMENT, token=admin)
    assert hosts_by_channel(result)[shared] == [("host-a", shared), ("host-b", shared)]
    assert spy.operations == ["Query", "BatchGetItem"]


async def test_a_failed_assignments_read_is_an_error_at_each_channels_assignments(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    with Fault(service.clients.dynamodb, "BatchGetItem", "ProvisionedThroughputExceededException", status=400):
        result = await gql(queries.CHANNELS, {"first": 20}, token=admin)
    # As before the up-front load: `assignments` is non-null up to `channels`, so the page is null and
    # the one error is at the first channel's assignments (the first to fail), not at `channels`.
    assert result["data"] is None
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["channels", "edges", 0, "node", "assignments"]


async def test_a_host_sees_the_stream_key_of_their_own_channel_only(
    gql: GraphQLClient, tokens: TokenFactory, three_channels: list[str]
) -> None:
    shared, owned, _ = three_channels
    host = tokens.host("host-owned")
    mine = await gql("query($id: ID!) { channel(id: $id) { id streamKey } }", {"id": owned}, token=host)
    other = await gql("query($id: ID!) { channel(id: $id) { id streamKey } }", {"id": shared}, token=host)
    own = await gql("{ myChannel { channel { id streamKey assignments { hostUserId } } } }", token=host)
    assert mine["data"]["channel"]["streamKey"]
    assert other["data"]["channel"] is None
    assert own["data"]["myChannel"]["channel"]["streamKey"] == mine["data"]["channel"]["streamKey"]
    assert own["data"]["myChannel"]["channel"]["assignments"] == [{"hostUserId": "host-owned"}]


async def test_a_host_reading_another_channel_through_a_host_lookup_is_forbidden(
    gql: GraphQLClient, tokens: TokenFactory, three_channels: list[str]
) -> None:
    result = await gql("{ hostChannel(hostUserId: \"host-a\") { channel { streamKey } } }", token=tokens.host("host-owned"))
    assert error_codes(result) == ["FORBIDDEN"]
    assert result["errors"][0]["path"] == ["hostChannel"]


async def test_stream_keys_and_loaded_assignments_answer_without_awaiting(
    service: Service, three_channels: list[str]
) -> None:
    from data.loaders import build_loaders
    from domain.access import Caller
    from resolvers.channel_fields import assignments_of, visible_stream_key
    from schema.context import Context

    shared, owned, _ = three_channels
    channels = service.backend.channels.get_channels([shared, owned])

    def context_of(caller: Caller) -> Context:
        return Context(request_id="t", backend=service.backend, loaders=build_loaders(service.backend.channel_reads),
                       caller=caller)

    admin = context_of(Caller("an-admin", is_admin=True))
    assert isinstance(visible_stream_key(channels[owned], admin), str)  # no coroutine for an admin
    loading = assignments_of(channels[shared], admin)
    assert not isinstance(loading, list)  # not loaded yet: awaited, batched
    assert [found.host_user_id for found in await loading] == ["host-a", "host-b"]
    assert [found.host_user_id for found in assignments_of(channels[shared], admin)] == ["host-a", "host-b"]  # type: ignore[union-attr]

    host = context_of(Caller("host-owned"))
    pending = visible_stream_key(channels[owned], host)
    assert not isinstance(pending, str) and pending is not None  # their assignment must be read first
    assert await pending == visible_stream_key(channels[owned], admin)
    assert isinstance(visible_stream_key(channels[owned], host), str)  # now known: no await
    assert visible_stream_key(channels[shared], host) is None


async def test_a_channels_sessions_are_read_without_a_trip_to_the_thread_pool(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, _, _ = three_channels
    hops = count_thread_hops(monkeypatch)
    document = "query($id: ID!) { channel(id: $id) { sessions(first: 5) { edges { cursor } pageInfo { hasNextPage } } } }"
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(document, {"id": shared}, token=admin)
    assert result["data"]["channel"]["sessions"] == {"edges": [], "pageInfo": {"hasNextPage": False}}
    assert spy.operations == ["BatchGetItem", "Query"]  # the channel, then its sessions
    assert hops.trips == 0


async def test_a_failed_sessions_read_is_an_upstream_error_at_its_field(
    gql: GraphQLClient, admin: str, service: Service, three_channels: list[str]
) -> None:
    shared, _, _ = three_channels
    document = "query($id: ID!) { channel(id: $id) { id sessions { edges { cursor } } } }"
    with Fault(service.clients.dynamodb, "Query", "ProvisionedThroughputExceededException", status=400):
        result = await gql(document, {"id": shared}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["path"] == ["channel", "sessions"]
    assert result["errors"][0]["message"] == "DynamoDB Query failed: ProvisionedThroughputExceededException."
