"""stopBroadcast, rotateStreamKey and OFFLINE that takes a channel off the air, end to end through
GraphQL on the embedded backend (moto + the IVS stand-in), with faults and races (CONTRACT.md section 7)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from app.bootstrap import Service
from domain.clock import format_timestamp, utc_now
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from domain.access import Caller
from domain.errors import InvalidStateTransition
from domain.model import ChannelState
from services.ivs_events import apply_ivs_event
from services.reconcile import reconcile
from services.stream_control import stop_broadcast
from data.stream_key_records import StreamKeyRecords
from tests.api import queries
from tests.concurrency import race
from tests.api.test_errors import create
from tests.api.test_live_streams import SESSIONS, ivs_event, set_state
from tests.faults import Fault
from tests.support import GraphQLClient, TokenFactory, error_codes

ROTATE = "mutation($id: ID!) { rotateStreamKey(channelId: $id) { id streamKey state } }"
STOP = "mutation($id: ID!) { stopBroadcast(channelId: $id) { id state currentSessionId stats { totalBroadcasts } } }"
KEY = "query($id: ID!) { channel(id: $id) { streamKey state } }"
ADMIN = Caller("admin-1", is_admin=True)


@pytest.fixture
def stand_in(aws: EmbeddedAws) -> LocalIvsStreamsStandIn:
    assert aws.ivs_stand_in is not None
    return aws.ivs_stand_in


async def channel_key(gql: GraphQLClient, admin: str, channel_id: str) -> str | None:
    return (await gql(KEY, {"id": channel_id}, token=admin))["data"]["channel"]["streamKey"]


def ivs_keys(service: Service, arn: str) -> list[str]:
    """The values of the stream keys IVS has for the channel."""
    values = []
    for key in service.backend.ivs.list_stream_keys(arn):
        found = service.backend.ivs.get_stream_key(key.arn)
        assert found is not None and found.value is not None
        values.append(found.value)
    return values


async def go_live_on_ivs(service: Service, stand_in: LocalIvsStreamsStandIn, channel: dict[str, Any]) -> str:
    """An encoder connects with the channel's key and IVS reports the Stream Start."""
    stand_in.connect_encoder(channel["streamKey"], viewers=5)
    stream = stand_in.stream_of(channel["arn"])
    assert stream is not None
    assert apply_ivs_event(service.backend, ivs_event("ivs_stream_start", channel["arn"], stream["streamId"],
                                                      stream["startTime"])) == "went LIVE"
    return str(stream["streamId"])


# stopBroadcast


async def test_stop_broadcast_ends_the_stream_and_a_late_stream_end_counts_nothing_again(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    stream_id = await go_live_on_ivs(service, stand_in, channel)

    stopped = await gql(STOP, {"id": channel["id"]}, token=admin)

    assert stopped["data"]["stopBroadcast"]["state"] == "IDLE"
    assert stand_in.stream_of(channel["arn"]) is None
    late_end = ivs_event("ivs_stream_end", channel["arn"], stream_id, format_timestamp(utc_now()))
    assert apply_ivs_event(service.backend, late_end) == "noted: the channel is not LIVE with this stream"
    after = service.backend.channels.get_channel(channel["id"])
    assert after is not None and after.stats.total_broadcasts == 1 and after.stats.total_streaming_minutes < 1
    [session] = (await gql(SESSIONS, {"id": channel["id"]}, token=admin))["data"]["channel"]["sessions"]["edges"]
    assert session["node"]["endReason"] == "STOPPED_BY_ADMIN"


async def test_stop_broadcast_is_for_admins_and_only_on_a_live_channel(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)

    as_host = await gql(STOP, {"id": channel["id"]}, token=tokens.host("host-1"))
    not_live = await gql(STOP, {"id": channel["id"]}, token=admin)
    anonymous = await gql(STOP, {"id": channel["id"]})

    assert error_codes(as_host) == ["FORBIDDEN"]
    assert error_codes(not_live) == ["INVALID_STATE_TRANSITION"]
    assert not_live["errors"][0]["message"] == f"Channel '{channel['id']}' is IDLE, not LIVE: nothing to stop."
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


@pytest.mark.race
async def test_stop_broadcast_racing_stream_end_counts_the_broadcast_once(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    for _ in range(3):
        channel = await create(gql, admin, name=f"Race {_}")
        stream_id = await go_live_on_ivs(service, stand_in, channel)
        end = ivs_event("ivs_stream_end", channel["arn"], stream_id, format_timestamp(utc_now()))
        # stopBroadcast finds nothing to stop when the other ended the broadcast first.
        race(lambda: stop_broadcast(service.backend, ADMIN, channel["id"]), lambda: apply_ivs_event(service.backend, end),
             tolerated=(InvalidStateTransition,))

        after = service.backend.channels.get_channel(channel["id"])
        assert after is not None and after.state is ChannelState.IDLE and after.stats.total_broadcasts == 1
        edges = (await gql(SESSIONS, {"id": channel["id"]}, token=admin))["data"]["channel"]["sessions"]["edges"]
        assert len(edges) == 1 and edges[0]["node"]["endReason"] in ("STOPPED_BY_ADMIN", "STREAM_ENDED")
        assert edges[0]["node"]["durationMinutes"] == pytest.approx(after.stats.total_streaming_minutes)
    assert service.backend.capacity.read_capacity_counts().by_state[ChannelState.LIVE] == 0


# rotateStreamKey


async def test_rotate_replaces_the_key_everywhere_and_the_old_key_is_refused(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    host = tokens.host("host-1")

    rotated = await gql(ROTATE, {"id": channel["id"]}, token=host)

    new_key = rotated["data"]["rotateStreamKey"]["streamKey"]
    assert new_key and new_key != channel["streamKey"]
    assert ivs_keys(service, channel["arn"]) == [new_key]
    assert (await gql(queries.MY_CHANNEL, token=host))["data"]["myChannel"]["channel"]["streamKey"] == new_key
    assignment = service.backend.assignments.get_assignment("host-1")
    assert assignment is not None and assignment.stream_key == new_key
    with pytest.raises(PermissionError):
        stand_in.connect_encoder(channel["streamKey"])
    assert stand_in.connect_encoder(new_key) == channel["arn"]


async def test_rotate_is_refused_while_live_and_for_other_hosts(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    other = await gql(ROTATE, {"id": channel["id"]}, token=tokens.host("host-2"))
    await set_state(gql, admin, channel["id"], "LIVE")

    live = await gql(ROTATE, {"id": channel["id"]}, token=admin)

    assert error_codes(other) == ["FORBIDDEN"]
    assert error_codes(live) == ["CONFLICT"]
    assert live["errors"][0]["message"] == (
        f"Channel '{channel['id']}' is LIVE; stop the broadcast before rotating its stream key."
    )
    assert await channel_key(gql, admin, channel["id"]) == channel["streamKey"]


@pytest.mark.race
async def test_rotate_racing_rotate_leaves_one_key_that_the_records_hold(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)

    results = await asyncio.gather(*(gql(ROTATE, {"id": channel["id"]}, token=admin) for _ in range(4)))

    codes = [error_codes(result) for result in results]
    assert all(c in ([], ["CONFLICT"]) for c in codes) and [] in codes
    [ivs_key] = ivs_keys(service, channel["arn"])
    assert await channel_key(gql, admin, channel["id"]) == ivs_key
    assignment = service.backend.assignments.get_assignment("host-1")
    assert assignment is not None and assignment.stream_key == ivs_key


@pytest.mark.parametrize(("client", "operation", "on_call"), [
    ("ivs", "ListStreamKeys", 1),
    ("ivs", "DeleteStreamKey", 1),
    ("ivs", "CreateStreamKey", 1),
    ("dynamodb", "TransactWriteItems", 2),  # the final write (the first takes the lease)
])
async def test_rotate_failing_at_each_step_leaves_no_dead_key_and_a_retry_converges(
    gql: GraphQLClient, admin: str, service: Service, client: str, operation: str, on_call: int
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)

    with Fault(getattr(service.clients, client), operation, "InternalServerException", on_calls={on_call}):
        failed = await gql(ROTATE, {"id": channel["id"]}, token=admin)

    assert error_codes(failed) == ["UPSTREAM_ERROR"]
    record_key = await channel_key(gql, admin, channel["id"])
    assert record_key is None or record_key in ivs_keys(service, channel["arn"])
    retried = await gql(ROTATE, {"id": channel["id"]}, token=admin)
    assert error_codes(retried) == []
    [ivs_key] = ivs_keys(service, channel["arn"])
    assert retried["data"]["rotateStreamKey"]["streamKey"] == ivs_key
    assert await channel_key(gql, admin, channel["id"]) == ivs_key


@pytest.mark.usefixtures("aws_connection")  # reconciles the account against the table (docs/testing.md, "Fixtures")
async def test_an_interrupted_rotation_is_repaired_by_reconcile_after_its_lease_expires(
    gql: GraphQLClient, admin: str, service: Service, settings: Any
) -> None:
    channel = await create(gql, admin)
    record = service.backend.channels.get_channel(channel["id"])
    assert record is not None
    # A crash right after step 1: lease taken, key cleared, nothing else.
    StreamKeyRecords(service.table).begin_key_change(record, (), "crashed", service.backend.clock())
    for key in service.backend.ivs.list_stream_keys(channel["arn"]):
        service.backend.ivs.delete_stream_key(key.arn)

    early = reconcile(service.backend, settings.entity_index, apply=True)
    later = dataclasses.replace(service.backend, clock=lambda: service.backend.clock() + timedelta(minutes=2))
    repaired = reconcile(later, settings.entity_index, apply=True)

    assert [f.kind for f in early.findings] == []  # the change is still in progress: left alone
    assert [f.kind for f in repaired.findings] == ["stream-key-mismatch"] and repaired.repaired
    [ivs_key] = ivs_keys(service, channel["arn"])
    assert await channel_key(gql, admin, channel["id"]) == ivs_key
    assert reconcile(later, settings.entity_index, apply=False).consistent


# OFFLINE takes the channel off the air


async def test_offline_stops_the_stream_and_leaves_no_key_and_idle_issues_a_new_one(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service, stand_in: LocalIvsStreamsStandIn
) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "host-1"}, token=admin)
    await go_live_on_ivs(service, stand_in, channel)

    offline = await set_state(gql, admin, channel["id"], "OFFLINE")

    assert offline["state"] == "OFFLINE" and offline["streamKey"] is None
    assert stand_in.stream_of(channel["arn"]) is None
    assert ivs_keys(service, channel["arn"]) == []
    with pytest.raises(PermissionError):
        stand_in.connect_encoder(channel["streamKey"])
    assignment = service.backend.assignments.get_assignment("host-1")
    assert assignment is not None and assignment.stream_key is None

    idle = await set_state(gql, admin, channel["id"], "IDLE")

    assert idle["state"] == "IDLE" and idle["streamKey"] and idle["streamKey"] != channel["streamKey"]
    assert ivs_keys(service, channel["arn"]) == [idle["streamKey"]]
    host_view = await gql(queries.MY_CHANNEL, token=tokens.host("host-1"))
    assert host_view["data"]["myChannel"]["channel"]["streamKey"] == idle["streamKey"]
    assert stand_in.connect_encoder(idle["streamKey"]) == channel["arn"]
    [session] = (await gql(SESSIONS, {"id": channel["id"]}, token=admin))["data"]["channel"]["sessions"]["edges"]
    assert session["node"]["endReason"] == "ENDED_BY_CALLER"


@pytest.mark.parametrize(("operation", "on_call"), [("StopStream", 1), ("ListStreamKeys", 1), ("DeleteStreamKey", 1)])
async def test_entering_offline_failing_at_each_step_then_a_retry_converges(
    gql: GraphQLClient, admin: str, service: Service, stand_in: LocalIvsStreamsStandIn, operation: str, on_call: int
) -> None:
    channel = await create(gql, admin)

    with Fault(service.clients.ivs, operation, "ThrottlingException", status=429, on_calls={on_call}):
        failed = await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "OFFLINE"}, token=admin)

    assert error_codes(failed) == ["UPSTREAM_ERROR"]
    record_key = await channel_key(gql, admin, channel["id"])
    assert record_key is None or record_key in ivs_keys(service, channel["arn"])
    assert (await set_state(gql, admin, channel["id"], "OFFLINE"))["state"] == "OFFLINE"
    assert ivs_keys(service, channel["arn"]) == []


@pytest.mark.parametrize(("client", "operation", "on_call"), [
    ("ivs", "CreateStreamKey", 1),
    ("dynamodb", "TransactWriteItems", 2),
])
async def test_leaving_offline_failing_at_each_step_then_a_retry_converges(
    gql: GraphQLClient, admin: str, service: Service, client: str, operation: str, on_call: int
) -> None:
    channel = await create(gql, admin)
    await set_state(gql, admin, channel["id"], "OFFLINE")

    with Fault(getattr(service.clients, client), operation, "InternalServerException", on_calls={on_call}):
        failed = await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "IDLE"}, token=admin)

    assert error_codes(failed) == ["UPSTREAM_ERROR"]
    assert (await gql(KEY, {"id": channel["id"]}, token=admin))["data"]["channel"] == {"streamKey": None,
                                                                                        "state": "OFFLINE"}
    idle = await set_state(gql, admin, channel["id"], "IDLE")
    assert ivs_keys(service, channel["arn"]) == [idle["streamKey"]]


@pytest.mark.race
async def test_assign_racing_rotate_never_leaves_an_assignment_with_a_dead_key(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    for n in range(4):
        channel = await create(gql, admin, name=f"Assign race {n}", assignmentModel="SHARED")
        results = await asyncio.gather(
            gql(ROTATE, {"id": channel["id"]}, token=admin),
            gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": f"host-{n}"}, token=admin),
        )
        assert all(error_codes(result) in ([], ["CONFLICT"]) for result in results)
        [ivs_key] = ivs_keys(service, channel["arn"])
        assignment = service.backend.assignments.get_assignment(f"host-{n}")
        assert assignment is None or assignment.stream_key in (ivs_key, None)
        if assignment is not None and assignment.stream_key is None:
            # Assigned while the key was cleared: the rotation's write gave it the key, or reconcile does.
            assert await channel_key(gql, admin, channel["id"]) in (ivs_key, None)
