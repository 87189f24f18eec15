"""Channel requests (CONTRACT.md section 8): ask for a channel, list, reject, cancel. Approval, the
multi-step one, is in services.approvals.

The queries' reads (the `async` functions) are awaited on the event loop (data.request_reads); the
rest are blocking (boto3): resolvers run them in the thread pool.
"""

from __future__ import annotations

import uuid

from domain.access import Caller, require_admin, require_may_cancel_request, require_may_request_channel
from domain.channel_requests import (
    ChannelRequest,
    ChannelRequestDraft,
    ChannelRequestStatus,
    decided,
    new_request,
    plan_decision,
    validate_draft,
    validate_rejection_note,
)
from domain.errors import Conflict, NotFound
from domain.validation import validate_identifier, validate_page_size
from data.channel_requests import AlreadyPending, NotPending, RequestListing, RequestPage
from services.backend import ChannelsBackend


def request_channel(backend: ChannelsBackend, caller: Caller, draft: ChannelRequestDraft) -> ChannelRequest:
    """A PENDING request by the caller; CONFLICT when they have a PENDING one or hold a channel.

    One PENDING request per requester is a condition of the transaction that writes the request, so
    two requests sent at once by one caller leave one PENDING. Holding a channel is read just before
    (see ChannelRequestStore.add for why that is enough: the approval's write is conditional)."""
    draft = validate_draft(draft)
    require_may_request_channel(caller)
    holding = backend.assignments.get_assignment(caller.user_id)
    if holding is not None:
        raise Conflict(f"You already hold a channel ('{holding.channel_id}'); a host holds at most one.")
    request = new_request(str(uuid.uuid4()), caller.user_id, draft, backend.clock())
    try:
        backend.requests.add(request)
    except AlreadyPending:
        raise Conflict(
            "You already have a PENDING channel request; cancel it or wait for an admin's decision."
        ) from None
    return request


async def my_channel_requests(backend: ChannelsBackend, caller: Caller) -> list[ChannelRequest]:
    """The caller's own requests, newest first (one Query, on the event loop)."""
    require_may_request_channel(caller, "myChannelRequests")
    return await backend.request_reads.own(caller.user_id)


async def list_channel_requests(
    backend: ChannelsBackend, caller: Caller, status: ChannelRequestStatus | None, first: int, after: str | None
) -> RequestPage:
    """The admins' queue: PENDING oldest first, other statuses (and all) newest first; one Query a
    page, on the event loop."""
    validate_page_size(first)
    if after is not None:
        RequestListing.of(status).position_from_cursor(after)  # BAD_USER_INPUT comes before FORBIDDEN
    require_admin(caller, "channelRequests")
    return await backend.request_reads.page(status, first, after)


async def pending_request_count(backend: ChannelsBackend) -> int:
    """The PENDING requests' counter (one GetItem, on the event loop)."""
    return await backend.request_reads.pending_count()


def reject_channel_request(backend: ChannelsBackend, caller: Caller, request_id: str, note: str) -> ChannelRequest:
    """PENDING only (else INVALID_STATE_TRANSITION); the note, shown to the requester, is required."""
    validate_identifier("id", request_id)
    note = validate_rejection_note(note)
    require_admin(caller, "rejectChannelRequest")
    request = _existing(backend, request_id)
    return _decide(backend, request, ChannelRequestStatus.REJECTED, caller, note)


def cancel_channel_request(backend: ChannelsBackend, caller: Caller, request_id: str) -> ChannelRequest:
    """The requester's (or an admin's) withdrawal of a PENDING request."""
    validate_identifier("id", request_id)
    request = backend.requests.get(request_id)
    require_may_cancel_request(caller, request.requester_id if request else None, request_id)
    if request is None:
        raise NotFound(f"Channel request '{request_id}' does not exist.")
    return _decide(backend, request, ChannelRequestStatus.CANCELLED, caller, None)


def _existing(backend: ChannelsBackend, request_id: str) -> ChannelRequest:
    request = backend.requests.get(request_id)
    if request is None:
        raise NotFound(f"Channel request '{request_id}' does not exist.")
    return request


def _decide(
    backend: ChannelsBackend, request: ChannelRequest, target: ChannelRequestStatus, caller: Caller, note: str | None
) -> ChannelRequest:
    decision = plan_decision(request, target, caller.user_id, backend.clock(), note)
    try:
        backend.requests.decide(decision)
    except NotPending:
        # Decided concurrently: the state it was decided into says why this one cannot be.
        plan_decision(_existing(backend, request.id), target, caller.user_id, backend.clock(), note)
        raise Conflict(f"Channel request '{request.id}' changed concurrently; read it and retry.") from None
    return decided(request, decision)
