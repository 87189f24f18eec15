"""approveChannelRequest (CONTRACT.md section 8), and what `reconcile` does about interrupted approvals.

Blocking (boto3): resolvers run it in the thread pool.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from domain.access import Caller, require_admin
from domain.channel_requests import (
    ChannelRequest,
    ChannelRequestStatus,
    decided,
    plan_decision,
    validate_approval_note,
)
from domain.errors import ChannelsError, Conflict, InvalidStateTransition, NotFound
from domain.model import Channel, ChannelState
from domain.validation import validate_identifier
from data.approvals import (
    ApprovalKey,
    ApprovalRefused,
    complete_approval,
)
from data.channel_requests import NotPending
from services.backend import ChannelsBackend
from services.channels import CHANNEL_ID_TAG, create_channel, new_assignment

log = logging.getLogger(__name__)


def approve_channel_request(
    backend: ChannelsBackend, caller: Caller, request_id: str, note: str | None
) -> ChannelRequest:
    """Create the requested channel, assign the requester, mark the request APPROVED; or change nothing.

    Steps:
    1. read the request: APPROVED is answered as it is (a retry is safe), REJECTED or CANCELLED is
       INVALID_STATE_TRANSITION; a requester who holds a channel is CONFLICT before anything is made;
    2. create the channel through createChannel's saga (capacity, no orphans), with the idempotency
       key `channelRequest:{id}`: a retry or concurrent approvals of one request get the same
       channel. CAPACITY_EXCEEDED (or any failure) here leaves nothing, the request PENDING;
    3. one transaction: the requester's assignment (with assignChannel's conditions) and the
       decision (conditional on the request still PENDING), the requester's PENDING guard removed
       and the pending counter decremented.
    When 3 is refused because a concurrent approval already wrote it, the answer is that approval's
    request; otherwise (cancelled or rejected meanwhile, the requester got a channel meanwhile) the
    channel of step 2 is withdrawn at once: record, slot and key in one conditional transaction,
    then its IVS channel. A crash between 2 and 3, or a withdrawal that fails, leaves an unassigned
    channel whose approval key names a request that is not APPROVED with it: `reconcile` withdraws
    it (and its IVS channel, tagged with the channel id, is an orphan it deletes if only that is left).
    """
    validate_identifier("id", request_id)
    note = validate_approval_note(note)
    require_admin(caller, "approveChannelRequest")
    store = backend.requests
    request = store.get(request_id)
    if request is None:
        raise NotFound(f"Channel request '{request_id}' does not exist.")
    if request.status is ChannelRequestStatus.APPROVED:
        return request
    plan_decision(request, ChannelRequestStatus.APPROVED, caller.user_id, backend.clock(), note)  # PENDING only
    _refuse_if_holding_another(backend, request, channel_id=None)

    try:
        channel = _channel_for(backend, caller, request)
    except ChannelsError as failure:
        # A concurrent rejection or cancellation may have withdrawn the channel another approval of
        # this request was making: then the request's decision, not that failure, is the answer.
        return _decided_meanwhile(backend, request, failure)
    decision = plan_decision(request, ChannelRequestStatus.APPROVED, caller.user_id, backend.clock(), note, channel.id)
    assignment = new_assignment(backend, channel, request.requester_id, caller.user_id)
    try:
        complete_approval(store, backend.assignments, decision, assignment, channel)
    except ApprovalRefused:
        return _after_refusal(backend, caller, request, channel, note)
    except BaseException:
        # Not written (or, after a lost answer, written: then the channel has its host and is kept).
        _withdraw(backend, channel, request)
        raise
    return decided(request, decision)


def _decided_meanwhile(backend: ChannelsBackend, request: ChannelRequest, failure: ChannelsError) -> ChannelRequest:
    """After step 2 failed: another approval's answer when it approved the request,
    INVALID_STATE_TRANSITION when it was rejected or cancelled meanwhile, else the failure itself."""
    current = backend.requests.get(request.id)
    if current is not None and current.status is ChannelRequestStatus.APPROVED:
        return current
    if current is None or current.status is not ChannelRequestStatus.PENDING:
        status = current.status.value if current else "gone"
        raise InvalidStateTransition(
            f"Channel request '{request.id}' was {status.lower()} meanwhile; it can no longer be approved."
        )
    raise failure  # still PENDING: the failure is the answer (CAPACITY_EXCEEDED, UPSTREAM_ERROR, ...)


def _channel_for(backend: ChannelsBackend, caller: Caller, request: ChannelRequest) -> Channel:
    """The channel of step 2; a key left by a channel that was deleted since is forgotten, once."""
    try:
        return create_channel(backend, caller, request.channel_settings())
    except NotFound:
        record = backend.idempotency_records.get_idempotency_record(request.approval_key, backend.clock())
        if record is not None:
            backend.approval_keys.forget(request.approval_key, record.channel_id)
        return create_channel(backend, caller, request.channel_settings())


def _after_refusal(
    backend: ChannelsBackend, caller: Caller, request: ChannelRequest, channel: Channel, note: str | None
) -> ChannelRequest:
    """Step 3 was refused: find out why from what the table holds now."""
    current = backend.requests.get(request.id)
    if current is not None and current.status is ChannelRequestStatus.APPROVED:
        return current  # a concurrent approval of the same request wrote it first
    if current is None or current.status is not ChannelRequestStatus.PENDING:
        _withdraw(backend, channel, request)
        status = current.status.value if current else "gone"
        raise InvalidStateTransition(
            f"Channel request '{request.id}' was {status.lower()} meanwhile; it can no longer be approved."
        )
    held = backend.assignments.get_assignment(request.requester_id)
    if held is not None and held.channel_id == channel.id:
        # An admin assigned the requester to this very channel meanwhile: only the decision is left.
        decision = plan_decision(current, ChannelRequestStatus.APPROVED, caller.user_id, backend.clock(), note,
                                 channel.id)
        try:
            backend.requests.decide(decision)
        except NotPending:
            return _after_refusal(backend, caller, request, channel, note)
        return decided(current, decision)
    _withdraw(backend, channel, request)
    _refuse_if_holding_another(backend, request, channel_id=channel.id)
    raise Conflict(
        f"Channel '{channel.id}' made for request '{request.id}' was taken by another host or withdrawn "
        "meanwhile; nothing was approved: approve again."
    )


def _refuse_if_holding_another(backend: ChannelsBackend, request: ChannelRequest, channel_id: str | None) -> None:
    held = backend.assignments.get_assignment(request.requester_id)
    if held is not None and held.channel_id != channel_id:
        raise Conflict(
            f"Requester '{request.requester_id}' already holds channel '{held.channel_id}'; "
            "nothing was changed (reject or cancel the request, or unassign them first)."
        )


def _withdraw(backend: ChannelsBackend, channel: Channel, request: ChannelRequest) -> None:
    """Undo step 2 for an approval that did not go through; failures are left to `reconcile`."""
    try:
        if backend.approval_keys.withdraw_channel(channel.id, request.approval_key):
            backend.ivs.delete_channel(channel.arn)
    except Exception:
        log.exception(
            "channel %s made for request %s could not be withdrawn (tag %s); reconcile --apply repairs it",
            channel.id, request.id, CHANNEL_ID_TAG,
        )


def interrupted_approvals(
    backend: ChannelsBackend, entity_index: str, now: datetime, stale_after: timedelta
) -> list[tuple[ApprovalKey, Channel]]:
    """Channels an approval made and did not hand out: the request is not APPROVED with them, they
    have no host, and their key is older than `stale_after` (younger ones may be approvals in progress)."""
    found = []
    for approval in backend.approval_keys.list(entity_index):
        if not approval.complete:
            continue  # a create still in its saga: reconcile's stale-create repair covers it
        if approval.created_at is not None and now - approval.created_at < stale_after:
            continue
        request = backend.requests.get(approval.request_id)
        if request is not None and request.channel_id == approval.channel_id:
            continue  # approved with it
        channel = backend.channels.get_channel(approval.channel_id)
        if channel is None or channel.assigned_host_ids or channel.state is not ChannelState.IDLE:
            continue  # gone (its key is forgotten by the next approval), or taken into use by an admin
        found.append((approval, channel))
    return found


def withdraw_interrupted(backend: ChannelsBackend, approval: ApprovalKey, channel: Channel) -> bool:
    """Withdraw the channel of an interrupted approval; False when it changed meanwhile."""
    if not backend.approval_keys.withdraw_channel(channel.id, approval.key):
        return False
    try:
        backend.ivs.delete_channel(channel.arn)
    except ChannelsError:
        log.exception("IVS channel %s could not be deleted; the next reconcile deletes it as an orphan", channel.arn)
    return True
