"""Channel requests end to end through GraphQL (CONTRACT.md section 8), with the frontends' documents."""

from __future__ import annotations

import pytest

from app.bootstrap import Service
from tests.api import queries
from tests.api.channel_requests_support import (
    APPROVE,
    CANCEL,
    MINE,
    MY_CHANNEL,
    QUEUE,
    REJECT,
    REQUEST,
    approve,
    capacity,
    ivs_channel_count,
    submit,
)
from tests.api.test_errors import create
from tests.support import GraphQLClient, TokenFactory, error_codes


# requestChannel


async def test_a_request_is_pending_and_counted(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    producer = tokens.host("producer-1")
    request = await submit(gql, producer, name="  Morning Show ", groupId="group-7", groupName=" Team A ",
                           reason="Weekly show", assignmentModel="SHARED")
    assert {key: request[key] for key in ("requesterId", "name", "groupId", "groupName", "reason", "status",
                                           "assignmentModel", "type", "latencyMode", "recordingEnabled")} == {
        "requesterId": "producer-1", "name": "Morning Show", "groupId": "group-7", "groupName": "Team A",
        "reason": "Weekly show", "status": "PENDING", "assignmentModel": "SHARED", "type": "STANDARD",
        "latencyMode": "LOW", "recordingEnabled": True,
    }
    assert (request["decidedAt"], request["decidedBy"], request["decisionNote"]) == (None, None, None)
    assert (await capacity(gql, admin))["pendingRequests"] == 1
    mine = (await gql(MINE, token=producer))["data"]["myChannelRequests"]
    assert [(r["id"], r["status"], r["channel"]) for r in mine] == [(request["id"], "PENDING", None)]


async def test_a_second_pending_request_is_conflict(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    producer = tokens.host("producer-1")
    await submit(gql, producer)
    result = await gql(REQUEST, {"input": {"name": "Another"}}, token=producer)
    assert error_codes(result) == ["CONFLICT"]
    assert "already have a PENDING channel request" in result["errors"][0]["message"]
    assert (await capacity(gql, admin))["pendingRequests"] == 1


async def test_a_requester_who_holds_a_channel_is_conflict(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    result = await gql(REQUEST, {"input": {"name": "Mine"}}, token=tokens.host("host-1"))
    assert error_codes(result) == ["CONFLICT"]
    assert channel["id"] in result["errors"][0]["message"]
    assert (await capacity(gql, admin))["pendingRequests"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "   "}, "'input.name' must be 1 to 128 characters after trimming, got 0."),
        ({"name": "x" * 129}, "'input.name' must be 1 to 128 characters after trimming, got 129."),
        ({"name": "Show\u0000"}, "'input.name' must not contain control characters."),
        ({"reason": "r" * 501}, "'input.reason' must be at most 500 characters after trimming, got 501."),
        ({"reason": "line\u202eflip"}, "'input.reason' must not contain control characters."),
        ({"groupName": "g" * 129}, "'input.groupName' must be at most 128 characters after trimming, got 129."),
        ({"groupId": " g1"}, "'input.groupId' must not contain control characters or surrounding spaces."),
    ],
)
async def test_request_input_is_validated_like_create_channel(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, fields: dict[str, str], message: str
) -> None:
    result = await gql(REQUEST, {"input": {"name": "Show", **fields}}, token=tokens.host("producer-1"))
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["message"] == message
    assert (await capacity(gql, admin))["pendingRequests"] == 0


async def test_anonymous_callers_are_unauthenticated_for_every_request_operation(gql: GraphQLClient) -> None:
    assert error_codes(await gql(REQUEST, {"input": {"name": "Show"}})) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(MINE)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(QUEUE, {})) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(APPROVE, {"id": "r1"})) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(REJECT, {"id": "r1", "note": "no"})) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(CANCEL, {"id": "r1"})) == ["UNAUTHENTICATED"]


# The queue


async def test_the_pending_queue_pages_oldest_first(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    made = [await submit(gql, tokens.host(f"producer-{n}"), name=f"Show {n}") for n in range(5)]
    seen, after = [], None
    while True:
        page = (await gql(QUEUE, {"first": 2, "after": after}, token=admin))["data"]["channelRequests"]
        seen.append([edge["node"]["id"] for edge in page["edges"]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ids = [request["id"] for request in made]
    assert seen == [ids[0:2], ids[2:4], ids[4:5]]


async def test_decided_requests_list_newest_first_and_all_requests_too(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    made = [await submit(gql, tokens.host(f"producer-{n}"), name=f"Show {n}") for n in range(3)]
    for request in made[:2]:
        await gql(REJECT, {"id": request["id"], "note": "Not now"}, token=admin)
    rejected = (await gql(QUEUE, {"status": "REJECTED"}, token=admin))["data"]["channelRequests"]["edges"]
    assert [edge["node"]["id"] for edge in rejected] == [made[1]["id"], made[0]["id"]]
    everything = (await gql(QUEUE, {"status": None}, token=admin))["data"]["channelRequests"]["edges"]
    assert [edge["node"]["id"] for edge in everything] == [made[2]["id"], made[1]["id"], made[0]["id"]]
    pending = (await gql(QUEUE, {}, token=admin))["data"]["channelRequests"]["edges"]
    assert [edge["node"]["id"] for edge in pending] == [made[2]["id"]]


async def test_a_cursor_of_another_listing_is_bad_user_input(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    for n in range(2):
        await submit(gql, tokens.host(f"producer-{n}"))
    cursor = (await gql(QUEUE, {"first": 1}, token=admin))["data"]["channelRequests"]["pageInfo"]["endCursor"]
    result = await gql(QUEUE, {"status": "APPROVED", "after": cursor}, token=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(QUEUE, {"after": "not-a-cursor"}, token=admin)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(QUEUE, {"first": 101}, token=admin)) == ["BAD_USER_INPUT"]


async def test_the_queue_and_decisions_are_for_admins_only(gql: GraphQLClient, tokens: TokenFactory) -> None:
    producer = tokens.host("producer-1")
    request = await submit(gql, producer)
    assert error_codes(await gql(QUEUE, {}, token=producer)) == ["FORBIDDEN"]
    # BAD_USER_INPUT comes first (CONTRACT.md section 3).
    assert error_codes(await gql(QUEUE, {"after": "not-a-cursor"}, token=producer)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(REJECT, {"id": request["id"], "note": " "}, token=producer)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(APPROVE, {"id": request["id"]}, token=producer)) == ["FORBIDDEN"]
    assert error_codes(await gql(REJECT, {"id": request["id"], "note": "no"}, token=producer)) == ["FORBIDDEN"]
    assert error_codes(await gql(queries.CAPACITY, token=producer)) == ["FORBIDDEN"]


# Reject


async def test_a_rejection_carries_its_note_to_the_requester(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    producer = tokens.host("producer-1")
    request = await submit(gql, producer)
    rejected = (await gql(REJECT, {"id": request["id"], "note": "  Use the shared channel.  "}, token=admin))
    assert rejected["data"]["rejectChannelRequest"]["status"] == "REJECTED"
    assert rejected["data"]["rejectChannelRequest"]["decidedBy"] == "admin-1"
    mine = (await gql(MINE, token=producer))["data"]["myChannelRequests"]
    assert [(r["status"], r["decisionNote"], r["channel"]) for r in mine] == [("REJECTED", "Use the shared channel.", None)]
    assert (await capacity(gql, admin))["pendingRequests"] == 0
    # Decided for good; and the requester may ask again.
    assert error_codes(await gql(REJECT, {"id": request["id"], "note": "again"}, token=admin)) == ["INVALID_STATE_TRANSITION"]
    assert error_codes(await approve(gql, admin, request["id"])) == ["INVALID_STATE_TRANSITION"]
    assert error_codes(await gql(CANCEL, {"id": request["id"]}, token=producer)) == ["INVALID_STATE_TRANSITION"]
    await submit(gql, producer, name="Second try")


@pytest.mark.parametrize("note", ["", "   ", "n" * 501])
async def test_a_rejection_needs_a_note_of_1_to_500_characters(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, note: str
) -> None:
    request = await submit(gql, tokens.host("producer-1"))
    result = await gql(REJECT, {"id": request["id"], "note": note}, token=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["message"].startswith("'note' must be")
    queue = (await gql(QUEUE, {}, token=admin))["data"]["channelRequests"]["edges"]
    assert [edge["node"]["status"] for edge in queue] == ["PENDING"]


async def test_deciding_an_unknown_request_is_not_found(gql: GraphQLClient, admin: str) -> None:
    assert error_codes(await approve(gql, admin, "no-such-request")) == ["NOT_FOUND"]
    assert error_codes(await gql(REJECT, {"id": "no-such-request", "note": "x"}, token=admin)) == ["NOT_FOUND"]
    assert error_codes(await gql(CANCEL, {"id": "no-such-request"}, token=admin)) == ["NOT_FOUND"]


# Cancel


async def test_the_requester_cancels_their_own_request(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    producer = tokens.host("producer-1")
    request = await submit(gql, producer)
    cancelled = (await gql(CANCEL, {"id": request["id"]}, token=producer))["data"]["cancelChannelRequest"]
    assert (cancelled["status"], cancelled["decidedBy"]) == ("CANCELLED", "producer-1")
    assert (await capacity(gql, admin))["pendingRequests"] == 0
    await submit(gql, producer, name="Second try")


async def test_someone_elses_request_is_forbidden_to_cancel_whether_or_not_it_exists(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    request = await submit(gql, tokens.host("producer-1"))
    other = tokens.host("producer-2")
    assert error_codes(await gql(CANCEL, {"id": request["id"]}, token=other)) == ["FORBIDDEN"]
    assert error_codes(await gql(CANCEL, {"id": "no-such-request"}, token=other)) == ["FORBIDDEN"]
    assert (await gql(CANCEL, {"id": request["id"]}, token=admin))["data"]["cancelChannelRequest"]["status"] == "CANCELLED"


# Approve


@pytest.mark.usefixtures("aws_connection")  # counts the account's IVS channels (docs/testing.md, "Fixtures")
async def test_approval_creates_the_channel_and_the_requester_sees_it(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    producer = tokens.host("producer-1")
    request = await submit(gql, producer, name="Evening News", recordingEnabled=False)
    result = await approve(gql, admin, request["id"], note="Enjoy")
    approved = result["data"]["approveChannelRequest"]
    assert (approved["status"], approved["decidedBy"], approved["decisionNote"]) == ("APPROVED", "admin-1", "Enjoy")
    channel = approved["channel"]
    assert (channel["name"], channel["state"], channel["assignments"]) == ("Evening News", "IDLE", [{"hostUserId": "producer-1"}])
    mine = (await gql(MY_CHANNEL, token=producer))["data"]["myChannel"]
    assert mine["channelId"] == channel["id"] and mine["channel"]["streamKey"]
    own = (await gql(MINE, token=producer))["data"]["myChannelRequests"]
    assert own[0]["channel"]["id"] == channel["id"] and own[0]["channel"]["streamKey"] == mine["channel"]["streamKey"]
    stored = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]
    assert stored["recordingEnabled"] is False
    assert (await capacity(gql, admin))["pendingRequests"] == 0
    assert (await capacity(gql, admin))["used"] == 1
    # A retry answers the same request, with no second channel.
    again = (await approve(gql, admin, request["id"]))["data"]["approveChannelRequest"]
    assert (again["status"], again["channel"]["id"], again["decisionNote"]) == ("APPROVED", channel["id"], "Enjoy")
    assert ivs_channel_count(service) == 1


async def test_the_approved_channel_is_null_for_a_requester_no_longer_assigned_to_it(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    producer = tokens.host("producer-1")
    request = await submit(gql, producer)
    channel = (await approve(gql, admin, request["id"]))["data"]["approveChannelRequest"]["channel"]
    await gql(queries.UNASSIGN, {"channelId": channel["id"], "hostUserId": "producer-1"}, token=admin)
    own = (await gql(MINE, token=producer))["data"]["myChannelRequests"]
    assert (own[0]["status"], own[0]["channel"]) == ("APPROVED", None)
    queued = (await gql(QUEUE, {"status": "APPROVED"}, token=admin))["data"]["channelRequests"]["edges"]
    assert queued[0]["node"]["channel"]["id"] == channel["id"]  # admins still see it


@pytest.mark.usefixtures("aws_connection")  # counts the account's IVS channels (docs/testing.md, "Fixtures")
async def test_approval_for_a_requester_who_got_a_channel_meanwhile_is_conflict_and_changes_nothing(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    request = await submit(gql, tokens.host("producer-1"))
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "producer-1"}, token=admin)
    result = await approve(gql, admin, request["id"])
    assert error_codes(result) == ["CONFLICT"]
    assert channel["id"] in result["errors"][0]["message"]
    assert ivs_channel_count(service) == 1
    assert (await capacity(gql, admin))["used"] == 1
    queue = (await gql(QUEUE, {}, token=admin))["data"]["channelRequests"]["edges"]
    assert [edge["node"]["id"] for edge in queue] == [request["id"]]


@pytest.mark.usefixtures("aws_connection")  # counts the account's IVS channels (docs/testing.md, "Fixtures")
@pytest.mark.parametrize("settings", [{"limit": 1}], indirect=True)
async def test_approval_at_full_capacity_is_capacity_exceeded_and_the_request_stays_pending(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    await create(gql, admin)
    request = await submit(gql, tokens.host("producer-1"))
    result = await approve(gql, admin, request["id"])
    assert error_codes(result) == ["CAPACITY_EXCEEDED"]
    assert ivs_channel_count(service) == 1
    counts = await capacity(gql, admin)
    assert (counts["used"], counts["pendingRequests"]) == (1, 1)
    queue = (await gql(QUEUE, {}, token=admin))["data"]["channelRequests"]["edges"]
    assert [(edge["node"]["id"], edge["node"]["status"]) for edge in queue] == [(request["id"], "PENDING")]
