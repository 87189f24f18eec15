"""The mutations of the contract: each runs its use case in the thread pool (boto3 blocks)."""

from __future__ import annotations

import strawberry

from domain.model import ChannelState
from schema.context import Info
from schema.types import Assignment, Channel, CreateChannelInput
from services import channels as use_cases


async def create_channel(info: Info, input: CreateChannelInput) -> Channel:
    context = info.context
    caller = context.require_caller()
    created = await context.run_blocking(use_cases.create_channel, context.backend, caller, input.to_request())
    return Channel.of(created)


async def assign_channel(info: Info, channel_id: strawberry.ID, host_user_id: strawberry.ID) -> Assignment:
    context = info.context
    caller = context.require_caller()
    assignment, channel = await context.run_blocking(
        use_cases.assign_channel, context.backend, caller, channel_id, host_user_id
    )
    # The use case read the channel already: answering with it costs no further read.
    context.loaders.channel_by_id.prime(channel.id, channel)
    return Assignment.of(assignment)


async def unassign_channel(info: Info, channel_id: strawberry.ID, host_user_id: strawberry.ID) -> Assignment:
    """Returns the assignment that was removed."""
    context = info.context
    caller = context.require_caller()
    removed = await context.run_blocking(use_cases.unassign_channel, context.backend, caller, channel_id, host_user_id)
    return Assignment.of(removed)


async def set_channel_state(
    info: Info, channel_id: strawberry.ID, state: ChannelState, session_id: str | None = None,
    host_user_id: strawberry.ID | None = None,
) -> Channel:
    context = info.context
    caller = context.require_caller()
    changed = await context.run_blocking(
        use_cases.set_channel_state, context.backend, caller, channel_id, ChannelState(state), session_id,
        host_user_id,
    )
    return Channel.of(changed)


async def delete_channel(info: Info, id: strawberry.ID) -> Channel:
    """Returns the channel that was deleted."""
    context = info.context
    caller = context.require_caller()
    deleted = await context.run_blocking(use_cases.delete_channel, context.backend, caller, id)
    return Channel.of(deleted)
