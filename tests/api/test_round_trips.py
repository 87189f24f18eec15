"""What a request costs in AWS calls: a page is one Query plus one BatchGetItem, whatever its size."""

from __future__ import annotations

import pytest

from app.bootstrap import Service
from tests.api import queries
from tests.api.test_errors import create
from tests.faults import Spy
from tests.support import GraphQLClient, TokenFactory


@pytest.fixture
async def channels_with_hosts(gql: GraphQLClient, admin: str) -> list[str]:
    """25 channels; the 20 newest have one host each, five of them SHARED with a second host."""
    ids = []
    for n in range(25):
        channel = await create(gql, admin, name=f"C{n}", assignmentModel="SHARED" if n % 5 == 0 else "HOST_OWNED")
        ids.append(channel["id"])
    for n, channel_id in enumerate(ids[5:], start=5):
        await gql(queries.ASSIGN, {"channelId": channel_id, "hostUserId": f"host-{n}"}, token=admin)
        if n % 5 == 0:
            await gql(queries.ASSIGN, {"channelId": channel_id, "hostUserId": f"guest-{n}"}, token=admin)
    return ids


@pytest.mark.parametrize("settings", [{"limit": 50}], indirect=True)
async def test_a_page_of_channels_with_assignments_is_one_query_and_one_batch_read(
    gql: GraphQLClient, admin: str, service: Service, channels_with_hosts: list[str]
) -> None:
    with Spy(service.clients.dynamodb, service.clients.ivs) as spy:
        result = await gql(queries.CHANNELS, {"first": 20}, token=admin)
    edges = result["data"]["channels"]["edges"]
    assert len(edges) == 20
    assert sum(len(edge["node"]["assignments"]) for edge in edges) == 24
    assert spy.operations == ["Query", "BatchGetItem"]
    # The one batch read carried every host of the page (the DataLoader batched them all).
    batch = spy.calls[1][1]["Responses"]
    assert len(next(iter(batch.values()))) == 24


@pytest.mark.parametrize("settings", [{"limit": 50}], indirect=True)
async def test_a_host_reading_its_channel_with_stream_key_costs_two_batch_reads(
    gql: GraphQLClient, service: Service, tokens: TokenFactory, channels_with_hosts: list[str]
) -> None:
    host = tokens.host("host-7")
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(queries.MY_CHANNEL, token=host)
    assert result["data"]["myChannel"]["channel"]["streamKey"]
    assert spy.operations == ["BatchGetItem", "BatchGetItem"]  # the assignment, then its channel


async def test_channel_by_id_is_one_read(gql: GraphQLClient, admin: str, service: Service) -> None:
    channel = await create(gql, admin)
    with Spy(service.clients.dynamodb) as spy:
        await gql("query($id: ID!) { channel(id: $id) { id name streamKey stats { totalBroadcasts } } }", {"id": channel["id"]}, token=admin)
    assert spy.operations == ["BatchGetItem"]


async def test_capacity_is_one_read(gql: GraphQLClient, admin: str, service: Service) -> None:
    with Spy(service.clients.dynamodb) as spy:
        await gql(queries.CAPACITY, token=admin)
    assert spy.operations == ["GetItem"]


async def test_set_state_is_one_read_and_one_transaction(gql: GraphQLClient, admin: str, service: Service) -> None:
    channel = await create(gql, admin)
    with Spy(service.clients.dynamodb) as spy:
        await gql("mutation($id: ID!) { setChannelState(channelId: $id, state: LIVE) { state } }", {"id": channel["id"]}, token=admin)
    assert spy.operations == ["GetItem", "TransactWriteItems"]


@pytest.mark.parametrize("settings", [{"limit": 100}], indirect=True)
async def test_filtered_page_reads_about_its_size_not_the_table(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    ids = [(await create(gql, admin, name=f"C{n}"))["id"] for n in range(60)]
    for channel_id in ids[10:13]:
        await gql(queries.SET_STATE, {"channelId": channel_id, "state": "LIVE"}, token=admin)
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(queries.CHANNELS, {"state": "LIVE", "first": 20}, token=admin)
    assert len(result["data"]["channels"]["edges"]) == 3
    query = next(parsed for operation, parsed in spy.calls if operation == "Query")
    assert query["ScannedCount"] == 3
