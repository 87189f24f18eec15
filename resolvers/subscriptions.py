"""The subscriptions (docs/live-updates.md): each adapts the process's hub of live updates."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from schema.context import Info
from schema.live_updates import ChannelEvent, ChannelRequestEvent


async def channel_events(info: Info, channel_id: strawberry.ID | None = None) -> AsyncGenerator[ChannelEvent, None]:
    context = info.context
    events = context.live_updates().channel_events(context.require_caller(), channel_id, until=context.caller_expires_at)
    async for event, own_assignment in events:
        context.renew_loaders(own_assignment)  # each event's fields see the caller's assignment now
        yield ChannelEvent.of(event)


async def channel_request_events(info: Info) -> AsyncGenerator[ChannelRequestEvent, None]:
    context = info.context
    async for event in context.live_updates().request_events(context.require_caller(), until=context.caller_expires_at):
        context.renew_loaders()
        yield ChannelRequestEvent.of(event)
