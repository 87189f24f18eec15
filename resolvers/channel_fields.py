"""Fields of Channel and Assignment that depend on the caller or load more data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.access import may_see_stream_key
from domain.errors import NotFound
from domain.model import Assignment, Channel

if TYPE_CHECKING:
    from schema.context import Context


async def visible_stream_key(channel: Channel, context: Context) -> str | None:
    """The stream key for an admin or a host assigned to the channel; null for anyone else."""
    caller = context.require_caller()
    if caller.is_admin:
        return channel.stream_key
    own = await context.own_assignment()
    return channel.stream_key if may_see_stream_key(caller, own, channel.id) else None


async def assignments_of(channel: Channel, context: Context) -> list[Assignment]:
    """The channel's hosts, batch-loaded with every other channel's of the same page."""
    hosts = sorted(channel.assigned_host_ids)
    loaded = await context.loaders.assignment_by_host.load_many(hosts)
    # An assignment record that points elsewhere (a host moved since) is not this channel's.
    return [found for found in loaded if found is not None and found.channel_id == channel.id]


async def channel_of(assignment: Assignment, context: Context) -> Channel:
    channel = await context.loaders.channel_by_id.load(assignment.channel_id)
    if channel is None:
        raise NotFound(f"Channel '{assignment.channel_id}' of host '{assignment.host_user_id}' no longer exists.")
    return channel
