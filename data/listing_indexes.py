"""Which index a channel listing reads: its own, or its replacement while provision rebuilds it.

The preferred index costs nothing to choose: a listing Queries it and, when it projects whole
records (data.index_layout: ALL, as provision and the template make it), the page is that one Query.
Only a failure signal makes a process look at the table (one DescribeTable): DynamoDB refusing the
Query (a ValidationException: the index is missing, still CREATING or being deleted), or items
lacking the record's attributes (a KEYS_ONLY or INCLUDE index made by hand; looked at once a minute
at most, as the page survives it). The listing then reads the first of its index and its
replacement that is ACTIVE with the right shape; when neither projects whole records, the page's
items are read by key in one BatchGetItem (two round trips, never a wrong or failed page).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import UpstreamError
from data.dynamo import DynamoTable
from data.index_layout import LISTING_INDEXES, serving_index
from data.index_layout import required_indexes as _required
from data.table import CHANNEL_ENTITY

log = logging.getLogger("shelcaster.channels.listing_indexes")

RECHECK_SECONDS = 60.0
# The listing indexes' wanted shapes (their keys and projection do not depend on the entity index).
_WANTED = {index["IndexName"]: index for index in _required("entityType-index") if index["IndexName"] in LISTING_INDEXES}

Choice = tuple[str, bool]  # the index to read, and whether it projects whole records


def is_whole_record(item: dict[str, Any]) -> bool:
    # Every channel record carries these two; an index projecting keys only (or an INCLUDE list
    # without them) does not. The table's and the index's keys are always projected.
    return item.get("entityType") == CHANNEL_ENTITY and "channelId" in item


# DynamoDB refuses a Query on an absent, CREATING or DELETING index with a ValidationException;
# emulators (moto) answer an absent one ResourceNotFoundException.
_REFUSED_INDEX_CODES = frozenset({"ValidationException", "ResourceNotFoundException"})


def refused_index(exc: UpstreamError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in _REFUSED_INDEX_CODES


class ListingIndexes:
    """Per process: the index each channel listing reads, and the Query that reads a page of it."""

    def __init__(self, table: DynamoTable, clock: Callable[[], float] = time.monotonic) -> None:
        self._table = table
        self._clock = clock
        self._chosen: dict[str, Choice] = {}
        self._checked_at: dict[str, float] = {}

    def current(self, listing_index: str) -> Choice:
        return self._chosen.get(listing_index, (listing_index, True))

    def reconsider(self, listing_index: str, *, refused: bool) -> Choice | None:
        """The index the table serves this listing from now (DescribeTable), or None when it cannot be
        told: DescribeTable refused, no index ACTIVE, or (for partial items, which a page survives by
        reading by key) looked at less than RECHECK_SECONDS ago. A refused Query always looks: the page
        fails unless another index serves."""
        now = self._clock()
        last = self._checked_at.get(listing_index)
        if not refused and last is not None and now - last < RECHECK_SECONDS:
            return None
        self._checked_at[listing_index] = now
        try:
            description = self._table.client.describe_table(TableName=self._table.name)["Table"]
        except (ClientError, BotoCoreError) as exc:
            log.warning("listing %s: DescribeTable failed (%s); reading as before", listing_index, exc)
            return None
        choice = serving_index(description, _WANTED[listing_index])
        if choice is not None:
            if choice != self.current(listing_index):
                log.warning("listing %s now reads index %s (whole records: %s)", listing_index, *choice)
            self._chosen[listing_index] = choice
        return choice

    def read_page(self, listing_index: str, query: dict[str, Any], page_size: int) -> tuple[list[dict[str, Any]], int]:
        """One page of a listing (`query` without IndexName): its items in the index's order, the
        first `page_size` whole records, and the items read. One Query while the listing's index is of
        the right shape (the items past `page_size` only tell that a next page exists)."""
        name, whole = self.current(listing_index)
        try:
            items, items_read = self._table.query(IndexName=name, **query)
        except UpstreamError as exc:
            choice = self.reconsider(listing_index, refused=True) if refused_index(exc) else None
            if choice is None or choice[0] == name:
                raise
            (name, whole), (items, items_read) = choice, self._table.query(IndexName=choice[0], **query)
        if whole and not all(map(is_whole_record, items)):
            choice = self.reconsider(listing_index, refused=False)
            if choice is not None and choice[1] and choice[0] != name:
                return self._table.query(IndexName=choice[0], **query)
            whole = False
        if whole:
            return items, items_read
        return self._by_key(items[:page_size]) + items[page_size:], items_read

    def _by_key(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The whole records of an index's partial items, in the items' order (one BatchGetItem up to 100)."""
        found = {(item["pk"], item["sk"]): item for item in self._table.batch_get(
            [{"pk": item["pk"], "sk": item["sk"]} for item in items])}
        return [found[(item["pk"], item["sk"])] for item in items if (item["pk"], item["sk"]) in found]
