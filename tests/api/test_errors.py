"""Every error code of CONTRACT.md section 3, through HTTP: a clear message, no stack trace, no half write."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest

from app.bootstrap import Service
from tests.api import queries
from tests.faults import Fault
from tests.support import GraphQLClient, error_codes

# These tests count the account's IVS channels (or reconcile it against the table): an empty account each
# (docs/testing.md, "Fixtures").
pytestmark = pytest.mark.usefixtures("aws_connection")


async def create(gql: GraphQLClient, admin: str, **fields: Any) -> dict[str, Any]:
    result = await gql(queries.CREATE, {"input": {"name": "Channel", **fields}}, token=admin)
    assert "errors" not in result, result
    return result["data"]["createChannel"]


def ivs_channel_count(service: Service) -> int:
    return len(service.clients.ivs.list_channels()["channels"])


async def capacity(gql: GraphQLClient, admin: str) -> dict[str, Any]:
    return (await gql(queries.CAPACITY, token=admin))["data"]["capacity"]


# NOT_FOUND


async def test_assigning_an_unknown_channel_is_not_found(gql: GraphQLClient, admin: str) -> None:
    result = await gql(queries.ASSIGN, {"channelId": str(uuid.uuid4()), "hostUserId": "h1"}, token=admin)
    assert error_codes(result) == ["NOT_FOUND"]
    assert result["data"] is None


async def test_unassigning_a_host_that_is_not_assigned_is_not_found(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    result = await gql(queries.UNASSIGN, {"channelId": channel["id"], "hostUserId": "nobody"}, token=admin)
    assert error_codes(result) == ["NOT_FOUND"]


async def test_setting_state_of_an_unknown_channel_is_not_found_for_an_admin(gql: GraphQLClient, admin: str) -> None:
    result = await gql(queries.SET_STATE, {"channelId": str(uuid.uuid4()), "state": "LIVE"}, token=admin)
    assert error_codes(result) == ["NOT_FOUND"]


async def test_unknown_channel_reads_as_null(gql: GraphQLClient, admin: str) -> None:
    assert await gql(queries.CHANNEL, {"id": str(uuid.uuid4())}, token=admin) == {"data": {"channel": None}}


# CONFLICT


async def test_host_holding_another_channel_is_conflict(gql: GraphQLClient, admin: str) -> None:
    first, second = await create(gql, admin), await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": first["id"], "hostUserId": "h1"}, token=admin)
    result = await gql(queries.ASSIGN, {"channelId": second["id"], "hostUserId": "h1"}, token=admin)
    assert error_codes(result) == ["CONFLICT"]
    assert first["id"] in result["errors"][0]["message"]


async def test_second_host_on_host_owned_channel_is_conflict(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    result = await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h2"}, token=admin)
    assert error_codes(result) == ["CONFLICT"]
    assert (await gql(queries.HOST_CHANNEL, {"hostUserId": "h2"}, token=admin))["data"]["hostChannel"] is None


async def test_shared_channel_takes_several_hosts(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin, assignmentModel="SHARED")
    for host in ("h1", "h2", "h3"):
        assert "errors" not in await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": host}, token=admin)
    assignments = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]["assignments"]
    assert sorted(a["hostUserId"] for a in assignments) == ["h1", "h2", "h3"]


async def test_assigning_the_same_host_again_returns_the_existing_assignment(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    first = await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    again = await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    assert again == first


async def test_unassigning_while_live_is_conflict(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin, assignmentModel="SHARED")
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE"}, token=admin)
    result = await gql(queries.UNASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    assert error_codes(result) == ["CONFLICT"]
    assert (await gql(queries.HOST_CHANNEL, {"hostUserId": "h1"}, token=admin))["data"]["hostChannel"] is not None


async def test_live_again_with_another_session_is_conflict(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE", "sessionId": "s1"}, token=admin)
    same = await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE", "sessionId": "s1"}, token=admin)
    other = await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE", "sessionId": "s2"}, token=admin)
    assert same["data"]["setChannelState"]["stats"]["totalBroadcasts"] == 1
    assert error_codes(other) == ["CONFLICT"]


async def test_idempotency_key_with_another_input_is_conflict(gql: GraphQLClient, admin: str) -> None:
    await create(gql, admin, idempotencyKey="key-1")
    result = await gql(queries.CREATE, {"input": {"name": "Other", "idempotencyKey": "key-1"}}, token=admin)
    assert error_codes(result) == ["CONFLICT"]


@pytest.mark.parametrize("settings", [{"limit": 1}], indirect=True)
async def test_retry_with_idempotency_key_returns_the_same_channel_even_at_capacity(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    first = await create(gql, admin, idempotencyKey="key-1")
    retry = await create(gql, admin, idempotencyKey="key-1")
    assert retry == first
    assert ivs_channel_count(service) == 1
    assert (await capacity(gql, admin))["used"] == 1


# CAPACITY_EXCEEDED


@pytest.mark.parametrize("settings", [{"limit": 2}], indirect=True)
async def test_create_at_the_limit_is_refused_and_leaves_no_ivs_channel(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    await create(gql, admin)
    await create(gql, admin)
    result = await gql(queries.CREATE, {"input": {"name": "Third"}}, token=admin)
    assert error_codes(result) == ["CAPACITY_EXCEEDED"]
    assert ivs_channel_count(service) == 2
    assert (await capacity(gql, admin))["used"] == 2


# INVALID_STATE_TRANSITION


@pytest.mark.parametrize(("path", "refused"), [(["OFFLINE"], "LIVE")])
async def test_offline_to_live_is_an_invalid_transition(
    gql: GraphQLClient, admin: str, path: list[str], refused: str
) -> None:
    channel = await create(gql, admin)
    for state in path:
        await gql(queries.SET_STATE, {"channelId": channel["id"], "state": state}, token=admin)
    result = await gql(queries.SET_STATE, {"channelId": channel["id"], "state": refused}, token=admin)
    assert error_codes(result) == ["INVALID_STATE_TRANSITION"]
    assert "OFFLINE to LIVE" in result["errors"][0]["message"]


# BAD_USER_INPUT


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 129, "bad\u0000name", "line\nbreak"], ids=["empty", "blank", "129", "nul", "newline"]
)
async def test_invalid_channel_name_is_bad_user_input(gql: GraphQLClient, admin: str, service: Service, name: str) -> None:
    result = await gql(queries.CREATE, {"input": {"name": name}}, token=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert "input.name" in result["errors"][0]["message"]
    assert ivs_channel_count(service) == 0


@pytest.mark.parametrize("first", [0, -1, 101, 2**31 - 1])
async def test_page_size_out_of_range_is_bad_user_input(gql: GraphQLClient, admin: str, first: int) -> None:
    assert error_codes(await gql(queries.CHANNELS, {"first": first}, token=admin)) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ9", "e30", "A" * 5000])
async def test_forged_cursor_is_bad_user_input(gql: GraphQLClient, admin: str, cursor: str) -> None:
    assert error_codes(await gql(queries.CHANNELS, {"after": cursor}, token=admin)) == ["BAD_USER_INPUT"]


async def test_cursor_of_another_listing_is_bad_user_input(gql: GraphQLClient, admin: str) -> None:
    for _ in range(2):
        await create(gql, admin)
    page = (await gql(queries.CHANNELS, {"first": 1}, token=admin))["data"]["channels"]
    result = await gql(queries.CHANNELS, {"first": 1, "state": "LIVE", "after": page["pageInfo"]["endCursor"]}, token=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [({"first": "ten"}, "Int cannot represent"), ({"state": "PAUSED"}, "does not exist in 'ChannelState'")],
)
async def test_variables_that_do_not_fit_their_type_are_bad_user_input(
    gql: GraphQLClient, admin: str, variables: dict[str, Any], fragment: str
) -> None:
    result = await gql(queries.CHANNELS, variables, token=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fragment in result["errors"][0]["message"]


# GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED


async def test_unparsable_document_is_parse_failed(gql: GraphQLClient, admin: str) -> None:
    assert error_codes(await gql("{ capacity { used ", token=admin)) == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize(
    "document",
    ["{ capacity { unknownField } }", '{ channels(state: PAUSED) { edges { cursor } } }', '{ channel(id: 5.5) { id } }'],
)
async def test_document_that_fails_validation_is_validation_failed(gql: GraphQLClient, admin: str, document: str) -> None:
    codes = error_codes(await gql(document, token=admin))
    assert codes and set(codes) == {"GRAPHQL_VALIDATION_FAILED"}


# UPSTREAM_ERROR and no orphans


async def test_ivs_failure_is_upstream_error_and_releases_the_slot(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    with Fault(service.clients.ivs, "CreateChannel", "InternalServerException"):
        result = await gql(queries.CREATE, {"input": {"name": "X", "idempotencyKey": "k"}}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert (await capacity(gql, admin))["used"] == 0
    # The key was released with the slot: a retry creates the channel.
    assert (await create(gql, admin, name="X", idempotencyKey="k"))["name"] == "X"


async def test_record_write_failure_deletes_the_ivs_channel(gql: GraphQLClient, admin: str, service: Service) -> None:
    # The create's transactions: 1 reserves the slot, 2 writes the record.
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError", on_calls={2}) as fault:
        result = await gql(queries.CREATE, {"input": {"name": "X"}}, token=admin)
    assert fault.injected == 1
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert ivs_channel_count(service) == 0
    assert (await capacity(gql, admin))["used"] == 0
    assert (await gql(queries.CHANNELS, token=admin))["data"]["channels"]["edges"] == []


async def test_ivs_quota_refusal_is_capacity_exceeded(gql: GraphQLClient, admin: str, service: Service) -> None:
    with Fault(service.clients.ivs, "CreateChannel", "ServiceQuotaExceededException", status=402):
        result = await gql(queries.CREATE, {"input": {"name": "X"}}, token=admin)
    assert error_codes(result) == ["CAPACITY_EXCEEDED"]
    assert (await capacity(gql, admin))["used"] == 0


async def test_throttled_read_is_upstream_error(gql: GraphQLClient, admin: str, service: Service) -> None:
    with Fault(service.clients.dynamodb, "GetItem", "ProvisionedThroughputExceededException", status=400):
        result = await gql(queries.CAPACITY, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]


# INTERNAL_SERVER_ERROR: masked, logged with the request id


async def test_unexpected_error_is_masked_and_logged_with_the_request_id(
    http: httpx.AsyncClient, admin: str, service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service.backend.reader, "get", broken)  # capacity's read (data.dynamo_reads)
    with caplog.at_level(logging.ERROR, logger="shelcaster.channels.errors"):
        response = await http.post(
            "/graphql", json={"query": queries.CAPACITY}, headers={"Authorization": f"Bearer {admin}"}
        )
    assert response.status_code == 200
    error = response.json()["errors"][0]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert request_id in caplog.text and "secret internal detail" in caplog.text


# HTTP: malformed requests are 4xx, never 5xx


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("POST", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("POST", {"content": b"query=1", "headers": {"content-type": "text/plain"}}),
        ("POST", {"json": {"query": 5}}),
        ("POST", {"json": {"query": "{ capacity { used } }", "variables": []}}),
        ("POST", {"json": [{"query": "{ capacity { used } }"}, {"query": "{ capacity { used } }"}]}),
        ("GET", {"params": {"query": "mutation { createChannel(input: {name: \"x\"}) { id } }"}}),
        ("PUT", {"json": {"query": "{ capacity { used } }"}}),
    ],
    ids=["malformed-json", "wrong-content-type", "query-not-string", "variables-not-object", "batch", "get-mutation", "put"],
)
async def test_malformed_http_request_is_4xx(
    http: httpx.AsyncClient, admin: str, service: Service, method: str, kwargs: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {admin}", **kwargs.pop("headers", {})}
    response = await http.request(method, "/graphql", headers=headers, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert ivs_channel_count(service) == 0
