"""The queries and mutations of schedules (CONTRACT.md section 12): mySlots awaits its read on the
event loop; the mutations run their use case in the thread pool (boto3 blocks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.context import Info
from schema.slots import BookSlotInput, Slot, SlotConnection, page_of
from services import slots as use_cases

From = Annotated[datetime | None, strawberry.argument(name="from")]


async def my_slots(info: Info, from_: From = None, to: datetime | None = None, first: int = 50,
                   after: str | None = None) -> SlotConnection:
    context = info.context
    caller = context.require_caller()
    return page_of(await use_cases.my_slots(context.backend, caller, from_, to, first, after))


async def book_slot(info: Info, input: BookSlotInput) -> Slot:
    context = info.context
    caller = context.require_caller()
    return Slot.of(await context.run_blocking(use_cases.book_slot, context.backend, caller, input.to_booking()))


async def move_slot(info: Info, id: strawberry.ID, starts_at: datetime, ends_at: datetime) -> Slot:
    context = info.context
    caller = context.require_caller()
    return Slot.of(await context.run_blocking(use_cases.move_slot, context.backend, caller, id, starts_at, ends_at))


async def cancel_slot(info: Info, id: strawberry.ID) -> Slot:
    context = info.context
    caller = context.require_caller()
    return Slot.of(await context.run_blocking(use_cases.cancel_slot, context.backend, caller, id))
