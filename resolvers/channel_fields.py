"""Fields of Channel and Assignment that depend on the caller or load more data."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from strawberry.dataloader import DataLoader

from data.loaders import already_loaded
from domain.access import Grant, grant_for
from domain.errors import NotFound, UpstreamError
from domain.model import Assignment, Channel
from domain.validation import validate_page_size

if TYPE_CHECKING:
    from data.ivs import IvsStream
    from data.sessions import SessionPage
    from schema.context import Context

T = TypeVar("T")
# A value, or an awaitable of it when it needs I/O: graphql-core awaits only what is awaitable.
MaybeAwaitable: TypeAlias = T | Awaitable[T]


def visible_stream_key(channel: Channel, context: Context) -> MaybeAwaitable[str | None]:
    """The stream key for a caller the access rules let see it (an admin, a host assigned to the
    channel, a sessions-scoped service); null for anyone else.

    Answered without awaiting whenever no I/O is needed (the caller's reach is known, the key is plain
    or its data key is in memory): a page of 20 channels then costs no task and no loop turn per
    channel. An encrypted key is decrypted only here, for a caller allowed to see it."""
    grant = grant_for(context.require_caller(), "Channel.streamKey")
    if grant is None:
        return None
    reaches = context.reaches_channel_now(grant, channel.id)
    if reaches is None:
        return _stream_key_once_reached(channel, context, grant)
    return _stream_key(channel, context) if reaches else None


async def _stream_key_once_reached(channel: Channel, context: Context, grant: Grant) -> str | None:
    if not await context.reaches_channel(grant, channel.id):
        return None
    key = _stream_key(channel, context)
    return await key if inspect.isawaitable(key) else key


def _stream_key(channel: Channel, context: Context) -> MaybeAwaitable[str | None]:
    if channel.stream_key is not None or channel.sealed_stream_key is None:
        return channel.stream_key
    cipher = context.backend.stream_keys
    if cipher is None:
        raise UpstreamError("This stream key is encrypted and CHANNELS_KMS_KEY_ID is not set; it cannot be read.")
    # Usually the data key is in memory: decrypt here. Only loading it (DynamoDB, KMS) needs a thread.
    opened = cipher.open_if_cached(channel.id, channel.sealed_stream_key)
    if opened is not None:
        return opened
    return context.run_blocking(cipher.open, channel.id, channel.sealed_stream_key)


def assignments_of(channel: Channel, context: Context) -> MaybeAwaitable[list[Assignment]]:
    """The channel's hosts, batch-loaded with every other channel's of the same page; answered without
    awaiting when the page's assignments are loaded already (`channels` loads them up front)."""
    hosts = sorted(channel.assigned_host_ids)
    loader = context.loaders.assignment_by_host
    loaded = already_loaded(loader, hosts)
    if loaded is not None:
        return _of_channel(loaded, channel)
    return _load_assignments(loader, hosts, channel)


async def _load_assignments(
    loader: DataLoader[str, Assignment | None], hosts: list[str], channel: Channel
) -> list[Assignment]:
    return _of_channel(await loader.load_many(hosts), channel)


def _of_channel(loaded: list[Assignment | None], channel: Channel) -> list[Assignment]:
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
    context.spend_fan_out_call("sessions")  # one Query per channel
    return await context.backend.channel_reads.sessions(sessions, channel.id, first, after)
