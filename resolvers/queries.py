"""The queries of the contract."""

from __future__ import annotations

import strawberry

from domain.access import require_grant, require_reaches_host
from domain.model import ChannelState
from domain.validation import validate_identifier, validate_page_size
from resolvers.selections import selects
from schema.context import Context, Info
from schema.connections import Connection, Edge
from schema.types import Assignment, Capacity, Channel, ChannelConnection
from services.channel_pages import read_page_with_assignments
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
    """Newest first, one index Query per page (and, when the page's hosts are selected, one batch read
    of their assignments)."""
    context = info.context
    caller = context.require_caller()
    validate_page_size(first)
    require_grant(caller, "channels")
    if selects(info.selected_fields, PAGE_ASSIGNMENTS):
        read = await read_page_with_assignments(context.backend, state, first, after)
        page = read.page
        if read.assignments is not None:
            context.loaders.assignment_by_host.prime_many(read.assignments)
    else:
        page = await context.backend.channel_reads.page(state, first, after)
    context.loaders.channel_by_id.prime_many({found.id: found for found, _ in page.channels})
    return Connection.of([Edge(cursor=cursor, node=Channel.of(found)) for found, cursor in page.channels],
                         has_next_page=page.has_next_page)


# Where a page's channels' hosts are selected: `channels { edges { node { assignments } } }`.
PAGE_ASSIGNMENTS = ("channels", "edges", "node", "assignments")


async def capacity(info: Info) -> Capacity:
    context = info.context
    require_grant(context.require_caller(), "capacity")
    return Capacity.of(await read_capacity(context.backend))


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
