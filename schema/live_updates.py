"""The GraphQL types of live updates (CONTRACT.md section 13; contract/schema-draft3.graphql)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain import channel_events as rules
from schema.channel_requests import ChannelRequest
from schema.types import Channel
from services import live_updates


@strawberry.enum
class ChannelEventKind(Enum):
    """The domain's ChannelEventKind, with the contract's description of STREAM."""

    CREATED = "CREATED"
    STATE_CHANGED = "STATE_CHANGED"
    ASSIGNMENTS_CHANGED = "ASSIGNMENTS_CHANGED"
    STREAM_KEY_CHANGED = "STREAM_KEY_CHANGED"
    SESSION_STARTED = "SESSION_STARTED"
    SESSION_ENDED = "SESSION_ENDED"
    STREAM = strawberry.enum_value("STREAM", description="The viewer count or health IVS reports changed.")
    SCHEDULE_CHANGED = "SCHEDULE_CHANGED"
    DELETED = "DELETED"


strawberry.enum(rules.ChannelRequestEventKind, name="ChannelRequestEventKind")
ChannelRequestEventKind = rules.ChannelRequestEventKind


@strawberry.type
class ChannelEvent:
    kind: ChannelEventKind
    channel_id: strawberry.ID
    at: datetime
    channel: Channel | None = strawberry.field(description="The channel as it is after the change; null once DELETED.")

    @classmethod
    def of(cls, event: live_updates.ChannelEvent) -> ChannelEvent:
        return cls(
            kind=ChannelEventKind(event.kind.value),
            channel_id=strawberry.ID(event.channel_id),
            at=event.at,
            channel=Channel.of(event.channel) if event.channel is not None else None,
        )


@strawberry.type
class ChannelRequestEvent:
    kind: ChannelRequestEventKind
    at: datetime
    request: ChannelRequest

    @classmethod
    def of(cls, event: live_updates.ChannelRequestEvent) -> ChannelRequestEvent:
        return cls(kind=event.kind, at=event.at, request=ChannelRequest.of(event.request))
