"""The schedule reads of GraphQL queries, awaited on the event loop (data.dynamo_reads): a channel's
`slots` page, its `currentSlot`, and a host's `mySlots` page.

The same reads as SlotStore's (the same request bodies and decoding, shared as functions of
data.slots; the same errors; the channel's schedule read consistently, as there); without a reader (a
backend a test or the benchmark assembles itself) they are the store's own, run in the thread pool.
Bookings, moves and cancels keep the store's reads: they plan from them inside their retries.
"""

from __future__ import annotations

from datetime import datetime

from anyio import to_thread

from domain.slots import Slot
from data.dynamo_reads import DynamoReader
from data.slots import (
    SlotPage,
    SlotPageQuery,
    SlotStore,
    channel_page_query,
    ending_after_query,
    host_page_query,
    slots_of,
)


class SlotReads:
    def __init__(self, slots: SlotStore, reader: DynamoReader | None) -> None:
        self._slots = slots
        self._reader = reader
        self._table = slots.table.name

    async def ending_after(self, channel_id: str, at: datetime, limit: int) -> list[Slot]:
        """SlotStore.ending_after, awaited: the first `limit` live slots ending after `at` (one Query)."""
        if self._reader is None:
            return await to_thread.run_sync(self._slots.ending_after, channel_id, at, limit)
        items, _ = await self._reader.query(self._table, **ending_after_query(channel_id, at, limit))
        return slots_of(items)

    async def channel_page(self, channel_id: str, start: datetime, end: datetime | None, first: int,
                           after: str | None) -> SlotPage:
        """SlotStore.channel_page, awaited: one consistent Query of the channel's time entries."""
        if self._reader is None:
            return await to_thread.run_sync(self._slots.channel_page, channel_id, start, end, first, after)
        return await self._page(channel_page_query(channel_id, start, end, first, after))

    async def host_page(self, host_user_id: str, start: datetime, end: datetime | None, first: int,
                        after: str | None) -> SlotPage:
        """SlotStore.host_page, awaited: one Query of the host index."""
        if self._reader is None:
            return await to_thread.run_sync(self._slots.host_page, host_user_id, start, end, first, after)
        return await self._page(host_page_query(host_user_id, start, end, first, after))

    async def _page(self, page_query: SlotPageQuery) -> SlotPage:
        assert self._reader is not None
        items, _ = await self._reader.query(self._table, **page_query.query)
        return page_query.page(items)
