"""The assignment's conditional writes, for every transaction that assigns a host: `assignChannel`
(data.repository) and a channel request's approval (data.approvals)."""

from __future__ import annotations

from typing import Any

from domain.model import Assignment, AssignmentModel, Channel
from data.dynamo import put, update
from data.records import KEY_CHANGE, assignment_item
from data.table import channel_key

# Indexes of the two writes in `assignment_operations`, for reading a cancelled transaction.
ASSIGNMENT_PUT = 0
CHANNEL_HOSTS_UPDATE = 1


def assignment_operations(assignment: Assignment, channel: Channel) -> list[dict[str, Any]]:
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
    return [
        put(assignment_item(assignment), condition="attribute_not_exists(pk)"),
        update(channel_key(channel.id), "ADD assignedHostIds :host", condition=channel_condition, values=values),
    ]
