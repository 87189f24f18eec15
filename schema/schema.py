"""The schema object: Query and Mutation over the resolvers, with the service's error handling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers import channel_requests as request_resolvers
from resolvers import mutations, queries, stream_mutations
from schema.channel_requests import ChannelRequest, ChannelRequestConnection
from schema.errors import ErrorCodes
from schema.scalars import DATETIME
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


@strawberry.type
class Mutation:
    create_channel: Channel = strawberry.mutation(resolver=mutations.create_channel)
    assign_channel: Assignment = strawberry.mutation(resolver=mutations.assign_channel)
    unassign_channel: Assignment = strawberry.mutation(
        resolver=mutations.unassign_channel, description="Returns the assignment that was removed."
    )
    set_channel_state: Channel = strawberry.mutation(resolver=mutations.set_channel_state)
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
        description="Ends the broadcast on IVS now (the encoder is disconnected); the channel goes IDLE.",
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


class SafeParserCache(ParserCache):
    """strawberry's ParserCache, except that a document that fails to parse is left to strawberry's own
    parse step, which reports the error as a result (with its code) instead of raising past every
    extension."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            pass
        yield


class ChannelsSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes logs what is unexpected, with the request id; deliberate errors are answers, not log noise.
        return None


@dataclass(frozen=True)
class SchemaLimits:
    """Bounds on what one document may ask for; checked before any resolver (and any AWS call) runs."""

    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    # Production hides the schema: no introspection, no "did you mean" suggestions.
    hide_schema: bool = False
    # Parsed and validated documents are cached, bounded (LRU), across requests.
    cache_size: int = 256


def build_schema(limits: SchemaLimits = SchemaLimits()) -> strawberry.Schema:
    # The depth and alias rules are classes made once here: each limiter makes a new class when built,
    # and a new rule tuple per request would miss ValidationCache (keyed on the rules) every time.
    limit_rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    extensions: list[object] = [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: SafeParserCache(maxsize=limits.cache_size),
        lambda: AddValidationRules(limit_rules),
        lambda: ValidationCache(maxsize=limits.cache_size),
    ]
    if limits.hide_schema:
        extensions.append(DisableIntrospection)
    return ChannelsSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(scalar_map={datetime: DATETIME}, disable_field_suggestions=limits.hide_schema),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
