"""The storage tests' table: its names, and channels put in it as the service's create does
(reserve a slot, then save the record)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from data.dynamo import DynamoTable
from data.ivs import IvsGateway
from domain.model import Channel
from services.backend import ChannelsBackend
from tests.unit.builders import CREATED_AT, make_channel

ENTITY_INDEX = "entityType-index"
STUBBED_TABLE = "shelcaster-app"
ROOMY_LIMIT = 1000


def stores_of(table: DynamoTable) -> ChannelsBackend:
    """The stores on `table`, as the service's backend exposes them (its IVS door unused here)."""
    return ChannelsBackend(table=table, ivs=IvsGateway(None), channel_limit=ROOMY_LIMIT, recording_configuration_arn=None)


def store_channel(stores: ChannelsBackend, **overrides: Any) -> Channel:
    """Create a channel record (with a fresh id unless given) and return the channel."""
    channel = make_channel(**{"id": str(uuid.uuid4()), **overrides})
    stores.capacity.reserve_channel_slot(channel.id, ROOMY_LIMIT, channel.created_at, None)
    stores.channels.save_new_channel(channel, None)
    return channel


def store_channels(stores: ChannelsBackend, count: int) -> list[Channel]:
    """`count` channels created one second apart, oldest first."""
    return [
        store_channel(stores, name=f"Show {n}", created_at=CREATED_AT + timedelta(seconds=n),
                      updated_at=CREATED_AT + timedelta(seconds=n))
        for n in range(count)
    ]
