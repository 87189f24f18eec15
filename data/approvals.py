"""The transactions of a channel request's approval that span record kinds: assign the requester
and decide the request in one write, or withdraw the channel an approval made.

The channel itself is made by the create saga (data.repository), keyed by the request's approval
idempotency key; see services.approvals for the steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.channel_requests import Decision, request_id_of_approval_key
from domain.clock import parse_timestamp
from domain.model import Assignment, Channel, ChannelState
from data.assignments import ASSIGNMENT_PUT, CHANNEL_HOSTS_UPDATE, assignment_operations
from data.channel_requests import ChannelRequestStore
from data.dynamo import DynamoTable, TransactionCancelled, delete, update
from data.table import COUNTER_KEY, IDEMPOTENCY_ENTITY, channel_key, idempotency_key

# Where the request's own writes start in the approval transaction (after the assignment's two).
_REQUEST_UPDATE = 2


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


def complete_approval(store: ChannelRequestStore, decision: Decision, assignment: Assignment, channel: Channel) -> None:
    """Assign the requester to the channel and mark the request APPROVED: one transaction, with the
    assignment's conditions and the decision's (the request still PENDING)."""
    try:
        store.table.transact([*assignment_operations(assignment, channel), *store.decision_operations(decision)])
    except TransactionCancelled as cancelled:
        raise ApprovalRefused(
            requester_assigned=ASSIGNMENT_PUT in cancelled.failed,
            channel_taken=CHANNEL_HOSTS_UPDATE in cancelled.failed,
            request_not_pending=_REQUEST_UPDATE in cancelled.failed,
        ) from None


def withdraw_channel(table: DynamoTable, channel_id: str, key: str) -> bool:
    """Delete the record of a channel an approval made and did not hand out, free its capacity slot
    and its idempotency key: one transaction, conditional on the channel being IDLE without hosts
    (never a channel someone holds). False when it is gone or held. Its IVS channel is the caller's
    to delete."""
    operations = [
        delete(
            channel_key(channel_id),
            condition="attribute_exists(pk) AND attribute_not_exists(assignedHostIds) AND #state = :idle",
            names={"#state": "state"},
            values={":idle": ChannelState.IDLE.value},
        ),
        update(
            COUNTER_KEY,
            "ADD #used :minus_one, #idle :minus_one",
            names={"#used": "used", "#idle": "idle"},
            values={":minus_one": -1},
        ),
        delete(idempotency_key(key), condition="channelId = :channel", values={":channel": channel_id}),
    ]
    try:
        table.transact(operations)
    except TransactionCancelled as cancelled:
        if 0 in cancelled.failed:
            return False
        # The key was taken over after expiring: withdraw the channel alone.
        try:
            table.transact(operations[:2])
        except TransactionCancelled:
            return False
    return True


def forget_approval_key(table: DynamoTable, key: str, channel_id: str) -> None:
    """Remove a completed approval key whose channel no longer exists (deleted by an admin), so that
    the next approval makes a new channel. Conditional on the key still naming that channel."""
    try:
        table.transact(
            [delete(idempotency_key(key), condition="channelId = :channel", values={":channel": channel_id})]
        )
    except TransactionCancelled:
        pass  # taken over or removed meanwhile: nothing to forget


def list_approval_keys(table: DynamoTable, entity_index: str) -> list[ApprovalKey]:
    """Every idempotency record an approval made (for `reconcile`, not for requests)."""
    found = []
    for item in table.records_of(entity_index, IDEMPOTENCY_ENTITY):
        key = str(item["pk"]).removeprefix("idempotency#")
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


class ApprovalKeys:
    """The approvals' idempotency records (one door for services; the functions above do the work)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def withdraw_channel(self, channel_id: str, key: str) -> bool:
        return withdraw_channel(self.table, channel_id, key)

    def forget(self, key: str, channel_id: str) -> None:
        forget_approval_key(self.table, key, channel_id)

    def list(self, entity_index: str) -> list[ApprovalKey]:
        return list_approval_keys(self.table, entity_index)
