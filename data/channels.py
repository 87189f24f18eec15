"""Channel records: reads by id and by page, and the writes that make or remove one with its slot on
the capacity counter (a create's reservation is data.capacity's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.model import Channel, ChannelState
from data.capacity import PENDING_CREATE_PART, CapacityStore, ReservationLost
from data.dynamo import DynamoTable, delete, put
from data.idempotency import IdempotencyRecords
from data.listing_indexes import ListingIndexes
from data.pagination import ChannelListing
from data.records import channel_from_item, new_channel_item
from data.state_changes import StaleChannel
from data.table import CHANNEL_ENTITY, channel_key
from data.unit_of_work import TransactionRefused, UnitOfWork

# The part a channel record's own write takes in a unit of work.
CHANNEL_PART = "channel"


@dataclass(frozen=True)
class ChannelPage:
    channels: list[tuple[Channel, str]]  # each channel with its cursor
    has_next_page: bool
    items_read: int


class ChannelStore:
    """The one door to channel records (ChannelsBackend.channels)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.listing_indexes = ListingIndexes(table)

    # Reads

    def get_channel(self, channel_id: str, *, consistent: bool = True) -> Channel | None:
        item = self.table.get(channel_key(channel_id), consistent=consistent)
        return channel_from_item(item) if item else None

    def get_channels(self, channel_ids: list[str]) -> dict[str, Channel]:
        items = self.table.batch_get([channel_key(channel_id) for channel_id in channel_ids])
        return {channel.id: channel for channel in map(channel_from_item, items)}

    def list_channels(self, state: ChannelState | None, first: int, after: str | None) -> ChannelPage:
        """Newest first, one Query of at most `first + 1` items (the extra one says a next page exists)."""
        listing = ChannelListing.of(state)
        items, items_read = self.listing_indexes.read_page(listing.index, listing.page_query(first, after), first)
        page = items[:first]
        return ChannelPage(
            channels=[(channel_from_item(item), listing.cursor_of(item)) for item in page],
            has_next_page=len(items) > first,
            items_read=items_read,
        )

    def list_channel_records(self, entity_index: str) -> list[Channel]:
        """Every channel record (for reports and repairs, not for requests)."""
        return [channel_from_item(item) for item in self.table.records_of(entity_index, CHANNEL_ENTITY)]

    # Writes

    def save_new_channel(self, channel: Channel, idempotency_key_value: str | None) -> None:
        """Write the record of a channel whose slot is reserved, remove its PENDING record, and
        complete its idempotency key. ReservationLost when the PENDING record is gone (`reconcile`
        judged the create dead and released its slot)."""
        unit = UnitOfWork(self.table)
        unit.add(CHANNEL_PART, [put(new_channel_item(channel), condition="attribute_not_exists(pk)")])
        CapacityStore(self.table).add_settled_to(unit, channel.id, channel.state)
        if idempotency_key_value is not None:
            IdempotencyRecords(self.table).add_completion_to(unit, idempotency_key_value, channel.id)
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(PENDING_CREATE_PART):
                raise ReservationLost from None
            raise

    def add_removal_to(self, unit: UnitOfWork, channel_id: str, state: ChannelState) -> None:
        """Delete the record, conditional on the channel being in `state` without hosts (never a
        channel someone holds), and give its slot back."""
        unit.add(CHANNEL_PART, [delete(
            channel_key(channel_id),
            condition="#state = :state AND attribute_not_exists(assignedHostIds)",
            names={"#state": "state"},
            values={":state": state.value},
        )])
        CapacityStore(self.table).add_freed_to(unit, state)

    def delete_channel_record(self, channel_id: str) -> None:
        """Delete an OFFLINE channel without hosts and give its capacity slot back, both or neither."""
        unit = UnitOfWork(self.table)
        self.add_removal_to(unit, channel_id, ChannelState.OFFLINE)
        try:
            unit.commit()
        except TransactionRefused:
            raise StaleChannel from None
