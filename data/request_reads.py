"""The channel-request reads of GraphQL queries, awaited on the event loop (data.dynamo_reads): the
admins' `channelRequests` pages, a requester's `myChannelRequests`, and `Capacity.pendingRequests`.

The same reads as ChannelRequestStore's (the same request bodies and decoding, shared as functions of
data.channel_requests; the same errors); without a reader (a backend a test or the benchmark assembles
itself) they are the store's own, run in the thread pool. Mutations keep the store's reads.
"""

from __future__ import annotations

from anyio import to_thread

from domain.channel_requests import ChannelRequest, ChannelRequestStatus
from data.channel_requests import (
    ChannelRequestStore,
    RequestPage,
    own_requests_query,
    pending_count_of,
    request_from_item,
    request_page,
    requests_query,
)
from data.dynamo_reads import DynamoReader
from data.table import CHANNEL_REQUEST_COUNTER_KEY


class RequestReads:
    def __init__(self, requests: ChannelRequestStore, reader: DynamoReader | None) -> None:
        self._requests = requests
        self._reader = reader
        self._table = requests.table.name

    async def page(self, status: ChannelRequestStatus | None, first: int, after: str | None) -> RequestPage:
        """ChannelRequestStore.list_requests, awaited: one Query of `first + 1` items."""
        if self._reader is None:
            return await to_thread.run_sync(self._requests.list_requests, status, first, after)
        items, items_read = await self._reader.query(self._table, **requests_query(status, first, after))
        return request_page(status, items, items_read, first)

    async def own(self, requester_id: str) -> list[ChannelRequest]:
        """ChannelRequestStore.list_own, awaited: the requester's requests, newest first (one Query)."""
        if self._reader is None:
            return await to_thread.run_sync(self._requests.list_own, requester_id)
        items, _ = await self._reader.query(self._table, **own_requests_query(requester_id))
        return [request_from_item(item) for item in items]

    async def pending_count(self) -> int:
        """ChannelRequestStore.pending_count, awaited: one GetItem of the counter (eventually consistent)."""
        if self._reader is None:
            return await to_thread.run_sync(self._requests.pending_count)
        return pending_count_of(await self._reader.get(self._table, CHANNEL_REQUEST_COUNTER_KEY, consistent=False))
