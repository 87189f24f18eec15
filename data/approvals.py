"""The transactions of a channel request's approval that span record kinds: assign the requester
and decide the request in one write, or withdraw the channel an approval made.

The channel itself is made by the create saga (data.capacity and data.channels), keyed by the request's approval
idempotency key; see services.approvals for the steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.channel_requests import Decision, request_id_of_approval_key
from domain.clock import parse_timestamp
from domain.model import Assignment, Channel, ChannelState
from data.assignments import ASSIGNMENT_PART, CHANNEL_HOSTS_PART, AssignmentStore
from data.channel_requests import REQUEST_PART, ChannelRequestStore
from data.channels import CHANNEL_PART, ChannelStore
from data.dynamo import DynamoTable
from data.idempotency import IdempotencyRecords
from data.unit_of_work import TransactionRefused, UnitOfWork


@dataclass(frozen=True)
class ApprovalRefused(Exception):
    """A condition of the approval transaction failed; which ones, as far as DynamoDB said."""

    requester_assigned: bool
    channel_taken: bool
    request_not_pending: bool


@dataclass(frozen=True)
class ApprovalKey:
    """An idempotency record of a create made by an approval: the link from a request to its channel."""

    request_id: str
    key: str
    channel_id: str
    complete: bool
    created_at: datetime | None


def complete_approval(requests: ChannelRequestStore, assignments: AssignmentStore, decision: Decision,
                      assignment: Assignment, channel: Channel) -> None:
    """Assign the requester to the channel and mark the request APPROVED: one transaction, with the
    assignment's conditions and the decision's (the request still PENDING)."""
    unit = UnitOfWork(requests.table)
    assignments.add_to(unit, assignment, channel)
    requests.add_decision_to(unit, decision)
    try:
        unit.commit()
    except TransactionRefused as refused:
        raise ApprovalRefused(
            requester_assigned=refused.includes(ASSIGNMENT_PART),
            channel_taken=refused.includes(CHANNEL_HOSTS_PART),
            request_not_pending=refused.includes(REQUEST_PART),
        ) from None


class ApprovalKeys:
    """The approvals' idempotency records: the link from a request to the channel its approval made."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.records = IdempotencyRecords(table)

    def withdraw_channel(self, channel_id: str, key: str) -> bool:
        """Delete the record of a channel an approval made and did not hand out, free its capacity slot
        and its idempotency key: one transaction, conditional on the channel being IDLE without hosts
        (never a channel someone holds). False when it is gone or held. Its IVS channel is the
        caller's to delete."""
        channels = ChannelStore(self.table)
        return self.records.commit_freeing(
            lambda unit: channels.add_removal_to(unit, channel_id, ChannelState.IDLE), CHANNEL_PART, key, channel_id
        )

    def forget(self, key: str, channel_id: str) -> None:
        """Remove a completed approval key whose channel no longer exists (deleted by an admin), so
        that the next approval makes a new channel. Conditional on the key still naming that channel."""
        self.records.forget(key, channel_id)

    def list(self, entity_index: str) -> list[ApprovalKey]:
        """Every idempotency record an approval made (for `reconcile`, not for requests)."""
        found = []
        for key, item in self.records.records(entity_index):
            request_id = request_id_of_approval_key(key)
            if request_id is None:
                continue
            found.append(
                ApprovalKey(
                    request_id=request_id,
                    key=key,
                    channel_id=str(item["channelId"]),
                    complete=item.get("status") == "COMPLETE",
                    created_at=parse_timestamp(item.get("createdAt")),
                )
            )
        return found
