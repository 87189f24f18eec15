"""Assignment records (one per host, keyed by the host: one channel per host) and the channel's
`assignedHostIds` they go with (CONTRACT.md section 2): for `assignChannel`, `unassignChannel` and
a channel request's approval (data.approvals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.model import Assignment, AssignmentModel, Channel, ChannelState
from data.dynamo import DynamoTable, delete, put, update
from data.records import KEY_CHANGE, assignment_from_item, assignment_item
from data.table import assignment_key, channel_key
from data.unit_of_work import TransactionRefused, UnitOfWork

# The parts of an assignment's writes in a unit of work: its record, and the channel's hosts.
ASSIGNMENT_PART = "assignment"
CHANNEL_HOSTS_PART = "channel-hosts"


class HostAlreadyAssigned(Exception):
    """The host has an assignment record already."""


class ChannelUnavailable(Exception):
    """The channel record is gone, (HOST_OWNED) it already has a host, or its stream key changed."""


class ChannelIsLive(Exception):
    """The channel is LIVE, so its hosts cannot change."""


class AssignmentGone(Exception):
    """The assignment to remove does not exist (any more) for that channel."""


class AlongsideChanged(Exception):
    """What was to be written alongside an assignment's removal refused (its slots changed meanwhile)."""


class AssignmentStore:
    """The one door to assignment records (ChannelsBackend.assignments)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # Reads

    def get_assignment(self, host_user_id: str) -> Assignment | None:
        item = self.table.get(assignment_key(host_user_id))
        return assignment_from_item(item) if item else None

    def get_assignments(self, host_user_ids: list[str]) -> dict[str, Assignment]:
        items = self.table.batch_get([assignment_key(host) for host in host_user_ids])
        return {assignment.host_user_id: assignment for assignment in map(assignment_from_item, items)}

    # Writes

    def add_to(self, unit: UnitOfWork, assignment: Assignment, channel: Channel) -> None:
        """Put the host's assignment record (only when absent: one channel per host) and add the host to
        the channel (for HOST_OWNED, only while it has none: one host per channel)."""
        channel_condition = "attribute_exists(pk)"
        if channel.assignment_model is AssignmentModel.HOST_OWNED:
            channel_condition += " AND attribute_not_exists(assignedHostIds)"
        # The stream key copied onto the assignment must still be the channel's, with no key change
        # running (data.stream_key_records): else the assignment could hold a key IVS no longer has.
        values: dict[str, Any] = {":host": {assignment.host_user_id}}
        if channel.sealed_stream_key is not None:
            key_condition = "encryptedStreamKey = :copied"
            values[":copied"] = channel.sealed_stream_key
        elif channel.stream_key is not None:
            key_condition = "streamKey = :copied"
            values[":copied"] = channel.stream_key
        else:
            key_condition = ("attribute_not_exists(encryptedStreamKey) AND "
                             "(attribute_not_exists(streamKey) OR attribute_type(streamKey, :null_type))")
            values[":null_type"] = "NULL"
        channel_condition += f" AND attribute_not_exists({KEY_CHANGE}) AND {key_condition}"
        unit.add(ASSIGNMENT_PART, [put(assignment_item(assignment), condition="attribute_not_exists(pk)")])
        unit.add(CHANNEL_HOSTS_PART, [
            update(channel_key(channel.id), "ADD assignedHostIds :host", condition=channel_condition, values=values)
        ])

    def add_assignment(self, assignment: Assignment, channel: Channel) -> None:
        """Put the host's assignment record and add the host to the channel, both or neither."""
        unit = UnitOfWork(self.table)
        self.add_to(unit, assignment, channel)
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(ASSIGNMENT_PART):
                raise HostAlreadyAssigned from None
            raise ChannelUnavailable from None

    def add_removal_to(self, unit: UnitOfWork, assignment: Assignment, channel_exists: bool) -> None:
        """Delete the assignment record and take the host off the channel, unless the channel is LIVE."""
        unit.add(ASSIGNMENT_PART, [delete(
            assignment_key(assignment.host_user_id),
            condition="channelId = :channel_id",
            values={":channel_id": assignment.channel_id},
        )])
        if channel_exists:
            unit.add(CHANNEL_HOSTS_PART, [update(
                channel_key(assignment.channel_id),
                "DELETE assignedHostIds :host",
                condition="attribute_exists(pk) AND #state <> :live",
                names={"#state": "state"},
                values={":host": {assignment.host_user_id}, ":live": ChannelState.LIVE.value},
            )])

    def remove_assignment(self, assignment: Assignment, channel_exists: bool,
                          alongside: Callable[[UnitOfWork], None] | None = None) -> None:
        """Remove the assignment (`add_removal_to`) in one unit with what `alongside` adds to it after
        (the host's slots cancelled, conditional on the channel's schedule). AssignmentGone,
        ChannelIsLive, or AlongsideChanged when one of `alongside`'s parts refused."""
        unit = UnitOfWork(self.table)
        self.add_removal_to(unit, assignment, channel_exists)
        own = unit.parts
        if alongside is not None:
            alongside(unit)
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(ASSIGNMENT_PART):
                raise AssignmentGone from None
            if refused.includes(*(unit.parts - own)):
                raise AlongsideChanged from None
            raise ChannelIsLive from None
