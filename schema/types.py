"""The GraphQL object types, enums and inputs of the contract (contract/schema.graphql)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar, cast

import strawberry

from domain import model
from domain.capacity import Capacity as CapacityValue
from resolvers import channel_fields, channel_request_fields, slot_fields
from resolvers.channel_fields import MaybeAwaitable
from schema.connections import Connection, Edge
from schema.context import Info

if TYPE_CHECKING:
    from schema.slots import Slot
    from schema.streams import LiveStream, StreamSession

T = TypeVar("T")

# The domain's enums, exposed as they are (strawberry.enum registers them; the classes stay the same).
strawberry.enum(model.ChannelState, name="ChannelState")
strawberry.enum(model.ChannelType, name="ChannelType", description="The IVS channel type (quality / transcoding tier).")
strawberry.enum(model.LatencyMode, name="LatencyMode")
strawberry.enum(
    model.AssignmentModel,
    name="AssignmentModel",
    description="HOST_OWNED: at most one host (1:1). SHARED: several hosts (N:1).",
)
ChannelState = model.ChannelState
ChannelType = model.ChannelType
LatencyMode = model.LatencyMode
AssignmentModel = model.AssignmentModel


@strawberry.type
class ChannelStats:
    total_broadcasts: int
    total_streaming_minutes: float
    last_broadcast_at: datetime | None


@strawberry.type(description="A recording to S3, as IVS reported it.")
class Recording:
    status: str = strawberry.field(
        description="IVS's recording_status, e.g. 'Recording End' or 'Recording Start Failure'."
    )
    s3_bucket_name: str
    s3_key_prefix: str
    duration_ms: int | None
    at: datetime
    recording_session_id: strawberry.ID | None = strawberry.field(
        default=None, description="IVS's recording_session_id (one recording may merge reconnected streams)."
    )

    @classmethod
    def of(cls, recording: model.Recording) -> Recording:
        return cls(
            status=recording.status,
            s3_bucket_name=recording.s3_bucket_name,
            s3_key_prefix=recording.s3_key_prefix,
            duration_ms=recording.duration_ms,
            at=recording.at,
            recording_session_id=strawberry.ID(recording.recording_session_id) if recording.recording_session_id else None,
        )


def answered_as(resolver: Callable[..., MaybeAwaitable[T]]) -> Callable[..., T]:
    """`resolver`, typed for `strawberry.field` by what it answers: it returns the value, or an awaitable of
    it when I/O is needed (graphql-core awaits what is awaitable). The field's annotation is its GraphQL
    type (Strawberry prefers it over the resolver's), and Strawberry runs the resolver as a sync one."""
    return cast(Callable[..., T], resolver)


def _stream_key(root: Channel, info: Info) -> MaybeAwaitable[str | None]:
    return channel_fields.visible_stream_key(root.value, info.context)


def _assignments(root: Channel, info: Info) -> MaybeAwaitable[list[Assignment]]:
    found = channel_fields.assignments_of(root.value, info.context)
    if isinstance(found, list):
        return [Assignment.of(assignment) for assignment in found]
    return _assignments_once_loaded(found)


async def _assignments_once_loaded(loading: Awaitable[list[model.Assignment]]) -> list[Assignment]:
    return [Assignment.of(assignment) for assignment in await loading]


@strawberry.type
class Channel:
    id: strawberry.ID = strawberry.field(description="The channel's UUID (channelId in the table).")
    arn: str
    name: str
    type: ChannelType
    latency_mode: LatencyMode
    assignment_model: AssignmentModel
    playback_url: str = strawberry.field(description="Static HLS URL; the same for every broadcast.")
    ingest_endpoint: str
    ingest_url: str = strawberry.field(description="Ready-to-paste RTMPS server URL for broadcast software.")
    state: ChannelState
    recording_enabled: bool
    recording_configuration_arn: str | None
    current_session_id: str | None
    live_since: datetime | None
    stats: ChannelStats
    created_at: datetime
    updated_at: datetime
    last_recording: Recording | None = strawberry.field(
        description="Added by this service: the latest recording IVS reported (null until the first)."
    )
    value: strawberry.Private[model.Channel]

    # Resolved without awaiting when no I/O is needed (resolvers.channel_fields): the GraphQL type is
    # the annotation here; the resolver may return the value or an awaitable of it.
    stream_key: str | None = strawberry.field(
        resolver=answered_as(_stream_key), description="Null unless the caller is an admin or a host assigned to this channel."
    )
    assignments: list[Assignment] = strawberry.field(
        resolver=answered_as(_assignments), description="Hosts assigned to this channel (0 or 1 for HOST_OWNED)."
    )

    @strawberry.field(
        description=(
            "The broadcast IVS is receiving on this channel now; null when none. "
            "Null for callers who may not see the stream key."
        )
    )
    async def stream(self, info: Info) -> Annotated[LiveStream, strawberry.lazy("schema.streams")] | None:
        from schema.streams import LiveStream

        found = await channel_fields.live_stream_of(self.value, info.context)
        return LiveStream.of(found) if found is not None else None

    @strawberry.field(description="Past and current broadcasts, newest first. first: 1 to 100.")
    async def sessions(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Annotated[StreamSession, strawberry.lazy("schema.streams")]]:
        from schema.streams import StreamSession

        page = await channel_fields.sessions_of(self.value, info.context, first, after)
        if page is None:
            return Connection.of([], has_next_page=False)
        return Connection.of([Edge(cursor=cursor, node=StreamSession.of(found)) for found, cursor in page.sessions],
                             has_next_page=page.has_next_page)

    @strawberry.field(description=(
        "SHARED channels: slots overlapping [from, to) (default: from now, no end), earliest first, "
        "cancelled ones left out. first: 1 to 100."
    ))
    async def slots(
        self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, first: int = 50, after: str | None = None,
    ) -> Connection[Annotated[Slot, strawberry.lazy("schema.slots")]]:
        from schema.slots import page_of

        return page_of(await slot_fields.slots_of(self.value, info.context, from_, to, first, after))

    @strawberry.field(description="The slot covering now; null when none.")
    async def current_slot(self, info: Info) -> Annotated[Slot, strawberry.lazy("schema.slots")] | None:
        from schema.slots import Slot

        found = await slot_fields.current_slot_of(self.value, info.context)
        return Slot.of(found) if found is not None else None

    @classmethod
    def of(cls, channel: model.Channel) -> Channel:
        return cls(
            id=strawberry.ID(channel.id),
            arn=channel.arn,
            name=channel.name,
            type=channel.type,
            latency_mode=channel.latency_mode,
            assignment_model=channel.assignment_model,
            playback_url=channel.playback_url,
            ingest_endpoint=channel.ingest_endpoint,
            ingest_url=channel.ingest_url,
            state=channel.state,
            recording_enabled=channel.recording_enabled,
            recording_configuration_arn=channel.recording_configuration_arn,
            current_session_id=channel.current_session_id,
            live_since=channel.live_since,
            stats=ChannelStats(
                total_broadcasts=channel.stats.total_broadcasts,
                total_streaming_minutes=channel.stats.total_streaming_minutes,
                last_broadcast_at=channel.stats.last_broadcast_at,
            ),
            created_at=channel.created_at,
            updated_at=channel.updated_at,
            last_recording=Recording.of(channel.last_recording) if channel.last_recording else None,
            value=channel,
        )


@strawberry.type
class Assignment:
    host_user_id: strawberry.ID
    channel_id: strawberry.ID
    assigned_at: datetime
    assigned_by: strawberry.ID | None
    value: strawberry.Private[model.Assignment]

    @strawberry.field
    async def channel(self, info: Info) -> Channel:
        return Channel.of(await channel_fields.channel_of(self.value, info.context))

    @classmethod
    def of(cls, assignment: model.Assignment) -> Assignment:
        return cls(
            host_user_id=strawberry.ID(assignment.host_user_id),
            channel_id=strawberry.ID(assignment.channel_id),
            assigned_at=assignment.assigned_at,
            assigned_by=strawberry.ID(assignment.assigned_by) if assignment.assigned_by else None,
            value=assignment,
        )


@strawberry.type
class StateCounts:
    idle: int
    live: int
    offline: int


@strawberry.type
class Capacity:
    limit: int
    used: int
    available: int
    utilization_percent: float
    by_state: StateCounts

    @strawberry.field(description="Channel requests waiting for an admin's decision.")
    async def pending_requests(self, info: Info) -> int:
        return await channel_request_fields.pending_requests(info.context)

    @classmethod
    def of(cls, capacity: CapacityValue) -> Capacity:
        return cls(
            limit=capacity.limit,
            used=capacity.used,
            available=capacity.available,
            utilization_percent=capacity.utilization_percent,
            by_state=StateCounts(
                idle=capacity.by_state[model.ChannelState.IDLE],
                live=capacity.by_state[model.ChannelState.LIVE],
                offline=capacity.by_state[model.ChannelState.OFFLINE],
            ),
        )


ChannelConnection = Connection[Channel]


@strawberry.input
class ChannelSettingsInput:
    """The five settings of model.ChannelSettings, as createChannel and requestChannel take them (a base
    of both inputs, never a type of the schema itself)."""

    name: str = strawberry.field(description="Human-readable, 1 to 128 characters after trimming.")
    type: ChannelType = model.ChannelType.STANDARD
    latency_mode: LatencyMode = model.LatencyMode.LOW
    assignment_model: AssignmentModel = model.AssignmentModel.HOST_OWNED
    recording_enabled: bool = True

    def settings(self) -> model.ChannelSettings:
        return model.ChannelSettings(
            name=self.name,
            type=model.ChannelType(self.type),
            latency_mode=model.LatencyMode(self.latency_mode),
            assignment_model=model.AssignmentModel(self.assignment_model),
            recording_enabled=self.recording_enabled,
        )


@strawberry.input
class CreateChannelInput(ChannelSettingsInput):
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the channel made the first time."
    )

    def to_request(self) -> model.NewChannelRequest:
        return model.NewChannelRequest(**vars(self.settings()), idempotency_key=self.idempotency_key)
