"""What the benchmark sends and the table it sends it to: the admin and host UIs' documents, and channel
and assignment records written straight to the table (10,000 for part 2: through the API each would
also create an IVS channel) by the service's own mapping (`data.records`), in the shapes it writes.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from data.clients import AwsConnection, build_clients
from data.dynamo import DynamoTable, to_dynamo
from data.records import assignment_item, new_channel_item
from data.stream_keys import StreamKeyCipher
from data.table import COUNTER_ENTITY, COUNTER_KEY
from domain.clock import format_timestamp
from domain.model import Assignment, AssignmentModel, Channel, ChannelState, ChannelStats, ChannelType, LatencyMode

CHANNEL_FIELDS = (
    "id arn name type latencyMode assignmentModel playbackUrl ingestEndpoint ingestUrl streamKey state"
    " recordingEnabled recordingConfigurationArn currentSessionId liveSince createdAt updatedAt"
    " stats { totalBroadcasts totalStreamingMinutes lastBroadcastAt }"
)
ASSIGNMENT_FIELDS = "hostUserId channelId assignedAt assignedBy"
CHANNEL = "query Channel($id: ID!) { channel(id: $id) { " + CHANNEL_FIELDS + " } }"
# A page of the admin UI's channel list: every channel with its stats and its hosts.
PAGE = (
    "query Channels($state: ChannelState, $first: Int!, $after: String) {"
    " channels(state: $state, first: $first, after: $after) {"
    " edges { cursor node { " + CHANNEL_FIELDS + " assignments { " + ASSIGNMENT_FIELDS + " } } }"
    " pageInfo { hasNextPage endCursor } } }"
)
# Channel.stream (docs/live-streams.md): what IVS streams on each channel of the page.
PAGE_WITH_STREAM = (
    "query ChannelsWithStream($first: Int!) { channels(first: $first) {"
    " edges { node { " + CHANNEL_FIELDS + " stream { streamId startedAt health viewerCount } } } } }"
)
# The list view (of one state: the admin UI's LIVE tab), and a page of every field the channel record
# holds (no assignments, stream or sessions: those read other records or IVS).
LIST_VIEW = (
    "query ListView($state: ChannelState, $first: Int!) {"
    " channels(state: $state, first: $first) { edges { node { id name state } } } }"
)
RECORD_FIELDS_PAGE = (
    "query RecordFields($first: Int!) { channels(first: $first) { edges { cursor node { " + CHANNEL_FIELDS
    + " lastRecording { status s3BucketName s3KeyPrefix durationMs at } } } pageInfo { hasNextPage endCursor } } }"
)
CAPACITY = "query Capacity { capacity { limit used available utilizationPercent byState { idle live offline } } }"
HOST_CHANNEL = (
    "query HostChannel($hostUserId: ID!) { hostChannel(hostUserId: $hostUserId) {"
    " " + ASSIGNMENT_FIELDS + " channel { " + CHANNEL_FIELDS + " } } }"
)
ASSIGN = ("mutation Assign($channelId: ID!, $hostUserId: ID!) {"
          " assignChannel(channelId: $channelId, hostUserId: $hostUserId) { " + ASSIGNMENT_FIELDS + " } }")
# As the README's walkthrough asks: the assignment with its channel's name.
ASSIGN_WITH_CHANNEL = ("mutation Assign($channelId: ID!, $hostUserId: ID!) {"
                       " assignChannel(channelId: $channelId, hostUserId: $hostUserId) { hostUserId assignedAt channel { name } } }")
UNASSIGN = ("mutation Unassign($channelId: ID!, $hostUserId: ID!) {"
            " unassignChannel(channelId: $channelId, hostUserId: $hostUserId) { " + ASSIGNMENT_FIELDS + " } }")
SET_STATE = ("mutation SetState($channelId: ID!, $state: ChannelState!) {"
             " setChannelState(channelId: $channelId, state: $state) { state currentSessionId liveSince stats { totalBroadcasts } } }")

CHANNELS = 100  # the seeded table: the newest 20 channels carry 24 hosts, all 100 carry 100
NEWEST_PAGE = 20
BATCH_WRITE_MAX_ITEMS = 25  # DynamoDB's limit per BatchWriteItem request
REGION = "us-east-1"
ACCOUNT = "123456789012"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # channel n was created n seconds after: distinct `createdAt`
Seal = Callable[[str, str], str]  # (channel id, stream key) -> the sealed stream key


@dataclass(frozen=True)
class Request:
    """One GraphQL request of a figure, as the admin sends it."""

    name: str
    query: str
    variables: dict[str, Any]

    @property
    def body(self) -> bytes:
        return json.dumps({"query": self.query, "variables": self.variables}).encode()


def bench_channel(number: int, state: ChannelState, hosts: Sequence[str] = (), seal: Seal | None = None) -> Channel:
    """Channel number `number`, shaped as IVS and the service would have made it; its stream key sealed
    with `seal` when the service encrypts stream keys at rest."""
    channel_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"shelcaster-bench/channel/{number}"))
    suffix = channel_id.replace("-", "")[:12]
    created_at = EPOCH + timedelta(seconds=number)
    live = state is ChannelState.LIVE
    stream_key = f"sk_{REGION}_{suffix}{suffix}"
    return Channel(
        id=channel_id, arn=f"arn:aws:ivs:{REGION}:{ACCOUNT}:channel/{suffix}", name=f"Bench channel {number}",
        type=ChannelType.STANDARD, latency_mode=LatencyMode.LOW,
        assignment_model=AssignmentModel.SHARED if len(hosts) > 1 else AssignmentModel.HOST_OWNED,
        playback_url=f"https://{suffix}.{REGION}.playback.live-video.net/api/video/v1/{REGION}.{ACCOUNT}.channel.{suffix}.m3u8",
        ingest_endpoint=f"{suffix}.global-contribute.live-video.net",
        stream_key=None if seal else stream_key, state=state, recording_configuration_arn=None,
        current_session_id=f"session-{number}" if live else None,
        live_since=created_at + timedelta(hours=1) if live else None,
        stats=ChannelStats(total_broadcasts=number % 7, total_streaming_minutes=float(number % 7 * 45),
                           last_broadcast_at=created_at + timedelta(hours=1) if number % 7 else None),
        created_at=created_at, updated_at=created_at + timedelta(hours=1), assigned_host_ids=frozenset(hosts),
        sealed_stream_key=seal(channel_id, stream_key) if seal else None,
    )


def hosts_of(number: int) -> tuple[str, ...]:
    """The newest 20 channels carry 24 hosts (four SHARED with a guest), the older 80 carry 76 (four have
    none), so a page of all 100 channels carries exactly 100 assignments, BatchGetItem's limit per call."""
    if number >= CHANNELS - NEWEST_PAGE:
        return (f"host-{number}", f"guest-{number}") if number % 5 == 0 else (f"host-{number}",)
    return () if number % 20 == 0 else (f"host-{number}",)


def state_of(number: int) -> ChannelState:
    if number in {85, 93, 97}:
        return ChannelState.LIVE
    return ChannelState.OFFLINE if number % 13 == 0 else ChannelState.IDLE


def seeded_channels(seal: Seal | None = None) -> list[Channel]:
    """The 100 channels of parts 1 and 3b and of the side-by-side run."""
    return [bench_channel(number, state_of(number), hosts_of(number), seal) for number in range(CHANNELS)]


def growing_channels(size: int, live: int, seal: Seal | None = None) -> list[Channel]:
    """`size` channels, `live` of them LIVE at even intervals, one in ten OFFLINE, the rest IDLE."""
    every = size // live

    def state(number: int) -> ChannelState:
        if number % every == every // 2:
            return ChannelState.LIVE
        return ChannelState.OFFLINE if number % 10 == 3 else ChannelState.IDLE

    return [bench_channel(number, state(number), seal=seal) for number in range(size)]


def records(channel: Channel) -> list[dict[str, Any]]:
    """The channel's record as the service leaves it (`new_channel_item`, plus what setChannelState and
    assignChannel add), and its hosts' assignments."""
    item = new_channel_item(channel)
    if channel.live_since is not None:
        item["liveSince"] = format_timestamp(channel.live_since)
    if channel.assigned_host_ids:
        item["assignedHostIds"] = set(channel.assigned_host_ids)
    return [item, *(assignment_item(Assignment(
        host_user_id=host, channel_id=channel.id, channel_arn=channel.arn, playback_url=channel.playback_url,
        ingest_endpoint=channel.ingest_endpoint, stream_key=channel.stream_key,
        assigned_at=channel.created_at + timedelta(minutes=5), assigned_by="bench-admin",
        sealed_stream_key=channel.sealed_stream_key)) for host in sorted(channel.assigned_host_ids))]


def seed(connection: AwsConnection, table_name: str, kms_key_id: str | None,
         channels: Callable[[Seal | None], list[Channel]]) -> list[Channel]:
    """Write `channels` (stream keys sealed with the service's KMS key, by a cipher of its own, so that the
    service's cache of data keys stays as cold as in a fresh process) with BatchWriteItem, 25 a call, and
    the capacity counter as provisioning counts them."""
    clients = build_clients(connection)
    table = DynamoTable(clients.dynamodb, table_name)
    written = channels(StreamKeyCipher(clients.kms, kms_key_id, table).seal if kms_key_id else None)
    pending = [{"PutRequest": {"Item": to_dynamo(item)}} for channel in written for item in records(channel)]
    while pending:
        request: dict[str, Any] = {table_name: pending[:BATCH_WRITE_MAX_ITEMS]}
        pending = pending[BATCH_WRITE_MAX_ITEMS:]
        while request:
            request = clients.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    states = Counter(channel.state for channel in written)
    clients.dynamodb.put_item(TableName=table_name, Item=to_dynamo({
        **COUNTER_KEY, "entityType": COUNTER_ENTITY, "used": len(written), "idle": states[ChannelState.IDLE],
        "live": states[ChannelState.LIVE], "offline": states[ChannelState.OFFLINE]}))
    return written
