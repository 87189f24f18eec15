"""`smoke`'s schedule steps (16 to 18, CONTRACT.md section 12): on the SHARED channel the approval of
step 14 made, the admin books a slot for its requester a day ahead, finds it in the channel's
schedule, and cancels it. The cleanup's unassignment and deletion cancel whatever a failed step left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commands.operations import document
from commands.smoke_endpoint import GraphQLEndpoint, StepFailed
from domain.clock import format_timestamp

BOOK_SLOT = document("SmokeBookSlot")
CHANNEL_SLOTS = document("SmokeChannelSlots")
CANCEL_SLOT = document("SmokeCancelSlot")
SLOT_LENGTH = timedelta(minutes=30)


class SlotSteps:
    """What the schedule steps made, for the next step."""

    def __init__(self, api: GraphQLEndpoint) -> None:
        self.api = api
        self.slot_id: str | None = None
        # A day ahead, in whole minutes (slots are booked in whole UTC minutes).
        self.starts_at = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)

    def book(self, channel_id: str, host_id: str) -> str:
        variables = {"input": {"channelId": channel_id, "hostUserId": host_id, "title": "shelcaster-channels smoke",
                               "startsAt": format_timestamp(self.starts_at),
                               "endsAt": format_timestamp(self.starts_at + SLOT_LENGTH)}}
        slot = self.api(BOOK_SLOT, variables)["bookSlot"]
        self.slot_id = slot["id"]
        _expect(slot["hostUserId"] == host_id, f"booked for {slot['hostUserId']}, expected {host_id}")
        return f"slot {self.slot_id} booked for {host_id} from {slot['startsAt']}"

    def listed(self, channel_id: str) -> str:
        window = {"id": channel_id, "from": format_timestamp(self.starts_at),
                  "to": format_timestamp(self.starts_at + SLOT_LENGTH)}
        channel = self.api(CHANNEL_SLOTS, window)["channel"]
        _expect(channel is not None, f"channel(id: {channel_id}) is null")
        found = [edge["node"]["id"] for edge in channel["slots"]["edges"]]
        _expect(found == [self.slot_id], f"the channel's schedule holds {found}, expected [{self.slot_id!r}]")
        return "in the channel's schedule"

    def cancel(self) -> str:
        slot = self.api(CANCEL_SLOT, {"id": self.slot_id})["cancelSlot"]
        _expect(slot["cancelledAt"] is not None, "cancelSlot left cancelledAt null")
        return f"slot {self.slot_id} cancelled"

    def needs_slot(self) -> str | None:
        return None if self.slot_id else "no slot (step 16 failed)"


def _expect(condition: bool, failure: str) -> None:
    if not condition:
        raise StepFailed(failure)
