"""Channel request records (CONTRACT.md section 8): their mapping, listings and conditional writes.

Records of their own in the shared table, never touching the seed's shapes:
- the request: `pk=channelRequest#{id}`, `sk=info`, `entityType=channelRequest`;
- the guard `pk=requester#{userId}`, `sk=pendingChannelRequest`, held while that requester has a
  PENDING request: put only when absent, so a requester has at most one PENDING request;
- the counter `pk=counter#channelRequest`, `sk=pending`, moved in the same transactions that enter
  and leave PENDING, so `Capacity.pendingRequests` is one read and exact.

Each decision is conditional on `status = PENDING`: a decided request never changes again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.channel_requests import OWN_REQUESTS_LIMIT, ChannelRequest, ChannelRequestStatus, Decision
from domain.clock import format_timestamp, parse_timestamp
from domain.errors import BadUserInput
from domain.model import AssignmentModel, ChannelType, LatencyMode
from data.dynamo import DynamoTable, delete, put, update
from data.pagination import decode_cursor, encode_cursor
from data.records import _enum, _text
from data.table import (
    CHANNEL_REQUEST_COUNTER_ENTITY,
    CHANNEL_REQUEST_COUNTER_KEY,
    CHANNEL_REQUEST_ENTITY,
    CHANNEL_REQUEST_GUARD_ENTITY,
    CHANNEL_REQUEST_PK_PREFIX,
    CHANNEL_REQUESTS_BY_CREATED_INDEX,
    CHANNEL_REQUESTS_BY_REQUESTER_INDEX,
    CHANNEL_REQUESTS_BY_STATUS_INDEX,
    CHANNEL_SK,
    REQUEST_CATALOG_ATTRIBUTE,
    REQUEST_STATUS_ATTRIBUTE,
    REQUESTER_ATTRIBUTE,
    channel_request_key,
    pending_request_guard_key,
)
from data.unit_of_work import TransactionRefused, UnitOfWork


class AlreadyPending(Exception):
    """The requester has a PENDING request already (the guard item is held)."""


class NotPending(Exception):
    """The request was decided (or is gone) between the read a decision was planned from and its write."""


def request_item(request: ChannelRequest) -> dict[str, Any]:
    item: dict[str, Any] = {
        **channel_request_key(request.id),
        "entityType": CHANNEL_REQUEST_ENTITY,
        "requestId": request.id,
        "requesterId": request.requester_id,
        "channelName": request.name,
        "type": request.type.value,
        "latencyMode": request.latency_mode.value,
        "assignmentModel": request.assignment_model.value,
        "recordingEnabled": request.recording_enabled,
        "status": request.status.value,
        "createdAt": format_timestamp(request.created_at),
        # Index keys (sparse: only request records carry them)
        REQUEST_STATUS_ATTRIBUTE: request.status.value,
        REQUEST_CATALOG_ATTRIBUTE: CHANNEL_REQUEST_ENTITY,
        REQUESTER_ATTRIBUTE: request.requester_id,
    }
    optional = {
        "groupId": request.group_id,
        "groupName": request.group_name,
        "reason": request.reason,
        "decidedAt": request.decided_at and format_timestamp(request.decided_at),
        "decidedBy": request.decided_by,
        "decisionNote": request.decision_note,
        "channelId": request.channel_id,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def request_from_item(item: Mapping[str, Any]) -> ChannelRequest:
    created_at = parse_timestamp(item.get("createdAt"))
    assert created_at is not None, f"channel request {item.get('pk')} has no createdAt"
    return ChannelRequest(
        id=str(item["requestId"]),
        requester_id=str(item["requesterId"]),
        name=str(item.get("channelName", "")),
        type=_enum(ChannelType, item.get("type"), ChannelType.STANDARD),
        latency_mode=_enum(LatencyMode, item.get("latencyMode"), LatencyMode.LOW),
        assignment_model=_enum(AssignmentModel, item.get("assignmentModel"), AssignmentModel.HOST_OWNED),
        recording_enabled=bool(item.get("recordingEnabled", True)),
        group_id=_text(item.get("groupId")),
        group_name=_text(item.get("groupName")),
        reason=_text(item.get("reason")),
        status=ChannelRequestStatus(str(item["status"])),
        created_at=created_at,
        decided_at=parse_timestamp(item.get("decidedAt")),
        decided_by=_text(item.get("decidedBy")),
        decision_note=_text(item.get("decisionNote")),
        channel_id=_text(item.get("channelId")),
    )


@dataclass(frozen=True)
class RequestListing:
    """Which index partition a `channelRequests` query reads, and in which order."""

    index: str
    partition_attribute: str
    partition_value: str
    oldest_first: bool

    @classmethod
    def of(cls, status: ChannelRequestStatus | None) -> RequestListing:
        if status is None:
            return cls(CHANNEL_REQUESTS_BY_CREATED_INDEX, REQUEST_CATALOG_ATTRIBUTE, CHANNEL_REQUEST_ENTITY, False)
        # PENDING is a queue: oldest first. Decided requests: newest first.
        return cls(CHANNEL_REQUESTS_BY_STATUS_INDEX, REQUEST_STATUS_ATTRIBUTE, status.value,
                   status is ChannelRequestStatus.PENDING)

    def cursor_of(self, item: Mapping[str, Any]) -> str:
        return encode_cursor(
            {"pk": item["pk"], "sk": item["sk"], self.partition_attribute: self.partition_value,
             "createdAt": item["createdAt"]}
        )

    def position_from_cursor(self, cursor: str) -> dict[str, str]:
        """Only an exact request-index key in this listing's partition; else BAD_USER_INPUT."""
        position = decode_cursor(cursor, {"pk", "sk", self.partition_attribute, "createdAt"})
        if (
            position is None
            or not position["pk"].startswith(CHANNEL_REQUEST_PK_PREFIX)
            or position["sk"] != CHANNEL_SK
            or position[self.partition_attribute] != self.partition_value
        ):
            raise BadUserInput("'after' is not a cursor this service returned for this listing.")
        return position


# The parts of a request's writes in a unit of work.
REQUEST_PART = "request"
REQUEST_GUARD_PART = "request-guard"
PENDING_COUNT_PART = "pending-requests-count"

@dataclass(frozen=True)
class RequestPage:
    requests: list[tuple[ChannelRequest, str]]  # each request with its cursor
    has_next_page: bool
    items_read: int


# The reads' requests and answers, shared by ChannelRequestStore (boto3, for mutations and tools) and
# data.request_reads (the queries' reads on the event loop): one request body, one decoding.

def requests_query(status: ChannelRequestStatus | None, first: int, after: str | None) -> dict[str, Any]:
    """The Query (without its table) of a `channelRequests` page: `first + 1` items of the listing's
    index partition (the extra one says a next page exists). BAD_USER_INPUT for a foreign cursor."""
    listing = RequestListing.of(status)
    query: dict[str, Any] = {
        "IndexName": listing.index,
        "KeyConditionExpression": "#partition = :partition",
        "ExpressionAttributeNames": {"#partition": listing.partition_attribute},
        "ExpressionAttributeValues": {":partition": {"S": listing.partition_value}},
        "ScanIndexForward": listing.oldest_first,
        "Limit": first + 1,
    }
    if after is not None:
        start = listing.position_from_cursor(after)
        query["ExclusiveStartKey"] = {name: {"S": value} for name, value in start.items()}
    return query


def request_page(status: ChannelRequestStatus | None, items: list[dict[str, Any]], items_read: int,
                 first: int) -> RequestPage:
    """The page that `requests_query`'s items make: at most `first`, each with its cursor."""
    listing = RequestListing.of(status)
    return RequestPage(
        requests=[(request_from_item(item), listing.cursor_of(item)) for item in items[:first]],
        has_next_page=len(items) > first,
        items_read=items_read,
    )


def own_requests_query(requester_id: str) -> dict[str, Any]:
    """The Query (without its table) of a requester's requests, newest first, at most OWN_REQUESTS_LIMIT."""
    return {
        "IndexName": CHANNEL_REQUESTS_BY_REQUESTER_INDEX,
        "KeyConditionExpression": "#requester = :requester",
        "ExpressionAttributeNames": {"#requester": REQUESTER_ATTRIBUTE},
        "ExpressionAttributeValues": {":requester": {"S": requester_id}},
        "ScanIndexForward": False,
        "Limit": OWN_REQUESTS_LIMIT,
    }


def pending_count_of(counter: Mapping[str, Any] | None) -> int:
    """The PENDING requests the counter item holds (0 without one; never below 0)."""
    return max(int((counter or {}).get("pending", 0)), 0)


class ChannelRequestStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # Reads

    def get(self, request_id: str) -> ChannelRequest | None:
        item = self.table.get(channel_request_key(request_id))
        return request_from_item(item) if item else None

    def list_requests(self, status: ChannelRequestStatus | None, first: int, after: str | None) -> RequestPage:
        """One Query of at most `first + 1` items (the extra one says a next page exists)."""
        items, items_read = self.table.query(**requests_query(status, first, after))
        return request_page(status, items, items_read, first)

    def list_own(self, requester_id: str) -> list[ChannelRequest]:
        """The requester's requests, newest first, at most OWN_REQUESTS_LIMIT: one Query."""
        items, _ = self.table.query(**own_requests_query(requester_id))
        return [request_from_item(item) for item in items]

    def pending_count(self) -> int:
        """The PENDING requests' counter: one eventually consistent GetItem."""
        return pending_count_of(self.table.get(CHANNEL_REQUEST_COUNTER_KEY, consistent=False))

    # Writes

    def add(self, request: ChannelRequest) -> None:
        """Put a PENDING request, its requester's guard and the counter's +1, conditional on the
        requester having no PENDING request: one transaction. AlreadyPending when they have one.

        Whether the requester holds a channel is the caller's read just before (the deployment grants
        no condition checks on items the service does not write in the transaction): an assignment
        made between that read and this write leaves a PENDING request whose approval is then
        CONFLICT, because the approval puts the assignment record only when absent. A host never
        holds two channels."""
        unit = UnitOfWork(self.table)
        unit.add(REQUEST_GUARD_PART, [put(
            {
                **pending_request_guard_key(request.requester_id),
                "entityType": CHANNEL_REQUEST_GUARD_ENTITY,
                "requestId": request.id,
                "createdAt": format_timestamp(request.created_at),
            },
            condition="attribute_not_exists(pk)",
        )])
        unit.add(REQUEST_PART, [put(request_item(request), condition="attribute_not_exists(pk)")])
        unit.add(PENDING_COUNT_PART, [self._count_pending(+1)])
        try:
            unit.commit()
        except TransactionRefused as refused:
            if refused.includes(REQUEST_GUARD_PART):
                raise AlreadyPending from None
            raise  # the request id exists already: a new uuid4 never does

    def decide(self, decision: Decision) -> None:
        """Write a rejection or cancellation: NotPending when the request is no longer PENDING."""
        unit = UnitOfWork(self.table)
        self.add_decision_to(unit, decision)
        try:
            unit.commit()
        except TransactionRefused:
            raise NotPending from None

    def add_decision_to(self, unit: UnitOfWork, decision: Decision) -> None:
        """The writes of a decision, each conditional on the request being PENDING (for this
        module's transactions and for the approval's, which adds the assignment to them)."""
        values: dict[str, Any] = {
            ":status": decision.status.value,
            ":pending": ChannelRequestStatus.PENDING.value,
            ":at": format_timestamp(decision.decided_at),
            ":by": decision.decided_by,
        }
        clauses = ["#status = :status", "#status_key = :status", "decidedAt = :at", "decidedBy = :by"]
        if decision.note is not None:
            clauses.append("decisionNote = :note")
            values[":note"] = decision.note
        if decision.channel_id is not None:
            clauses.append("channelId = :channel")
            values[":channel"] = decision.channel_id
        unit.add(REQUEST_PART, [update(
            channel_request_key(decision.request_id),
            "SET " + ", ".join(clauses),
            condition="attribute_exists(pk) AND #status = :pending",
            names={"#status": "status", "#status_key": REQUEST_STATUS_ATTRIBUTE},
            values=values,
        )])
        # The guard goes with the PENDING state it guards (only this request's).
        unit.add(REQUEST_GUARD_PART, [delete(
            pending_request_guard_key(decision.requester_id),
            condition="requestId = :request",
            values={":request": decision.request_id},
        )])
        unit.add(PENDING_COUNT_PART, [self._count_pending(-1)])

    @staticmethod
    def _count_pending(delta: int) -> dict[str, Any]:
        return update(
            CHANNEL_REQUEST_COUNTER_KEY,
            "SET entityType = :entity ADD #pending :delta",
            names={"#pending": "pending"},
            values={":delta": delta, ":entity": CHANNEL_REQUEST_COUNTER_ENTITY},
        )
