"""The channel request rules (CONTRACT.md section 8): validation, decisions, who may cancel or see."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import Caller, may_see_requested_channel, require_may_cancel_request
from domain.channel_requests import (
    ChannelRequest,
    ChannelRequestDraft,
    ChannelRequestStatus,
    approval_idempotency_key,
    decided,
    new_request,
    plan_decision,
    request_id_of_approval_key,
    validate_approval_note,
    validate_draft,
    validate_rejection_note,
)
from domain.errors import BadUserInput, Forbidden, InvalidStateTransition
from domain.model import AssignmentModel, ChannelType, LatencyMode, NewChannelRequest
from tests.unit.builders import NOW, make_assignment, make_channel

ADMIN = Caller("admin-1", is_admin=True)
PRODUCER = Caller("producer-1", is_admin=False)


def pending(**fields: Any) -> ChannelRequest:
    return new_request("req-1", "producer-1", ChannelRequestDraft(name="Show", **fields), NOW)


# Validation


def test_the_draft_is_trimmed_and_empty_optional_fields_are_absent() -> None:
    draft = ChannelRequestDraft(name=" Show ", group_id="g-1", group_name="  ", reason=" Because \t")
    assert validate_draft(draft) == ChannelRequestDraft(name="Show", group_id="g-1", group_name=None, reason="Because")


def test_every_setting_is_kept() -> None:
    draft = ChannelRequestDraft(name="Show", type=ChannelType.BASIC, latency_mode=LatencyMode.NORMAL,
                                assignment_model=AssignmentModel.SHARED, recording_enabled=False)
    assert validate_draft(draft) == draft


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (ChannelRequestDraft(name=""), "'input.name' must be 1 to 128 characters after trimming, got 0."),
        (ChannelRequestDraft(name="a\nb"), "'input.name' must not contain control characters."),
        (ChannelRequestDraft(name="Show", reason="x" * 501),
         "'input.reason' must be at most 500 characters after trimming, got 501."),
        (ChannelRequestDraft(name="Show", reason="a\u0007b"), "'input.reason' must not contain control characters."),
        (ChannelRequestDraft(name="Show", group_name="g" * 129),
         "'input.groupName' must be at most 128 characters after trimming, got 129."),
        (ChannelRequestDraft(name="Show", group_name="a\u200bb"), "'input.groupName' must not contain control characters."),
        (ChannelRequestDraft(name="Show", group_id=""), "'input.groupId' must be 1 to 128 characters, got 0."),
    ],
)
def test_bad_fields_are_bad_user_input_naming_the_field(draft: ChannelRequestDraft, message: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_draft(draft)
    assert raised.value.message == message


def test_limits_are_inclusive() -> None:
    draft = ChannelRequestDraft(name="n" * 128, reason="r" * 500, group_name="g" * 128)
    assert validate_draft(draft) == draft


def test_a_rejection_note_is_trimmed_and_required() -> None:
    assert validate_rejection_note("  Too many channels  ") == "Too many channels"
    with pytest.raises(BadUserInput, match="'note' must be 1 to 500 characters after trimming, got 0."):
        validate_rejection_note(" \t ")
    with pytest.raises(BadUserInput, match="at most 500"):
        validate_rejection_note("n" * 501)


def test_an_approval_note_is_optional() -> None:
    assert validate_approval_note(None) is None
    assert validate_approval_note("   ") is None
    assert validate_approval_note(" Enjoy ") == "Enjoy"
    with pytest.raises(BadUserInput):
        validate_approval_note("n" * 501)


# Decisions


@pytest.mark.parametrize("target", [ChannelRequestStatus.APPROVED, ChannelRequestStatus.REJECTED,
                                    ChannelRequestStatus.CANCELLED])
def test_a_pending_request_may_be_decided_once(target: ChannelRequestStatus) -> None:
    request = pending()
    decision = plan_decision(request, target, "admin-1", NOW, "note", "ch-1")
    after = decided(request, decision)
    assert (after.status, after.decided_by, after.decided_at, after.decision_note, after.channel_id) == (
        target, "admin-1", NOW, "note", "ch-1"
    )
    for again in (ChannelRequestStatus.APPROVED, ChannelRequestStatus.REJECTED, ChannelRequestStatus.CANCELLED):
        with pytest.raises(InvalidStateTransition) as refused:
            plan_decision(after, again, "admin-1", NOW)
        assert refused.value.message.startswith(f"Channel request 'req-1' is {target.value}; only a PENDING request")


def test_nothing_returns_a_request_to_pending() -> None:
    with pytest.raises(InvalidStateTransition):
        plan_decision(pending(), ChannelRequestStatus.PENDING, "admin-1", NOW)


def test_the_approval_key_names_its_request_and_nothing_else() -> None:
    assert request_id_of_approval_key(approval_idempotency_key("req-1")) == "req-1"
    assert request_id_of_approval_key("some-admin-key") is None


def test_the_channel_is_made_with_the_requested_settings_and_the_request_key() -> None:
    request = pending(type=ChannelType.ADVANCED_HD, assignment_model=AssignmentModel.SHARED, recording_enabled=False)
    assert request.channel_settings() == NewChannelRequest(
        name="Show", type=ChannelType.ADVANCED_HD, latency_mode=LatencyMode.LOW,
        assignment_model=AssignmentModel.SHARED, recording_enabled=False, idempotency_key="channelRequest:req-1",
    )


# Access


def test_the_requester_or_an_admin_may_cancel() -> None:
    require_may_cancel_request(PRODUCER, "producer-1", "req-1")
    require_may_cancel_request(ADMIN, "producer-2", "req-1")
    require_may_cancel_request(ADMIN, None, "req-1")


@pytest.mark.parametrize("requester", ["producer-2", None], ids=["someone-elses", "unknown"])
def test_anyone_else_is_forbidden_whether_or_not_the_request_exists(requester: str | None) -> None:
    with pytest.raises(Forbidden) as refused:
        require_may_cancel_request(PRODUCER, requester, "req-1")
    assert refused.value.message == "Channel request 'req-1' is not yours; you may cancel your own requests only."


def test_the_requested_channel_is_seen_by_admins_and_its_assigned_requester() -> None:
    channel = make_channel()
    assert may_see_requested_channel(ADMIN, None, channel.id)
    assert may_see_requested_channel(PRODUCER, make_assignment("producer-1", channel), channel.id)
    assert not may_see_requested_channel(PRODUCER, None, channel.id)
    assert not may_see_requested_channel(PRODUCER, make_assignment("producer-1", make_channel(id="other")), channel.id)
    assert not may_see_requested_channel(ADMIN, None, None)
