"""Fields of Channel and Slot that depend on the caller or load more data (schedules, CONTRACT.md section 12)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.access import grant_for
from domain.errors import NotFound
from domain.model import Channel
from domain.slots import Slot, validate_window
from domain.validation import validate_page_size
from services import slots as use_cases

if TYPE_CHECKING:
    from data.slots import SlotPage
    from schema.context import Context


async def slots_of(channel: Channel, context: Context, start: datetime | None, end: datetime | None, first: int,
                   after: str | None) -> SlotPage | None:
    """A page of the channel's schedule (one Query); None (an empty page) for callers who may not see
    it. BAD_USER_INPUT first, for arguments out of range."""
    validate_page_size(first)
    validate_window(start, end, context.backend.clock())
    grant = grant_for(context.require_caller(), "Channel.slots")
    if grant is None or not await context.reaches_channel(grant, channel.id):
        return None
    context.spend_fan_out_call("slots")  # one Query per channel
    return await use_cases.channel_slots(context.backend, channel.id, start, end, first, after)


async def current_slot_of(channel: Channel, context: Context) -> Slot | None:
    """The slot covering now (one Query of one item); null for callers who may not see the schedule."""
    grant = grant_for(context.require_caller(), "Channel.currentSlot")
    if grant is None or not await context.reaches_channel(grant, channel.id):
        return None
    context.spend_fan_out_call("currentSlot")
    return await use_cases.current_slot(context.backend, channel.id)


async def channel_of_slot(slot: Slot, context: Context) -> Channel:
    channel = await context.loaders.channel_by_id.load(slot.channel_id)
    if channel is None:
        raise NotFound(f"Channel '{slot.channel_id}' of slot '{slot.id}' no longer exists.")
    return channel
