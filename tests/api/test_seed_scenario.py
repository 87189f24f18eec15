"""The seed's eleven automated tests (test-persistent-channels.ps1), through GraphQL over HTTP."""

from __future__ import annotations

import re
import uuid

from tests.api import queries
from tests.support import GraphQLClient, TokenFactory

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_seed_scenario_end_to_end(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    host_id = f"host-{uuid.uuid4().hex[:6]}"
    host = tokens.host(host_id)

    # 1. Get channel capacity
    capacity = (await gql(queries.CAPACITY, token=admin))["data"]["capacity"]
    assert capacity == {
        "limit": 20, "used": 0, "available": 20, "utilizationPercent": 0.0,
        "byState": {"idle": 0, "live": 0, "offline": 0},
    }

    # 2. Create a new channel
    created = (await gql(queries.CREATE, {"input": {"name": "  Morning Show  "}}, token=admin))["data"]["createChannel"]
    channel_id = created["id"]
    assert uuid.UUID(channel_id)
    assert created["name"] == "Morning Show"
    assert created["state"] == "IDLE"
    assert (created["type"], created["latencyMode"], created["assignmentModel"]) == ("STANDARD", "LOW", "HOST_OWNED")
    assert created["arn"].startswith("arn:aws:ivs:us-east-1:")
    assert created["playbackUrl"].endswith(".m3u8")
    assert created["ingestUrl"] == f"rtmps://{created['ingestEndpoint']}:443/app/"
    assert created["streamKey"].startswith("sk_")
    assert ISO_MS.match(created["createdAt"]) and created["createdAt"] == created["updatedAt"]
    assert created["stats"] == {"totalBroadcasts": 0, "totalStreamingMinutes": 0.0, "lastBroadcastAt": None}
    assert created["assignments"] == []

    # 3. List all channels
    listed = (await gql(queries.CHANNELS, token=admin))["data"]["channels"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [channel_id]
    assert listed["pageInfo"]["hasNextPage"] is False

    # 4. Filter channels by state
    idle = (await gql(queries.CHANNELS, {"state": "IDLE"}, token=admin))["data"]["channels"]["edges"]
    live = (await gql(queries.CHANNELS, {"state": "LIVE"}, token=admin))["data"]["channels"]["edges"]
    assert [edge["node"]["id"] for edge in idle] == [channel_id]
    assert live == []

    # 5. Get channel statistics
    stats = (await gql(queries.CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]["stats"]
    assert stats == {"totalBroadcasts": 0, "totalStreamingMinutes": 0.0, "lastBroadcastAt": None}

    # 6. Assign channel to host
    assigned = (await gql(queries.ASSIGN, {"channelId": channel_id, "hostUserId": host_id}, token=admin))["data"]
    assert assigned["assignChannel"]["hostUserId"] == host_id
    assert assigned["assignChannel"]["assignedBy"] == "admin-1"
    assert assigned["assignChannel"]["channel"]["id"] == channel_id

    # 7. Get host's assigned channel (as the admin, and as the host itself)
    by_admin = (await gql(queries.HOST_CHANNEL, {"hostUserId": host_id}, token=admin))["data"]["hostChannel"]
    mine = (await gql(queries.MY_CHANNEL, token=host))["data"]["myChannel"]
    assert by_admin["channel"]["playbackUrl"] == created["playbackUrl"]
    assert mine["channel"] == {"id": channel_id, "name": "Morning Show", "streamKey": created["streamKey"], "state": "IDLE"}

    # 8. Update state to LIVE (the host goes live on its own channel)
    went_live = (await gql(queries.SET_STATE, {"channelId": channel_id, "state": "LIVE", "sessionId": "s-1"}, token=host))
    channel = went_live["data"]["setChannelState"]
    assert channel["state"] == "LIVE" and channel["currentSessionId"] == "s-1"
    assert channel["stats"]["totalBroadcasts"] == 1
    assert channel["liveSince"] == channel["stats"]["lastBroadcastAt"] == channel["updatedAt"]
    assert [e["node"]["id"] for e in (await gql(queries.CHANNELS, {"state": "LIVE"}, token=admin))["data"]["channels"]["edges"]] == [channel_id]

    # 9. Update state back to IDLE
    idle_again = (await gql(queries.SET_STATE, {"channelId": channel_id, "state": "IDLE"}, token=host))["data"]["setChannelState"]
    assert idle_again["state"] == "IDLE"
    assert idle_again["currentSessionId"] is None and idle_again["liveSince"] is None
    assert idle_again["stats"]["totalBroadcasts"] == 1
    assert idle_again["stats"]["totalStreamingMinutes"] >= 0.0
    assert idle_again["stats"]["lastBroadcastAt"] == channel["liveSince"]
    capacity = (await gql(queries.CAPACITY, token=admin))["data"]["capacity"]
    assert capacity == {
        "limit": 20, "used": 1, "available": 19, "utilizationPercent": 5.0,
        "byState": {"idle": 1, "live": 0, "offline": 0},
    }

    # 10. Unassign channel
    removed = (await gql(queries.UNASSIGN, {"channelId": channel_id, "hostUserId": host_id}, token=admin))["data"]
    assert removed["unassignChannel"]["hostUserId"] == host_id
    assert removed["unassignChannel"]["assignedAt"] == assigned["assignChannel"]["assignedAt"]

    # 11. Verify unassignment (the old API's 404 is null)
    after = await gql(queries.HOST_CHANNEL, {"hostUserId": host_id}, token=admin)
    assert after == {"data": {"hostChannel": None}}
    assert (await gql(queries.CHANNEL, {"id": channel_id}, token=admin))["data"]["channel"]["assignments"] == []
