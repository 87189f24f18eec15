"""The channel reads of GraphQL queries, awaited on the event loop (data.dynamo_reads): the
DataLoaders' batches of channels and assignments, a page of the channel listing, a channel's
sessions, and the capacity counter.

The same reads as the stores' own (data.channels, data.assignments, data.capacity, data.sessions:
same requests, same records, same errors); without a reader (a backend a test or the benchmark
assembles itself) they are the stores' own, run in the thread pool.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread

from domain.capacity import CapacityCounts
from domain.errors import UpstreamError
from domain.model import Assignment, Channel, ChannelState
from data.dynamo_reads import DynamoReader
from data.listing_indexes import is_whole_record, refused_index
from data.pagination import ChannelListing
from data.records import assignment_from_item, channel_from_item
from data.assignments import AssignmentStore
from data.capacity import CapacityStore, capacity_counts_of
from data.channels import ChannelPage, ChannelStore
from data.sessions import SessionPage, SessionStore, session_page, sessions_query
from data.table import COUNTER_KEY, assignment_key, channel_key


class ChannelReads:
    def __init__(self, channels: ChannelStore, assignments: AssignmentStore, capacity: CapacityStore,
                 reader: DynamoReader | None) -> None:
        self._channels = channels
        self._assignments = assignments
        self._capacity = capacity
        self._reader = reader
        self._table = channels.table.name

    async def channels(self, channel_ids: list[str]) -> dict[str, Channel]:
        """The channels of these ids that exist (one BatchGetItem up to 100)."""
        if self._reader is None:
            return await to_thread.run_sync(self._channels.get_channels, channel_ids)
        items = await self._reader.batch_get(self._table, [channel_key(channel_id) for channel_id in channel_ids])
        return {channel.id: channel for channel in map(channel_from_item, items)}

    async def assignments(self, host_user_ids: list[str]) -> dict[str, Assignment]:
        """The assignments of these hosts that exist (one BatchGetItem up to 100)."""
        if self._reader is None:
            return await to_thread.run_sync(self._assignments.get_assignments, host_user_ids)
        items = await self._reader.batch_get(self._table, [assignment_key(host) for host in host_user_ids])
        return {assignment.host_user_id: assignment for assignment in map(assignment_from_item, items)}

    async def capacity_counts(self) -> CapacityCounts:
        """CapacityStore.read_capacity_counts, awaited: one GetItem of the counter (eventually consistent)."""
        if self._reader is None:
            return await to_thread.run_sync(self._capacity.read_capacity_counts)
        return capacity_counts_of(await self._reader.get(self._table, COUNTER_KEY, consistent=False) or {})

    async def sessions(self, sessions: SessionStore, channel_id: str, first: int, after: str | None) -> SessionPage:
        """SessionStore.list_sessions, awaited: a page of the channel's sessions, newest first (one Query)."""
        if self._reader is None:
            return await to_thread.run_sync(sessions.list_sessions, channel_id, first, after)
        query = sessions_query(channel_id, first, after)
        items, _ = await self._reader.query(self._table, **query)
        return session_page(items, first)

    async def page(self, state: ChannelState | None, first: int, after: str | None) -> ChannelPage:
        """ChannelStore.list_channels, awaited: newest first, one Query of `first + 1` items."""
        if self._reader is None:
            return await to_thread.run_sync(self._channels.list_channels, state, first, after)
        listing = ChannelListing.of(state)
        items, items_read = await self._read_page(listing.index, listing.page_query(first, after), first)
        return ChannelPage(
            channels=[(channel_from_item(item), listing.cursor_of(item)) for item in items[:first]],
            has_next_page=len(items) > first,
            items_read=items_read,
        )

    async def _read_page(self, listing_index: str, query: dict[str, Any],
                         page_size: int) -> tuple[list[dict[str, Any]], int]:
        """data.listing_indexes.ListingIndexes.read_page, awaited: the same choice of index (asking the
        table, a rare DescribeTable, in the thread pool), the same reads."""
        assert self._reader is not None
        indexes = self._channels.listing_indexes
        name, whole = indexes.current(listing_index)
        try:
            items, items_read = await self._reader.query(self._table, IndexName=name, **query)
        except UpstreamError as exc:
            choice = (await to_thread.run_sync(lambda: indexes.reconsider(listing_index, refused=True))
                      if refused_index(exc) else None)
            if choice is None or choice[0] == name:
                raise
            (name, whole) = choice
            items, items_read = await self._reader.query(self._table, IndexName=name, **query)
        if whole and not all(map(is_whole_record, items)):
            choice = await to_thread.run_sync(lambda: indexes.reconsider(listing_index, refused=False))
            if choice is not None and choice[1] and choice[0] != name:
                return await self._reader.query(self._table, IndexName=choice[0], **query)
            whole = False
        if whole:
            return items, items_read
        by_key = {(item["pk"], item["sk"]): item for item in await self._reader.batch_get(
            self._table, [{"pk": item["pk"], "sk": item["sk"]} for item in items[:page_size]])}
        whole_items = [by_key[(item["pk"], item["sk"])] for item in items[:page_size] if (item["pk"], item["sk"]) in by_key]
        return whole_items + items[page_size:], items_read
