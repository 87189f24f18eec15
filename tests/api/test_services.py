"""Services call too (CONTRACT.md section 4): the seed's Phase 2 session integration, through HTTP.

The platform's create-session and end-session functions send Cognito client-credentials access
tokens: `sub` is their `client_id`, no user, no groups, and the scopes of this API they were granted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from services.ivs_events import apply_ivs_event
from tests.api import queries
from tests.api.test_auth import assert_refused, assign, create_channel, send
from tests.support import SERVICE_CLIENT_ID, GraphQLClient, TokenFactory, error_codes

REQUEST_LOG = "shelcaster.channels.requests"
HOST = "host-phase2"
SESSION_ID = "session-7f3a"
UNKNOWN_CHANNEL_ID = "5f0c1e52-9a57-4f7e-9d8c-000000000000"

# What create-session asks: the host's channel, with what an encoder needs.
LOOK_UP = (
    "query HostChannel($hostUserId: ID!) { hostChannel(hostUserId: $hostUserId) {"
    " channelId channel { id state streamKey ingestUrl playbackUrl currentSessionId } } }"
)
SET_STATE = (
    "mutation SetState($channelId: ID!, $state: ChannelState!, $sessionId: String) {"
    " setChannelState(channelId: $channelId, state: $state, sessionId: $sessionId) {"
    " id state currentSessionId liveSince stats { totalBroadcasts totalStreamingMinutes lastBroadcastAt } } }"
)
STREAM_KEY = "query Channel($id: ID!) { channel(id: $id) { id streamKey } }"


def live_stream_start(stand_in: Any, channel_arn: str) -> dict[str, Any]:
    """IVS's Stream Start for the stream the stand-in reports on the channel now."""
    from tests.api.test_live_streams import ivs_event

    stream = stand_in.stream_of(channel_arn)
    assert stream is not None
    return ivs_event("ivs_stream_start", channel_arn, stream["streamId"], stream["startTime"])


@pytest.fixture
async def hosted(gql: GraphQLClient, admin: str) -> dict[str, Any]:
    """A HOST_OWNED channel with HOST on it, as the admin created it."""
    channel = await create_channel(gql, admin, "Phase Two")
    await assign(gql, admin, channel["id"], HOST)
    return channel


@pytest.fixture
def sessions(tokens: TokenFactory) -> str:
    return tokens.service_token("sessions")


async def test_phase_2_session_flow_counts_one_broadcast_and_every_retry_is_safe(
    gql: GraphQLClient, admin: str, hosted: dict[str, Any], sessions: str
) -> None:
    # create-session: look up the host's channel (a retry reads the same).
    looked_up = await gql(LOOK_UP, {"hostUserId": HOST}, token=sessions)
    assert looked_up == await gql(LOOK_UP, {"hostUserId": HOST}, token=sessions)
    found = looked_up["data"]["hostChannel"]
    assert found["channelId"] == hosted["id"]
    assert found["channel"]["state"] == "IDLE"
    assert found["channel"]["streamKey"] == hosted["streamKey"]
    assert found["channel"]["ingestUrl"].startswith("rtmps://")
    channel_id = found["channelId"]

    # ... then LIVE with its session id; the retry answers the same channel and counts nothing more.
    live = await gql(SET_STATE, {"channelId": channel_id, "state": "LIVE", "sessionId": SESSION_ID}, token=sessions)
    assert "errors" not in live, live
    went_live = live["data"]["setChannelState"]
    assert (went_live["state"], went_live["currentSessionId"]) == ("LIVE", SESSION_ID)
    assert went_live["stats"]["totalBroadcasts"] == 1
    retried = await gql(SET_STATE, {"channelId": channel_id, "state": "LIVE", "sessionId": SESSION_ID}, token=sessions)
    assert retried == live

    # end-session: IDLE; its retry is the no-op of setting the current state again.
    idle = await gql(SET_STATE, {"channelId": channel_id, "state": "IDLE", "sessionId": SESSION_ID}, token=sessions)
    assert "errors" not in idle, idle
    ended = idle["data"]["setChannelState"]
    assert (ended["state"], ended["currentSessionId"], ended["liveSince"]) == ("IDLE", None, None)
    assert ended["stats"]["totalBroadcasts"] == 1
    assert ended["stats"]["totalStreamingMinutes"] >= 0
    assert await gql(SET_STATE, {"channelId": channel_id, "state": "IDLE"}, token=sessions) == idle

    # What the admin sees afterwards: one broadcast, the channel IDLE, still the host's.
    after = (await gql(queries.CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]
    assert (after["state"], after["stats"]["totalBroadcasts"], after["currentSessionId"]) == ("IDLE", 1, None)
    assert after["stats"]["lastBroadcastAt"] == went_live["stats"]["lastBroadcastAt"]
    assert [a["hostUserId"] for a in after["assignments"]] == [HOST]


def readme_requests() -> list[dict[str, Any]]:
    """The JSON bodies of docs/calling-from-another-service.md (the README's "Calling from another
    service" before it moved there), in order."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "calling-from-another-service.md").read_text()
    section = text.split("# Calling from another service", 1)[1].split("\n## ", 1)[0]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.DOTALL)]


@pytest.mark.parametrize("order", ["session first", "encoder first"])
async def test_the_readmes_requests_are_the_phase_2_flow(
    gql: GraphQLClient, hosted: dict[str, Any], sessions: str, service: Any, aws: Any, order: str
) -> None:
    look_up, start, end = readme_requests()
    placeholders = {"HOST_USER_ID": HOST, "CHANNEL_ID": hosted["id"], "SESSION_ID": SESSION_ID}

    async def sent(body: dict[str, Any]) -> dict[str, Any]:
        variables = {name: placeholders[value] for name, value in body["variables"].items()}
        result = await gql(body["query"], variables, token=sessions)
        assert "errors" not in result, result
        return result["data"]

    def encoder_connects() -> None:
        # The host's encoder connects with the key create-session handed out; IVS reports the stream.
        aws.ivs_stand_in.connect_encoder(found["channel"]["streamKey"])
        assert apply_ivs_event(service.backend, live_stream_start(aws.ivs_stand_in, hosted["arn"])) in (
            "went LIVE", "attached to the open session")

    found = (await sent(look_up))["hostChannel"]
    assert (found["channelId"], found["channel"]["streamKey"]) == (hosted["id"], hosted["streamKey"])
    if order == "encoder first":
        encoder_connects()
    started = (await sent(start))["setChannelState"]
    if order == "session first":
        encoder_connects()
    assert (started["state"], started["currentSessionId"], started["stats"]["totalBroadcasts"]) == ("LIVE", SESSION_ID, 1)
    assert (await sent(start))["setChannelState"] == started  # the retry
    ended = (await sent(end))["setChannelState"]
    assert (ended["state"], ended["currentSessionId"], ended["stats"]["totalBroadcasts"]) == ("IDLE", None, 1)
    assert (await sent(end))["setChannelState"] == ended  # the retry


async def test_concurrent_retries_of_live_by_a_service_count_one_broadcast(
    gql: GraphQLClient, admin: str, hosted: dict[str, Any], sessions: str
) -> None:
    variables = {"channelId": hosted["id"], "state": "LIVE", "sessionId": SESSION_ID}
    results = await asyncio.gather(*(gql(SET_STATE, variables, token=sessions) for _ in range(8)))
    assert [error_codes(result) for result in results] == [[]] * 8
    assert {result["data"]["setChannelState"]["currentSessionId"] for result in results} == {SESSION_ID}
    after = (await gql(queries.CHANNEL, {"id": hosted["id"]}, token=admin))["data"]["channel"]
    assert after["stats"]["totalBroadcasts"] == 1


async def test_live_with_another_session_is_conflict_and_changes_nothing(
    gql: GraphQLClient, admin: str, hosted: dict[str, Any], sessions: str
) -> None:
    await gql(SET_STATE, {"channelId": hosted["id"], "state": "LIVE", "sessionId": SESSION_ID}, token=sessions)
    other = await gql(SET_STATE, {"channelId": hosted["id"], "state": "LIVE", "sessionId": "session-b"}, token=sessions)
    assert_refused(other, "setChannelState", "CONFLICT", nullable=False)
    after = (await gql(queries.CHANNEL, {"id": hosted["id"]}, token=admin))["data"]["channel"]
    assert (after["currentSessionId"], after["stats"]["totalBroadcasts"]) == (SESSION_ID, 1)


async def test_a_late_retry_of_one_sessions_end_does_not_end_the_next_session(
    gql: GraphQLClient, admin: str, hosted: dict[str, Any], sessions: str
) -> None:
    channel_id = hosted["id"]
    for state, session in (("LIVE", "session-a"), ("IDLE", "session-a"), ("LIVE", "session-b")):
        result = await gql(SET_STATE, {"channelId": channel_id, "state": state, "sessionId": session}, token=sessions)
        assert "errors" not in result, result
    # end-session of session-a retries after session-b started: refused, session-b stays live.
    late = await gql(SET_STATE, {"channelId": channel_id, "state": "IDLE", "sessionId": "session-a"}, token=sessions)
    assert_refused(late, "setChannelState", "CONFLICT", nullable=False)
    assert late["errors"][0]["message"] == (
        f"Channel '{channel_id}' is LIVE with another session ('session-b'), not 'session-a'; nothing was changed."
    )
    after = (await gql(queries.CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]
    assert (after["state"], after["currentSessionId"], after["stats"]["totalBroadcasts"]) == ("LIVE", "session-b", 2)


async def test_sessions_scope_may_not_take_a_channel_offline(
    gql: GraphQLClient, admin: str, hosted: dict[str, Any], sessions: str
) -> None:
    result = await gql(SET_STATE, {"channelId": hosted["id"], "state": "OFFLINE"}, token=sessions)
    assert_refused(result, "setChannelState", "FORBIDDEN", nullable=False)
    assert result["errors"][0]["message"] == (
        "Services with the sessions scope may set IDLE or LIVE only; OFFLINE is for admins."
    )
    after = (await gql(queries.CHANNEL, {"id": hosted["id"]}, token=admin))["data"]["channel"]
    assert after["state"] == "IDLE"


async def test_sessions_scope_reaches_any_channel_so_an_unknown_one_is_not_found(
    gql: GraphQLClient, sessions: str
) -> None:
    result = await gql(SET_STATE, {"channelId": UNKNOWN_CHANNEL_ID, "state": "LIVE"}, token=sessions)
    assert_refused(result, "setChannelState", "NOT_FOUND", nullable=False)
    assert await gql(STREAM_KEY, {"id": UNKNOWN_CHANNEL_ID}, token=sessions) == {"data": {"channel": None}}


async def test_sessions_scope_sees_the_stream_key_of_a_channel_nobody_holds(
    gql: GraphQLClient, admin: str, sessions: str
) -> None:
    spare = await create_channel(gql, admin, "Spare")
    result = await gql(STREAM_KEY, {"id": spare["id"]}, token=sessions)
    assert result == {"data": {"channel": {"id": spare["id"], "streamKey": spare["streamKey"]}}}


async def test_sessions_scope_looking_up_a_host_without_a_channel_gets_null(gql: GraphQLClient, sessions: str) -> None:
    assert await gql(LOOK_UP, {"hostUserId": "host-without-channel"}, token=sessions) == {"data": {"hostChannel": None}}


@pytest.mark.parametrize(
    "scopes",
    [pytest.param((), id="no-scope"), pytest.param(("other-api/sessions",), id="another-apis-scope")],
)
async def test_a_service_without_a_scope_of_this_api_may_not_read_stream_keys(
    gql: GraphQLClient, hosted: dict[str, Any], tokens: TokenFactory, scopes: tuple[str, ...]
) -> None:
    token = tokens.service_token(*scopes)
    assert_refused(await gql(STREAM_KEY, {"id": hosted["id"]}, token=token), "channel", "FORBIDDEN", nullable=True)
    assert_refused(await gql(LOOK_UP, {"hostUserId": HOST}, token=token), "hostChannel", "FORBIDDEN", nullable=True)


async def test_a_scope_is_matched_whole_not_by_its_prefix(gql: GraphQLClient, tokens: TokenFactory) -> None:
    token = tokens.service_token("shelcaster-channels-staging/admin", "shelcaster-channels/admin-extra")
    assert_refused(await gql("{ capacity { used } }", token=token), "capacity", "FORBIDDEN", nullable=False)


async def test_the_admin_scope_records_the_client_id_as_assigned_by(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    channel = await create_channel(gql, admin, "Assigned By A Service")
    service_admin = tokens.service_token("admin")
    result = await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": HOST}, token=service_admin)
    assert "errors" not in result, result
    assert result["data"]["assignChannel"]["assignedBy"] == SERVICE_CLIENT_ID
    looked_up = await gql(queries.HOST_CHANNEL, {"hostUserId": HOST}, token=admin)
    assert looked_up["data"]["hostChannel"]["assignedBy"] == SERVICE_CLIENT_ID


async def test_the_request_log_names_the_service_by_its_client_id(
    gql: GraphQLClient, hosted: dict[str, Any], sessions: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=REQUEST_LOG):
        await gql(LOOK_UP, {"hostUserId": HOST}, token=sessions)
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == REQUEST_LOG]
    assert (line["operation"], line["callerId"]) == ("query HostChannel", SERVICE_CLIENT_ID)


REFUSED_SERVICE_TOKENS = {
    "with-a-username": {"username": SERVICE_CLIENT_ID},
    "with-cognito-username": {"cognito:username": SERVICE_CLIENT_ID},
    "with-groups": {"cognito:groups": ["admin"]},
    "scope-not-a-string": {"scope": ["shelcaster-channels/admin"]},
}


@pytest.mark.parametrize("claims", REFUSED_SERVICE_TOKENS.values(), ids=REFUSED_SERVICE_TOKENS.keys())
async def test_a_client_credentials_token_naming_a_user_or_groups_is_refused(
    gql: GraphQLClient, tokens: TokenFactory, claims: dict[str, Any]
) -> None:
    result = await send(gql, "{ myChannel { channelId } }", authorization=f"Bearer {tokens.service_token('admin', **claims)}")
    assert_refused(result, "myChannel", "UNAUTHENTICATED", nullable=True)


async def test_a_client_credentials_token_without_a_scope_claim_may_do_nothing(
    gql: GraphQLClient, hosted: dict[str, Any], tokens: TokenFactory
) -> None:
    token = tokens.service_token(scope=None)
    result = await gql(SET_STATE, {"channelId": hosted["id"], "state": "LIVE"}, token=token)
    assert_refused(result, "setChannelState", "FORBIDDEN", nullable=False)


@pytest.mark.parametrize("settings", [{"auth_scope_prefix": "https://channels.example.com"}], indirect=True)
async def test_scopes_are_read_under_the_configured_prefix(
    gql: GraphQLClient, hosted: dict[str, Any], tokens: TokenFactory
) -> None:
    configured = tokens.service_token("https://channels.example.com/sessions")
    assert (await gql(LOOK_UP, {"hostUserId": HOST}, token=configured))["data"]["hostChannel"]["channelId"] == hosted["id"]
    default_prefix = tokens.service_token("sessions")  # shelcaster-channels/sessions: not this API's any more
    assert_refused(await gql(LOOK_UP, {"hostUserId": HOST}, token=default_prefix), "hostChannel", "FORBIDDEN", nullable=True)
