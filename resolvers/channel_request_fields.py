"""Fields of ChannelRequest and Capacity that depend on the caller or load more data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.access import may_see_requested_channel, needs_own_assignment_to_see_requested_channel
from domain.channel_requests import ChannelRequest
from domain.model import Channel
from services.channel_requests import pending_request_count

if TYPE_CHECKING:
    from schema.context import Context


async def requested_channel(request: ChannelRequest, context: Context) -> Channel | None:
    """The channel the approval made, for an admin or the requester assigned to it; null otherwise."""
    if request.channel_id is None:
        return None
    caller = context.require_caller()
    own = await context.own_assignment() if needs_own_assignment_to_see_requested_channel(caller) else None
    if not may_see_requested_channel(caller, own, request.channel_id):
        return None
    return await context.loaders.channel_by_id.load(request.channel_id)


async def pending_requests(context: Context) -> int:
    return await pending_request_count(context.backend)
