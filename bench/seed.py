"""Channel and assignment records written straight to the table, in the exact shapes the service writes.

Many channels are needed (10,000 for the items-read figure); creating each through the API would also
create an IVS channel per record. The records come from the service's own mapping
(`data.records.new_channel_item`, `assignment_item`), so they are the records `createChannel` and
`assignChannel` leave behind.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from data.dynamo import DynamoTable, to_dynamo
from data.records import assignment_item, new_channel_item
from data.stream_keys import StreamKeyCipher
from domain.clock import format_timestamp
from data.table import COUNTER_ENTITY, COUNTER_KEY
from domain.model import (
    Assignment,
    AssignmentModel,
    Channel,
    ChannelState,
    ChannelStats,
    ChannelType,
    LatencyMode,
)

BATCH_WRITE_MAX_ITEMS = 25  # DynamoDB's limit per BatchWriteItem request
REGION = "us-east-1"
ACCOUNT = "123456789012"
# Channel n was created n seconds after this instant: distinct `createdAt`, the index sort key.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


Seal = Callable[[str, str], str]  # (channel id, stream key) -> the sealed stream key


def bench_channel(number: int, state: ChannelState, hosts: Sequence[str] = (), seal: Seal | None = None) -> Channel:
    """Channel number `number`, shaped as IVS and the service would have made it; its stream key
    sealed with `seal` when the service encrypts stream keys at rest."""
    channel_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"shelcaster-bench/channel/{number}"))
    suffix = channel_id.replace("-", "")[:12]
    created_at = EPOCH + timedelta(seconds=number)
    live = state is ChannelState.LIVE
    stream_key = f"sk_{REGION}_{suffix}{suffix}"
    return Channel(
        id=channel_id,
        arn=f"arn:aws:ivs:{REGION}:{ACCOUNT}:channel/{suffix}",
        name=f"Bench channel {number}",
        type=ChannelType.STANDARD,
        latency_mode=LatencyMode.LOW,
        assignment_model=AssignmentModel.SHARED if len(hosts) > 1 else AssignmentModel.HOST_OWNED,
        playback_url=f"https://{suffix}.{REGION}.playback.live-video.net/api/video/v1/{REGION}.{ACCOUNT}.channel.{suffix}.m3u8",
        ingest_endpoint=f"{suffix}.global-contribute.live-video.net",
        stream_key=None if seal else stream_key,
        state=state,
        recording_configuration_arn=None,
        current_session_id=f"session-{number}" if live else None,
        live_since=created_at + timedelta(hours=1) if live else None,
        stats=ChannelStats(
            total_broadcasts=number % 7,
            total_streaming_minutes=float(number % 7 * 45),
            last_broadcast_at=created_at + timedelta(hours=1) if number % 7 else None,
        ),
        created_at=created_at,
        updated_at=created_at + timedelta(hours=1),
        assigned_host_ids=frozenset(hosts),
        sealed_stream_key=seal(channel_id, stream_key) if seal else None,
    )


def channel_record(channel: Channel) -> dict[str, Any]:
    """The record of a channel as the service leaves it: `new_channel_item`, plus what setChannelState
    (`liveSince`) and assignChannel (`assignedHostIds`) add to it."""
    item = new_channel_item(channel)
    if channel.live_since is not None:
        item["liveSince"] = format_timestamp(channel.live_since)
    if channel.assigned_host_ids:
        item["assignedHostIds"] = set(channel.assigned_host_ids)
    return item


def assignment_records(channel: Channel) -> list[dict[str, Any]]:
    return [
        assignment_item(
            Assignment(
                host_user_id=host,
                channel_id=channel.id,
                channel_arn=channel.arn,
                playback_url=channel.playback_url,
                ingest_endpoint=channel.ingest_endpoint,
                stream_key=channel.stream_key,
                assigned_at=channel.created_at + timedelta(minutes=5),
                assigned_by="bench-admin",
                sealed_stream_key=channel.sealed_stream_key,
            )
        )
        for host in sorted(channel.assigned_host_ids)
    ]


def write_records(table: DynamoTable, items: Iterable[dict[str, Any]]) -> int:
    """Put `items` with BatchWriteItem, 25 per call; returns the number of calls."""
    pending = [{"PutRequest": {"Item": to_dynamo(item)}} for item in items]
    calls = 0
    while pending:
        request = {table.name: pending[:BATCH_WRITE_MAX_ITEMS]}
        pending = pending[BATCH_WRITE_MAX_ITEMS:]
        while request:
            response = table.client.batch_write_item(RequestItems=request)
            calls += 1
            request = response.get("UnprocessedItems") or {}
    return calls


def write_channels(table: DynamoTable, channels: Sequence[Channel]) -> int:
    """Write channels with their assignments; returns the number of BatchWriteItem calls."""
    items = [channel_record(channel) for channel in channels]
    items += [record for channel in channels for record in assignment_records(channel)]
    return write_records(table, items)


def set_capacity_counter(table: DynamoTable, channels: Iterable[Channel]) -> None:
    """Set the capacity counter item to what these channels add up to, as provisioning counts them."""
    states = Counter(channel.state for channel in channels)
    table.client.put_item(
        TableName=table.name,
        Item=to_dynamo(
            {
                **COUNTER_KEY,
                "entityType": COUNTER_ENTITY,
                "used": sum(states.values()),
                "idle": states[ChannelState.IDLE],
                "live": states[ChannelState.LIVE],
                "offline": states[ChannelState.OFFLINE],
            }
        ),
    )



def sealer(kms: Any, kms_key_id: str, table: DynamoTable) -> Seal:
    """Seals stream keys as the service does, with a cipher of its own, so that the service's cache of
    data keys stays as cold as in a freshly started process."""
    return StreamKeyCipher(kms, kms_key_id, table).seal
