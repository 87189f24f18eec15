"""The schema object: Query and Mutation over the resolvers, with the service's error handling."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers import mutations, queries
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


@strawberry.type
class Mutation:
    create_channel: Channel = strawberry.mutation(resolver=mutations.create_channel)
    assign_channel: Assignment = strawberry.mutation(resolver=mutations.assign_channel)
    unassign_channel: Assignment = strawberry.mutation(
        resolver=mutations.unassign_channel, description="Returns the assignment that was removed."
    )
    set_channel_state: Channel = strawberry.mutation(resolver=mutations.set_channel_state)


class ChannelsSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes logs what is unexpected, with the request id; deliberate errors are answers, not log noise.
        return None


def build_schema() -> strawberry.Schema:
    return ChannelsSchema(
        query=Query,
        mutation=Mutation,
        extensions=[ErrorCodes],
        config=StrawberryConfig(scalar_map={datetime: DATETIME}),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
