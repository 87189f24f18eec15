"""The assignment's conditional writes, for every transaction that assigns a host: `assignChannel`
(data.repository) and a channel request's approval (data.approvals)."""

from __future__ import annotations

from typing import Any

from domain.model import Assignment, AssignmentModel, Channel
from data.dynamo import put, update
from data.records import assignment_item
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
    return [
        put(assignment_item(assignment), condition="attribute_not_exists(pk)"),
        update(
            channel_key(channel.id),
            "ADD assignedHostIds :host",
            condition=channel_condition,
            values={":host": {assignment.host_user_id}},
        ),
    ]
