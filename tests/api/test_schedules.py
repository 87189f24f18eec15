"""Schedules end to end over GraphQL (CONTRACT.md sections 4 and 12): every operation, its paging, and
who may do what."""

from __future__ import annotations

import uuid

from tests.api import queries
from tests.api.slot_support import (
    BOOK,
    CANCEL,
    CHANNEL_SLOTS,
    HOUR,
    MOVE,
    MY_SLOTS,
    at,
    book,
    booked,
    host_id,
    minute,
    shared_channel,
    tomorrow,
)
from tests.api.test_errors import create
from tests.support import GraphQLClient, TokenFactory, error_codes


def only_error(result: dict) -> tuple[str, str]:
    assert len(result["errors"]) == 1, result
    return result["errors"][0]["extensions"]["code"], result["errors"][0]["message"]


# bookSlot


async def test_a_host_books_a_slot_on_their_shared_channel(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11), title="  Morning show ")
    assert slot["channelId"] == channel_id
    assert (slot["hostUserId"], slot["createdBy"], slot["title"]) == (host, host, "Morning show")
    assert (slot["startsAt"], slot["endsAt"], slot["cancelledAt"]) == (at(tomorrow(10)), at(tomorrow(11)), None)


async def test_an_admin_books_for_an_assigned_host(gql: GraphQLClient, admin: str) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, admin, channel_id, tomorrow(10), tomorrow(11), hostUserId=host)
    assert (slot["hostUserId"], slot["createdBy"]) == (host, "admin-1")


async def test_an_admin_booking_for_an_unassigned_host_is_bad_user_input(gql: GraphQLClient, admin: str) -> None:
    channel_id = await shared_channel(gql, admin, host_id())
    result = await book(gql, admin, channel_id, tomorrow(10), tomorrow(11), hostUserId="stranger")
    assert only_error(result) == ("BAD_USER_INPUT", f"Host 'stranger' is not assigned to channel '{channel_id}'.")


async def test_a_booking_on_a_host_owned_channel_is_bad_user_input(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host = host_id()
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": host}, token=admin)
    result = await book(gql, tokens.host(host), channel["id"], tomorrow(10), tomorrow(11))
    assert only_error(result) == (
        "BAD_USER_INPUT", f"Channel '{channel['id']}' is HOST_OWNED; only SHARED channels have schedules.")


async def test_a_slot_of_four_minutes_is_bad_user_input(gql: GraphQLClient, admin: str) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    start = tomorrow(10)
    result = await book(gql, admin, channel_id, start, start.replace(minute=4), hostUserId=host)
    assert only_error(result) == ("BAD_USER_INPUT", "slots must be at least 5 minutes.")


async def test_seconds_in_a_booking_are_bad_user_input(gql: GraphQLClient, admin: str) -> None:
    channel_id = await shared_channel(gql, admin, "h")
    result = await gql(BOOK, {"input": {"channelId": channel_id, "startsAt": at(tomorrow(10)).replace(":00.000Z", ":30.000Z"),
                                        "endsAt": at(tomorrow(11))}}, token=admin)
    code, message = only_error(result)
    assert (code, message.startswith("'input.startsAt' must be a whole minute")) == ("BAD_USER_INPUT", True)


async def test_an_overlapping_booking_is_conflict_naming_only_the_time(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    await booked(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11))
    result = await book(gql, tokens.host(second), channel_id, tomorrow(10.5), tomorrow(12))
    assert only_error(result) == ("CONFLICT", (
        f"Channel '{channel_id}' is already booked from {at(tomorrow(10))} to {at(tomorrow(11))}; "
        "choose a time that does not overlap it."))


async def test_back_to_back_bookings_both_succeed(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    await booked(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11))
    await booked(gql, tokens.host(second), channel_id, tomorrow(11), tomorrow(12))


async def test_a_host_booking_for_another_host_is_forbidden(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    result = await book(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11), hostUserId=second)
    assert only_error(result) == ("FORBIDDEN", f"Hosts book their own slots; you may not book for host '{second}'.")


async def test_a_host_booking_a_channel_they_do_not_hold_is_forbidden_whether_or_not_it_exists(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    channel_id = await shared_channel(gql, admin, host_id())
    for target in (channel_id, str(uuid.uuid4())):
        result = await book(gql, tokens.host(host_id()), target, tomorrow(10), tomorrow(11))
        assert only_error(result) == ("FORBIDDEN", f"You are not assigned to channel '{target}'.")


async def test_an_admin_booking_an_unknown_channel_is_not_found(gql: GraphQLClient, admin: str) -> None:
    missing = str(uuid.uuid4())
    result = await book(gql, admin, missing, tomorrow(10), tomorrow(11), hostUserId="h")
    assert only_error(result) == ("NOT_FOUND", f"Channel '{missing}' does not exist.")


async def test_a_sessions_service_may_not_book(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    channel_id = await shared_channel(gql, admin, "h")
    token = tokens.service_token("shelcaster-channels/sessions")
    result = await book(gql, token, channel_id, tomorrow(10), tomorrow(11), hostUserId="h")
    assert error_codes(result) == ["FORBIDDEN"]


async def test_an_anonymous_booking_is_unauthenticated(gql: GraphQLClient, admin: str) -> None:
    channel_id = await shared_channel(gql, admin, "h")
    assert error_codes(await book(gql, "", channel_id, tomorrow(10), tomorrow(11))) == ["UNAUTHENTICATED"]


# moveSlot and cancelSlot


async def test_a_host_moves_their_slot(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    result = await gql(MOVE, {"id": slot["id"], "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(15))},
                       token=tokens.host(host))
    assert result["data"]["moveSlot"] == {**slot, "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(15))}


async def test_a_move_into_another_slot_is_conflict(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    await booked(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11))
    slot = await booked(gql, tokens.host(second), channel_id, tomorrow(12), tomorrow(13))
    result = await gql(MOVE, {"id": slot["id"], "startsAt": at(tomorrow(10.5)), "endsAt": at(tomorrow(11.5))},
                       token=tokens.host(second))
    assert error_codes(result) == ["CONFLICT"]


async def test_a_move_overlapping_only_itself_succeeds(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    result = await gql(MOVE, {"id": slot["id"], "startsAt": at(tomorrow(10.5)), "endsAt": at(tomorrow(11.5))},
                       token=tokens.host(host))
    assert result["data"]["moveSlot"]["startsAt"] == at(tomorrow(10.5))


async def test_a_host_moving_another_hosts_slot_is_forbidden_as_for_a_missing_one(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    slot = await booked(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11))
    for slot_id in (slot["id"], str(uuid.uuid4())):
        result = await gql(MOVE, {"id": slot_id, "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(15))},
                           token=tokens.host(second))
        assert only_error(result) == ("FORBIDDEN", f"Slot '{slot_id}' is not yours; you may change your own slots only.")


async def test_an_admin_moving_an_unknown_slot_is_not_found(gql: GraphQLClient, admin: str) -> None:
    missing = str(uuid.uuid4())
    result = await gql(MOVE, {"id": missing, "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(15))}, token=admin)
    assert only_error(result) == ("NOT_FOUND", f"Slot '{missing}' does not exist.")


async def test_a_cancel_frees_the_time(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    slot = await booked(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11))
    cancelled = (await gql(CANCEL, {"id": slot["id"]}, token=tokens.host(first)))["data"]["cancelSlot"]
    assert cancelled["cancelledAt"] is not None
    await booked(gql, tokens.host(second), channel_id, tomorrow(10), tomorrow(11))


async def test_a_cancelled_slot_never_changes_again(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    await gql(CANCEL, {"id": slot["id"]}, token=admin)
    moved = await gql(MOVE, {"id": slot["id"], "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(15))}, token=admin)
    assert only_error(moved) == ("INVALID_STATE_TRANSITION", f"Slot '{slot['id']}' was cancelled; it cannot change.")
    assert error_codes(await gql(CANCEL, {"id": slot["id"]}, token=admin)) == ["INVALID_STATE_TRANSITION"]


# Channel.slots, Channel.currentSlot, mySlots


async def test_a_channels_week_pages_earliest_first(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    ids = [(await booked(gql, admin, channel_id, tomorrow(h), tomorrow(h + 1), hostUserId=host))["id"]
           for h in (14, 10, 12)]
    week = {"id": channel_id, "from": at(tomorrow()), "to": at(tomorrow(24 * 7)), "first": 2}
    page = (await gql(CHANNEL_SLOTS, week, token=tokens.host(host)))["data"]["channel"]["slots"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [ids[1], ids[2]]
    assert page["edges"][0]["node"]["channel"] == {"id": channel_id}
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await gql(CHANNEL_SLOTS, {**week, "after": page["pageInfo"]["endCursor"]}, token=admin))
    rest_page = rest["data"]["channel"]["slots"]
    assert ([edge["node"]["id"] for edge in rest_page["edges"]], rest_page["pageInfo"]["hasNextPage"]) == ([ids[0]], False)


async def test_a_window_holds_the_slots_overlapping_it(gql: GraphQLClient, admin: str) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    for h in (10, 11, 13):
        await booked(gql, admin, channel_id, tomorrow(h), tomorrow(h + 1), hostUserId=host)
    window = {"id": channel_id, "from": at(tomorrow(10.5)), "to": at(tomorrow(13))}
    page = (await gql(CHANNEL_SLOTS, window, token=admin))["data"]["channel"]["slots"]
    assert [edge["node"]["startsAt"] for edge in page["edges"]] == [at(tomorrow(10)), at(tomorrow(11))]


async def test_a_sessions_service_sees_an_empty_schedule_and_no_current_slot(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    await booked(gql, admin, channel_id, minute(), minute(HOUR), hostUserId=host)
    token = tokens.service_token("shelcaster-channels/sessions")
    channel = (await gql(CHANNEL_SLOTS, {"id": channel_id}, token=token))["data"]["channel"]
    assert channel == {"slots": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}, "currentSlot": None}


async def test_a_cursor_the_service_did_not_make_is_bad_user_input(gql: GraphQLClient, admin: str) -> None:
    channel_id = await shared_channel(gql, admin, "h")
    result = await gql(CHANNEL_SLOTS, {"id": channel_id, "after": "bm90LWEtY3Vyc29y"}, token=admin)
    assert only_error(result) == ("BAD_USER_INPUT", "'after' is not a cursor this service returned for these slots.")


async def test_a_page_of_none_is_bad_user_input(gql: GraphQLClient, admin: str) -> None:
    channel_id = await shared_channel(gql, admin, "h")
    assert error_codes(await gql(CHANNEL_SLOTS, {"id": channel_id, "first": 0}, token=admin)) == ["BAD_USER_INPUT"]


async def test_the_current_slot_covers_now(gql: GraphQLClient, admin: str) -> None:
    host = host_id()
    channel_id = await shared_channel(gql, admin, host)
    slot = await booked(gql, admin, channel_id, minute(), minute(HOUR), hostUserId=host)
    await booked(gql, admin, channel_id, tomorrow(10), tomorrow(11), hostUserId=host)
    result = await gql(CHANNEL_SLOTS, {"id": channel_id}, token=admin)
    assert result["data"]["channel"]["currentSlot"] == {"id": slot["id"]}


async def test_my_slots_are_the_callers_earliest_first_without_cancelled_ones(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    host, other = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, host, other)
    later = await booked(gql, tokens.host(host), channel_id, tomorrow(12), tomorrow(13))
    earlier = await booked(gql, tokens.host(host), channel_id, tomorrow(10), tomorrow(11))
    gone = await booked(gql, tokens.host(host), channel_id, tomorrow(14), tomorrow(15))
    await booked(gql, tokens.host(other), channel_id, tomorrow(11), tomorrow(12))
    await gql(CANCEL, {"id": gone["id"]}, token=tokens.host(host))
    result = await gql(MY_SLOTS, {"first": 1}, token=tokens.host(host))
    page = result["data"]["mySlots"]
    assert ([edge["node"]["id"] for edge in page["edges"]], page["pageInfo"]["hasNextPage"]) == ([earlier["id"]], True)
    rest = (await gql(MY_SLOTS, {"after": page["pageInfo"]["endCursor"]}, token=tokens.host(host)))["data"]["mySlots"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == [later["id"]]


# Unassigning and deleting


async def test_unassigning_a_host_cancels_their_future_slots(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host, other = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, host, other)
    theirs = await booked(gql, admin, channel_id, tomorrow(10), tomorrow(11), hostUserId=host)
    kept = await booked(gql, admin, channel_id, tomorrow(11), tomorrow(12), hostUserId=other)
    result = await gql(queries.UNASSIGN, {"channelId": channel_id, "hostUserId": host}, token=admin)
    assert "errors" not in result
    page = (await gql(CHANNEL_SLOTS, {"id": channel_id}, token=admin))["data"]["channel"]["slots"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [kept["id"]]
    assert (await gql(MY_SLOTS, token=tokens.host(host)))["data"]["mySlots"]["edges"] == []
    assert error_codes(await gql(CANCEL, {"id": theirs["id"]}, token=admin)) == ["INVALID_STATE_TRANSITION"]


async def test_bad_times_are_bad_user_input_before_forbidden(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    first, second = host_id(), host_id()
    channel_id = await shared_channel(gql, admin, first, second)
    slot = await booked(gql, tokens.host(first), channel_id, tomorrow(10), tomorrow(11))
    result = await gql(MOVE, {"id": slot["id"], "startsAt": at(tomorrow(14)), "endsAt": at(tomorrow(14)).replace("00:00", "04:00")},
                       token=tokens.host(second))
    assert only_error(result) == ("BAD_USER_INPUT", "slots must be at least 5 minutes.")


async def test_my_slots_without_a_token_is_unauthenticated(gql: GraphQLClient) -> None:
    assert error_codes(await gql(MY_SLOTS)) == ["UNAUTHENTICATED"]


async def test_my_slots_for_a_sessions_service_is_forbidden(gql: GraphQLClient, tokens: TokenFactory) -> None:
    result = await gql(MY_SLOTS, token=tokens.service_token("shelcaster-channels/sessions"))
    assert only_error(result) == ("FORBIDDEN", "Services with the sessions scope may not call 'mySlots'.")
