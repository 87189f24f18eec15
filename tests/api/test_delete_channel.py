"""deleteChannel (added by this service): an OFFLINE channel without hosts goes, with its IVS channel."""

from __future__ import annotations

import uuid

import pytest

from app.bootstrap import Service
from tests.api import queries
from tests.api.test_errors import capacity, create, ivs_channel_count
from tests.faults import Fault
from tests.support import GraphQLClient, TokenFactory, error_codes

# These tests count the account's IVS channels (or reconcile it against the table): an empty account each
# (docs/testing.md, "Fixtures").
pytestmark = pytest.mark.usefixtures("aws_connection")

DELETE = "mutation Delete($id: ID!) { deleteChannel(id: $id) { id name state } }"


async def offline(gql: GraphQLClient, admin: str, channel_id: str) -> None:
    result = await gql(queries.SET_STATE, {"channelId": channel_id, "state": "OFFLINE"}, token=admin)
    assert "errors" not in result


async def test_deleting_an_offline_channel_removes_it_from_ivs_table_and_capacity(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel = await create(gql, admin)
    await offline(gql, admin, channel["id"])
    result = await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert result == {"data": {"deleteChannel": {"id": channel["id"], "name": "Channel", "state": "OFFLINE"}}}
    assert ivs_channel_count(service) == 0
    assert (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"] is None
    assert await capacity(gql, admin) == {
        "limit": 20, "used": 0, "available": 20, "utilizationPercent": 0.0,
        "byState": {"idle": 0, "live": 0, "offline": 0},
    }


async def test_deleting_a_channel_that_is_not_offline_is_conflict(gql: GraphQLClient, admin: str, service: Service) -> None:
    channel = await create(gql, admin)
    result = await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert error_codes(result) == ["CONFLICT"]
    assert "set it OFFLINE" in result["errors"][0]["message"]
    assert ivs_channel_count(service) == 1


async def test_deleting_an_assigned_channel_is_conflict(gql: GraphQLClient, admin: str, service: Service) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    await offline(gql, admin, channel["id"])
    result = await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert error_codes(result) == ["CONFLICT"]
    assert ivs_channel_count(service) == 1


async def test_deleting_an_unknown_channel_is_not_found(gql: GraphQLClient, admin: str) -> None:
    assert error_codes(await gql(DELETE, {"id": str(uuid.uuid4())}, token=admin)) == ["NOT_FOUND"]


async def test_a_host_cannot_delete(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    channel = await create(gql, admin)
    await offline(gql, admin, channel["id"])
    assert error_codes(await gql(DELETE, {"id": channel["id"]}, token=tokens.host("h1"))) == ["FORBIDDEN"]


async def test_an_ivs_failure_leaves_the_channel_in_place(gql: GraphQLClient, admin: str, service: Service) -> None:
    channel = await create(gql, admin)
    await offline(gql, admin, channel["id"])
    with Fault(service.clients.ivs, "DeleteChannel", "InternalServerException"):
        result = await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert (await capacity(gql, admin))["used"] == 1
    # Deleting again completes it.
    assert "errors" not in await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert ivs_channel_count(service) == 0


async def test_a_record_changed_between_the_two_steps_can_be_deleted_again(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel = await create(gql, admin)
    await offline(gql, admin, channel["id"])
    # The record write is refused (as if the channel had been set IDLE meanwhile).
    with Fault(service.clients.dynamodb, "TransactWriteItems", "TransactionCanceledException", status=400,
               extra={"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]}):
        result = await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert error_codes(result) == ["CONFLICT"]
    assert ivs_channel_count(service) == 0
    assert "errors" not in await gql(DELETE, {"id": channel["id"]}, token=admin)
    assert (await capacity(gql, admin))["used"] == 0
