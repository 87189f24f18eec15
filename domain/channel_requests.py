"""Channel requests (CONTRACT.md section 8): what a producer asks for, and how admins decide.

Plain values and functions, decided before any I/O: storage writes each decision conditional on the
request still being PENDING, so a decided request never changes again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import BadUserInput, InvalidStateTransition
from domain.model import AssignmentModel, ChannelSettings, ChannelType, LatencyMode, NewChannelRequest
from domain.validation import has_control_characters, validate_identifier, validate_new_channel

REASON_MAX_LENGTH = 500
GROUP_NAME_MAX_LENGTH = 128
NOTE_MAX_LENGTH = 500
OWN_REQUESTS_LIMIT = 50
# The idempotency key of the create an approval makes: one channel per request, however often approved.
APPROVAL_KEY_PREFIX = "channelRequest:"


class ChannelRequestStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


# PENDING is the only state a request leaves; every decision is final.
ALLOWED_DECISIONS: frozenset[tuple[ChannelRequestStatus, ChannelRequestStatus]] = frozenset(
    (ChannelRequestStatus.PENDING, decided)
    for decided in (ChannelRequestStatus.APPROVED, ChannelRequestStatus.REJECTED, ChannelRequestStatus.CANCELLED)
)


@dataclass(frozen=True)
class ChannelRequestDraft(ChannelSettings):
    """What a caller sends to `requestChannel` (RequestChannelInput): the channel's settings, and who
    it is for."""

    group_id: str | None = None
    group_name: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ChannelRequest:
    id: str
    requester_id: str
    name: str
    type: ChannelType
    latency_mode: LatencyMode
    assignment_model: AssignmentModel
    recording_enabled: bool
    group_id: str | None
    group_name: str | None
    reason: str | None
    status: ChannelRequestStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None
    # The channel the approval created (APPROVED only).
    channel_id: str | None = None

    @property
    def approval_key(self) -> str:
        return approval_idempotency_key(self.id)

    def channel_settings(self) -> NewChannelRequest:
        """The createChannel input an approval makes the channel with, keyed by the request."""
        return NewChannelRequest(**vars(self.settings()), idempotency_key=self.approval_key)

    def settings(self) -> ChannelSettings:
        return ChannelSettings(self.name, self.type, self.latency_mode, self.assignment_model, self.recording_enabled)


@dataclass(frozen=True)
class Decision:
    """One decision to write, conditional on the request being PENDING."""

    request_id: str
    requester_id: str
    status: ChannelRequestStatus
    decided_by: str
    decided_at: datetime
    note: str | None
    channel_id: str | None = None


def approval_idempotency_key(request_id: str) -> str:
    return f"{APPROVAL_KEY_PREFIX}{request_id}"


def request_id_of_approval_key(key: str) -> str | None:
    """The request an idempotency key belongs to, when an approval made it; else None."""
    return key.removeprefix(APPROVAL_KEY_PREFIX) if key.startswith(APPROVAL_KEY_PREFIX) else None


def _optional_text(argument: str, value: str | None, max_length: int) -> str | None:
    """Trimmed; empty counts as absent; the name's rules otherwise (length, no control characters)."""
    if value is None:
        return None
    trimmed = value.strip()
    if not trimmed:
        return None
    if len(trimmed) > max_length:
        raise BadUserInput(f"'{argument}' must be at most {max_length} characters after trimming, got {len(trimmed)}.")
    if has_control_characters(trimmed):
        raise BadUserInput(f"'{argument}' must not contain control characters.")
    return trimmed


def validate_draft(draft: ChannelRequestDraft) -> ChannelRequestDraft:
    """Check every field of RequestChannelInput: the name as createChannel's, the rest by its length."""
    name = validate_new_channel(NewChannelRequest(name=draft.name)).name
    group_id = None if draft.group_id is None else validate_identifier("input.groupId", draft.group_id)
    return dataclasses.replace(
        draft,
        name=name,
        group_id=group_id,
        group_name=_optional_text("input.groupName", draft.group_name, GROUP_NAME_MAX_LENGTH),
        reason=_optional_text("input.reason", draft.reason, REASON_MAX_LENGTH),
    )


def validate_rejection_note(note: str) -> str:
    """A rejection says why: 1 to 500 characters after trimming."""
    trimmed = _optional_text("note", note, NOTE_MAX_LENGTH)
    if trimmed is None:
        raise BadUserInput(f"'note' must be 1 to {NOTE_MAX_LENGTH} characters after trimming, got 0.")
    return trimmed


def validate_approval_note(note: str | None) -> str | None:
    """An approval's note is optional: up to 500 characters after trimming."""
    return _optional_text("note", note, NOTE_MAX_LENGTH)


def new_request(request_id: str, requester_id: str, draft: ChannelRequestDraft, now: datetime) -> ChannelRequest:
    """A PENDING request from a validated draft."""
    return ChannelRequest(
        id=request_id,
        requester_id=requester_id,
        name=draft.name,
        type=draft.type,
        latency_mode=draft.latency_mode,
        assignment_model=draft.assignment_model,
        recording_enabled=draft.recording_enabled,
        group_id=draft.group_id,
        group_name=draft.group_name,
        reason=draft.reason,
        status=ChannelRequestStatus.PENDING,
        created_at=now,
    )


def plan_decision(
    request: ChannelRequest,
    target: ChannelRequestStatus,
    decided_by: str,
    now: datetime,
    note: str | None = None,
    channel_id: str | None = None,
) -> Decision:
    """The decision `target` on `request`; INVALID_STATE_TRANSITION unless the request is PENDING."""
    if (request.status, target) not in ALLOWED_DECISIONS:
        raise InvalidStateTransition(
            f"Channel request '{request.id}' is {request.status.value}; only a PENDING request can be "
            f"{_participle(target)}."
        )
    return Decision(
        request_id=request.id,
        requester_id=request.requester_id,
        status=target,
        decided_by=decided_by,
        decided_at=now,
        note=note,
        channel_id=channel_id,
    )


def decided(request: ChannelRequest, decision: Decision) -> ChannelRequest:
    """The request as `decision` leaves it (what storage wrote), without reading it back."""
    return dataclasses.replace(
        request,
        status=decision.status,
        decided_at=decision.decided_at,
        decided_by=decision.decided_by,
        decision_note=decision.note,
        channel_id=decision.channel_id,
    )


def _participle(target: ChannelRequestStatus) -> str:
    return {
        ChannelRequestStatus.APPROVED: "approved",
        ChannelRequestStatus.REJECTED: "rejected",
        ChannelRequestStatus.CANCELLED: "cancelled",
    }.get(target, target.value.lower())
