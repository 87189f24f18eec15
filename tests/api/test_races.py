"""Parallel requests against each invariant: DynamoDB's conditions and transactions must hold them.

The requests run concurrently through the ASGI app; their boto3 calls run in parallel threads
against moto, which serialises each call as DynamoDB serialises conflicting writes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from app.bootstrap import Service
from tests.api import queries
from tests.api.test_errors import capacity, create, ivs_channel_count
from tests.support import GraphQLClient, TokenFactory, error_codes

# These tests count the account's IVS channels (or reconcile it against the table): an empty account each
# (docs/testing.md, "Fixtures").
pytestmark = [pytest.mark.race, pytest.mark.usefixtures("aws_connection")]


def outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(error_codes(result)[0] if result.get("errors") else "OK" for result in results)


@pytest.mark.parametrize("settings", [{"limit": 5}], indirect=True)
async def test_parallel_creates_never_exceed_the_limit(gql: GraphQLClient, admin: str, service: Service) -> None:
    results = await asyncio.gather(
        *(gql(queries.CREATE, {"input": {"name": f"Channel {n}"}}, token=admin) for n in range(30))
    )
    assert outcomes(results) == {"OK": 5, "CAPACITY_EXCEEDED": 25}
    assert ivs_channel_count(service) == 5
    listed = (await gql(queries.CHANNELS, {"first": 100}, token=admin))["data"]["channels"]["edges"]
    assert len(listed) == 5
    assert (await capacity(gql, admin))["used"] == 5


async def test_parallel_creates_with_one_idempotency_key_make_one_channel(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    results = await asyncio.gather(
        *(gql(queries.CREATE, {"input": {"name": "Once", "idempotencyKey": "same-key"}}, token=admin) for _ in range(10))
    )
    assert outcomes(results) == {"OK": 10}
    assert len({result["data"]["createChannel"]["id"] for result in results}) == 1
    assert ivs_channel_count(service) == 1
    assert (await capacity(gql, admin))["used"] == 1


async def test_parallel_hosts_on_one_host_owned_channel_get_one_assignment(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    results = await asyncio.gather(
        *(gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": f"h{n}"}, token=admin) for n in range(10))
    )
    assert outcomes(results) == {"OK": 1, "CONFLICT": 9}
    winner = next(r["data"]["assignChannel"]["hostUserId"] for r in results if not r.get("errors"))
    assignments = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]["assignments"]
    assert [a["hostUserId"] for a in assignments] == [winner]


async def test_one_host_assigned_to_many_channels_in_parallel_gets_one(gql: GraphQLClient, admin: str) -> None:
    channels = [await create(gql, admin, name=f"C{n}") for n in range(8)]
    results = await asyncio.gather(
        *(gql(queries.ASSIGN, {"channelId": c["id"], "hostUserId": "solo"}, token=admin) for c in channels)
    )
    assert outcomes(results) == {"OK": 1, "CONFLICT": 7}
    holding = [c for c in channels if (await gql(queries.CHANNEL, {"id": c["id"]}, token=admin))["data"]["channel"]["assignments"]]
    assert len(holding) == 1


async def test_parallel_go_live_counts_one_broadcast(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    channel = await create(gql, admin)
    await gql(queries.ASSIGN, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin)
    host = tokens.host("h1")
    results = await asyncio.gather(
        *(gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE"}, token=host) for _ in range(10))
    )
    # Without a session id, the requests that lose the race find the channel LIVE: a no-op.
    assert outcomes(results) == {"OK": 10}
    assert len({r["data"]["setChannelState"]["currentSessionId"] for r in results}) == 1
    after = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]
    assert after["stats"]["totalBroadcasts"] == 1
    assert (await capacity(gql, admin))["byState"] == {"idle": 0, "live": 1, "offline": 0}


async def test_parallel_sessions_going_live_one_wins_the_rest_conflict(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    results = await asyncio.gather(
        *(
            gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE", "sessionId": f"s{n}"}, token=admin)
            for n in range(10)
        )
    )
    assert outcomes(results) == {"OK": 1, "CONFLICT": 9}
    after = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]
    assert after["stats"]["totalBroadcasts"] == 1


async def test_parallel_end_of_broadcast_adds_its_minutes_once(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin)
    await gql(queries.SET_STATE, {"channelId": channel["id"], "state": "LIVE"}, token=admin)
    await asyncio.sleep(0.6)  # 0.01 minutes
    results = await asyncio.gather(
        *(gql(queries.SET_STATE, {"channelId": channel["id"], "state": "IDLE"}, token=admin) for _ in range(10))
    )
    assert outcomes(results) == {"OK": 10}
    minutes = {r["data"]["setChannelState"]["stats"]["totalStreamingMinutes"] for r in results}
    assert len(minutes) == 1  # every answer reports the one write that happened
    stored = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]["stats"]
    assert stored["totalStreamingMinutes"] == minutes.pop()
    assert 0.01 <= stored["totalStreamingMinutes"] < 0.1
    assert (await capacity(gql, admin))["byState"] == {"idle": 1, "live": 0, "offline": 0}


async def test_parallel_mixed_state_changes_keep_counters_exact(gql: GraphQLClient, admin: str) -> None:
    channel = await create(gql, admin, assignmentModel="SHARED")
    targets = ["LIVE", "IDLE", "OFFLINE", "IDLE", "LIVE", "OFFLINE"] * 5
    await asyncio.gather(
        *(gql(queries.SET_STATE, {"channelId": channel["id"], "state": t}, token=admin) for t in targets)
    )
    final = (await gql(queries.CHANNEL, {"id": channel["id"]}, token=admin))["data"]["channel"]["state"]
    by_state = (await capacity(gql, admin))["byState"]
    assert by_state == {"idle": int(final == "IDLE"), "live": int(final == "LIVE"), "offline": int(final == "OFFLINE")}


async def test_parallel_assign_and_unassign_keep_the_channel_and_host_records_in_step(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    channel = await create(gql, admin)
    operations = [queries.ASSIGN, queries.UNASSIGN] * 10
    await asyncio.gather(
        *(gql(op, {"channelId": channel["id"], "hostUserId": "h1"}, token=admin) for op in operations)
    )
    # The channel record's host set and the host's assignment record agree, whichever request won last.
    stored = service.backend.channels.get_channel(channel["id"])
    held = service.backend.assignments.get_assignment("h1")
    assert stored is not None
    assert stored.assigned_host_ids == (frozenset({"h1"}) if held else frozenset())
