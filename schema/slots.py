"""The GraphQL types of schedules on shared channels (CONTRACT.md section 12, contract/schema-draft3.graphql)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from data.slots import SlotPage
from domain import slots as rules
from resolvers import slot_fields
from schema.connections import Connection, Edge
from schema.context import Info
from schema.types import Channel
from services.slots import SlotBooking


@strawberry.type(description="One host's booking of a SHARED channel.")
class Slot:
    id: strawberry.ID
    channel_id: strawberry.ID
    host_user_id: strawberry.ID
    title: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: strawberry.ID
    created_at: datetime
    cancelled_at: datetime | None = strawberry.field(
        description="Set when the slot was cancelled; it then blocks no time."
    )
    value: strawberry.Private[rules.Slot]

    @strawberry.field
    async def channel(self, info: Info) -> Channel:
        return Channel.of(await slot_fields.channel_of_slot(self.value, info.context))

    @classmethod
    def of(cls, slot: rules.Slot) -> Slot:
        return cls(
            id=strawberry.ID(slot.id),
            channel_id=strawberry.ID(slot.channel_id),
            host_user_id=strawberry.ID(slot.host_user_id),
            title=slot.title,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            created_by=strawberry.ID(slot.created_by),
            created_at=slot.created_at,
            cancelled_at=slot.cancelled_at,
            value=slot,
        )


SlotConnection = Connection[Slot]


def page_of(page: SlotPage | None) -> Connection[Slot]:
    if page is None:
        return Connection.of([], has_next_page=False)
    return Connection.of([Edge(cursor=cursor, node=Slot.of(found)) for found, cursor in page.slots],
                         has_next_page=page.has_next_page)


@strawberry.input
class BookSlotInput:
    channel_id: strawberry.ID
    host_user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the caller; admins may book for any host assigned to the channel."
    )
    starts_at: datetime = strawberry.field(description="Whole minutes, UTC. At least 5 minutes and at most 12 hours long.")
    ends_at: datetime
    title: str | None = strawberry.field(default=None, description="1 to 128 characters after trimming.")

    def to_booking(self) -> SlotBooking:
        return SlotBooking(self.channel_id, self.host_user_id, self.starts_at, self.ends_at, self.title)

