"""GraphQL types of live streams (docs/live-streams.md, contract/schema-draft2.graphql): what IVS is
streaming on a channel now, and its broadcasts as sessions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain import sessions as session_values
from data.ivs import IvsStream
from schema.types import Recording


@strawberry.enum
class StreamHealth(Enum):
    HEALTHY = "HEALTHY"
    STARVING = "STARVING"
    UNKNOWN = "UNKNOWN"


@strawberry.enum
class SessionEndReason(Enum):
    """The domain's SessionEndReason, with the contract's description of each value."""

    ENDED_BY_CALLER = strawberry.enum_value("ENDED_BY_CALLER", description="Set IDLE or OFFLINE through setChannelState.")
    STREAM_ENDED = strawberry.enum_value("STREAM_ENDED", description="IVS reported the stream's end.")
    STOPPED_BY_ADMIN = strawberry.enum_value("STOPPED_BY_ADMIN", description="An admin's stopBroadcast.")
    LOST = strawberry.enum_value(
        "LOST", description="The live-state check found IVS no longer receiving the stream."
    )


@strawberry.type(description="The broadcast IVS is receiving on a channel right now.")
class LiveStream:
    stream_id: strawberry.ID = strawberry.field(description="IVS's stream id.")
    started_at: datetime
    health: StreamHealth
    viewer_count: int = strawberry.field(description="Concurrent viewers, as IVS last counted them.")

    @classmethod
    def of(cls, stream: IvsStream) -> LiveStream:
        health = stream.health if stream.health in ("HEALTHY", "STARVING") else "UNKNOWN"
        return cls(
            stream_id=strawberry.ID(stream.stream_id),
            started_at=stream.started_at,
            health=StreamHealth(health),
            viewer_count=stream.viewer_count,
        )


@strawberry.type(description="One broadcast on a channel, from going LIVE to leaving LIVE.")
class StreamSession:
    session_id: strawberry.ID = strawberry.field(
        description="The channel's currentSessionId while this broadcast was LIVE."
    )
    stream_id: strawberry.ID | None = strawberry.field(description="IVS's stream id, once IVS reported the stream.")
    started_at: datetime
    ended_at: datetime | None = strawberry.field(description="Null while the broadcast is LIVE.")
    duration_minutes: float | None
    host_user_id: strawberry.ID | None = strawberry.field(
        description="The host who broadcast (null when unknown, e.g. an older record)."
    )
    end_reason: SessionEndReason | None
    recording: Recording | None = strawberry.field(description="The recording of this broadcast, once IVS reported it.")
    slot_id: strawberry.ID | None = strawberry.field(
        description="The slot this broadcast started in, on a scheduled SHARED channel."
    )

    @classmethod
    def of(cls, session: session_values.StreamSession) -> StreamSession:
        return cls(
            session_id=strawberry.ID(session.session_id),
            stream_id=strawberry.ID(session.stream_id) if session.stream_id else None,
            started_at=session.started_at,
            ended_at=session.ended_at,
            duration_minutes=session.duration_minutes,
            host_user_id=strawberry.ID(session.host_user_id) if session.host_user_id else None,
            end_reason=SessionEndReason(session.end_reason.value) if session.end_reason else None,
            recording=Recording.of(session.recording) if session.recording else None,
            slot_id=strawberry.ID(session.slot_id) if session.slot_id else None,
        )
