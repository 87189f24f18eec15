"""The queries of the contract."""

from __future__ import annotations

import contextlib

import strawberry

from domain.access import require_grant, require_reaches_host
from domain.model import Channel as ChannelValue
from domain.model import ChannelState
from domain.validation import validate_identifier, validate_page_size
from resolvers.selections import selects
from schema.context import Context, Info
from schema.types import Assignment, Capacity, Channel, ChannelConnection, ChannelEdge, PageInfo
from services.channels import read_capacity


async def channel(info: Info, id: strawberry.ID) -> Channel | None:
    """Null when no such channel exists (or, for a host, when it is not theirs)."""
    context = info.context
    caller = context.require_caller()
    validate_identifier("id", id)
    if not await context.reaches_channel(require_grant(caller, "channel"), id):
        return None
    found = await context.loaders.channel_by_id.load(id)
    return Channel.of(found) if found else None


async def channels(
    info: Info, state: ChannelState | None = None, first: int = 20, after: str | None = None
) -> ChannelConnection:
    """Newest first, one index Query per page."""
    context = info.context
    caller = context.require_caller()
    validate_page_size(first)
    require_grant(caller, "channels")
    page = await context.run_blocking(context.backend.repository.list_channels, state, first, after)
    if selects(info.selected_fields, PAGE_ASSIGNMENTS):
        await _load_assignments(context, [found for found, _ in page.channels])
    edges = []
    for found, cursor in page.channels:
        context.loaders.channel_by_id.prime(found.id, found)
        edges.append(ChannelEdge(cursor=cursor, node=Channel.of(found)))
    return ChannelConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
    )


# Where a page's channels' hosts are selected: `channels { edges { node { assignments } } }`.
PAGE_ASSIGNMENTS = ("channels", "edges", "node", "assignments")


async def _load_assignments(context: Context, channels: list[ChannelValue]) -> None:
    """The page's assignments in one batch read, before its channels resolve: each channel's
    `assignments` then answers without awaiting. A failed read is not raised here: each `assignments`
    field raises it at its own path, as when it loads for itself."""
    hosts = sorted({host for channel in channels for host in channel.assigned_host_ids})
    if hosts:
        with contextlib.suppress(Exception):
            await context.loaders.assignment_by_host.load_many(hosts)


async def capacity(info: Info) -> Capacity:
    context = info.context
    require_grant(context.require_caller(), "capacity")
    return Capacity.of(await context.run_blocking(read_capacity, context.backend))


async def host_channel(info: Info, host_user_id: strawberry.ID) -> Assignment | None:
    """The host's assignment; null when the host has none. Hosts may ask about themselves only."""
    context = info.context
    caller = context.require_caller()
    validate_identifier("hostUserId", host_user_id)
    require_reaches_host(caller, "hostChannel", host_user_id)
    found = await context.loaders.assignment_by_host.load(host_user_id)
    return Assignment.of(found) if found else None


async def my_channel(info: Info) -> Assignment | None:
    require_grant(info.context.require_caller(), "myChannel")
    found = await info.context.own_assignment()
    return Assignment.of(found) if found else None
