"""Fields of Channel and Assignment that depend on the caller or load more data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.access import grant_for
from domain.errors import NotFound, UpstreamError
from domain.model import Assignment, Channel
from domain.validation import validate_page_size

if TYPE_CHECKING:
    from data.ivs import IvsStream
    from data.sessions import SessionPage
    from schema.context import Context


async def visible_stream_key(channel: Channel, context: Context) -> str | None:
    """The stream key for a caller the access rules let see it (an admin, a host assigned to the
    channel, a sessions-scoped service); null for anyone else.

    An encrypted key is decrypted only here, for a caller allowed to see it."""
    grant = grant_for(context.require_caller(), "Channel.streamKey")
    if grant is None or not await context.reaches_channel(grant, channel.id):
        return None
    if channel.stream_key is not None or channel.sealed_stream_key is None:
        return channel.stream_key
    cipher = context.backend.stream_keys
    if cipher is None:
        raise UpstreamError("This stream key is encrypted and CHANNELS_KMS_KEY_ID is not set; it cannot be read.")
    # Usually the data key is in memory: decrypt here. Only loading it (DynamoDB, KMS) needs a thread.
    opened = cipher.open_if_cached(channel.id, channel.sealed_stream_key)
    if opened is not None:
        return opened
    return await context.run_blocking(cipher.open, channel.id, channel.sealed_stream_key)


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


async def live_stream_of(channel: Channel, context: Context) -> IvsStream | None:
    """What IVS streams on the channel now, for callers who may see its stream key (else null);
    batched with the page's other channels into one IVS call."""
    grant = grant_for(context.require_caller(), "Channel.stream")
    if grant is None or not await context.reaches_channel(grant, channel.id):
        return None
    if not channel.arn:
        return None
    return await context.live_stream_loader().load(channel.arn)


async def sessions_of(channel: Channel, context: Context, first: int, after: str | None) -> SessionPage | None:
    """A page of the channel's sessions, newest first (one Query); None (an empty page) for callers
    who may not see them. BAD_USER_INPUT for `first` outside 1..100 or a cursor not the service's."""
    validate_page_size(first)
    grant = grant_for(context.require_caller(), "Channel.sessions")
    if grant is None or not await context.reaches_channel(grant, channel.id):
        return None
    sessions = context.backend.sessions
    if sessions is None:
        return None
    return await context.run_blocking(sessions.list_sessions, channel.id, first, after)
