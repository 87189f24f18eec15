"""The schema object: Query, Mutation and Subscription over the resolvers, with the service's error handling."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers import channel_requests as request_resolvers
from resolvers import mutations, queries, slots as slot_resolvers, stream_mutations, subscriptions
from schema.channel_requests import ChannelRequest, ChannelRequestConnection
from schema.errors import ErrorCodes
from schema.live_updates import ChannelEvent, ChannelRequestEvent
from schema.prepared_documents import BoundedDocuments, DocumentBounds, DocumentPreparer
from schema.scalars import DATETIME
from schema.slots import Slot, SlotConnection
from schema.types import Assignment, Capacity, Channel, ChannelConnection


@strawberry.type
class Query:
    channel: Channel | None = strawberry.field(
        resolver=queries.channel, description="Null when no such channel exists."
    )
    channels: ChannelConnection = strawberry.field(
        resolver=queries.channels, description="Newest first. first: 1 to 100."
    )
    capacity: Capacity = strawberry.field(resolver=queries.capacity)
    host_channel: Assignment | None = strawberry.field(
        resolver=queries.host_channel, description="Null when the host has no channel."
    )
    my_channel: Assignment | None = strawberry.field(
        resolver=queries.my_channel, description="The calling host's assignment; null when none."
    )
    channel_requests: ChannelRequestConnection = strawberry.field(
        resolver=request_resolvers.channel_requests,
        description="Admins. PENDING: oldest first (a queue); otherwise newest first. first: 1 to 100.",
    )
    my_channel_requests: list[ChannelRequest] = strawberry.field(
        resolver=request_resolvers.my_channel_requests,
        description="The caller's own requests, newest first (at most 50).",
    )
    my_slots: SlotConnection = strawberry.field(
        resolver=slot_resolvers.my_slots,
        description="The caller's slots on every channel, earliest first. first: 1 to 100.",
    )


@strawberry.type
class Mutation:
    create_channel: Channel = strawberry.mutation(resolver=mutations.create_channel)
    assign_channel: Assignment = strawberry.mutation(resolver=mutations.assign_channel)
    unassign_channel: Assignment = strawberry.mutation(
        resolver=mutations.unassign_channel, description="Returns the assignment that was removed."
    )
    set_channel_state: Channel = strawberry.mutation(
        resolver=mutations.set_channel_state,
        description=(
            "hostUserId: who broadcasts on a SHARED channel (admins and service callers; a host is always themselves)."
        ),
    )
    delete_channel: Channel = strawberry.mutation(
        resolver=mutations.delete_channel,
        description=(
            "Added by this service: deletes an OFFLINE channel without hosts, with its IVS channel, "
            "and frees its capacity slot. Returns the deleted channel."
        ),
    )
    rotate_stream_key: Channel = strawberry.mutation(
        resolver=stream_mutations.rotate_stream_key,
        description="Replaces the channel's stream key: the old key stops working at once. CONFLICT while LIVE.",
    )
    stop_broadcast: Channel = strawberry.mutation(
        resolver=stream_mutations.stop_broadcast,
        description=(
            "Ends the broadcast on IVS now; the channel goes IDLE. Unless keepStreamKey, the stream key is "
            "replaced first, so the encoder cannot reconnect with it."
        ),
    )
    request_channel: ChannelRequest = strawberry.mutation(
        resolver=request_resolvers.request_channel,
        description="Asks the admins for a channel; the caller becomes its host when approved.",
    )
    approve_channel_request: ChannelRequest = strawberry.mutation(
        resolver=request_resolvers.approve_channel_request,
        description="Creates the requested channel and assigns the requester, or changes nothing.",
    )
    reject_channel_request: ChannelRequest = strawberry.mutation(resolver=request_resolvers.reject_channel_request)
    cancel_channel_request: ChannelRequest = strawberry.mutation(resolver=request_resolvers.cancel_channel_request)
    book_slot: Slot = strawberry.mutation(
        resolver=slot_resolvers.book_slot,
        description="Books a slot on a SHARED channel; CONFLICT when it overlaps another slot.",
    )
    move_slot: Slot = strawberry.mutation(resolver=slot_resolvers.move_slot)
    cancel_slot: Slot = strawberry.mutation(resolver=slot_resolvers.cancel_slot)


@strawberry.type
class Subscription:
    channel_events: AsyncGenerator[ChannelEvent, None] = strawberry.subscription(
        resolver=subscriptions.channel_events,
        description="Changes to the channels the caller may see (one channel with channelId, else all of them).",
    )
    channel_request_events: AsyncGenerator[ChannelRequestEvent, None] = strawberry.subscription(
        resolver=subscriptions.channel_request_events,
        description="Requests made and decided: every one for admins, their own for others.",
    )


class ChannelsSchema(strawberry.Schema):
    preparer: DocumentPreparer  # parse and validation, bounded (schema.prepared_documents)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes logs what is unexpected, with the request id; deliberate errors are answers, not log noise.
        return None


@dataclass(frozen=True)
class SchemaLimits:
    """Bounds on what one document may ask for; checked before any resolver (and any AWS call) runs."""

    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    # Field selections, fragments counted at each spread: bounds graphql-core's quadratic
    # overlapping-fields rule (docs/security.md).
    max_fields: int = 100
    # Production hides the schema: no introspection, no "did you mean" suggestions.
    hide_schema: bool = False
    # Parsed and validated documents are cached, bounded (LRU, in entries and in text), across requests.
    cache_size: int = 256
    cache_bytes: int = 128 * 1024
    # How long a request waits for its document to be parsed and validated before it is refused.
    budget_seconds: float = 1.0


def build_schema(limits: SchemaLimits = SchemaLimits()) -> ChannelsSchema:
    preparer = DocumentPreparer(
        DocumentBounds(
            max_depth=limits.max_depth,
            max_aliases=limits.max_aliases,
            max_fields=limits.max_fields,
            max_tokens=limits.max_tokens,
            hide_suggestions=limits.hide_schema,
            cache_size=limits.cache_size,
            cache_bytes=limits.cache_bytes,
            budget_seconds=limits.budget_seconds,
        )
    )
    # No DisableIntrospection: with hide_schema the preparer validates with its rule (one extension less
    # per request, each costs strawberry several µs).
    extensions: list[object] = [ErrorCodes, lambda: BoundedDocuments(preparer)]
    schema = ChannelsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(scalar_map={datetime: DATETIME}, disable_field_suggestions=limits.hide_schema),
    )
    schema.preparer = preparer
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
