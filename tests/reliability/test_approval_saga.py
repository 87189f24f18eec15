"""An approval under faults and crashes at each of its steps: nothing left behind by one that failed
(at worst after `reconcile --apply`), the request PENDING, and a retry that converges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import services.approvals
from app.bootstrap import Service
from domain.access import Caller
from data.channel_requests import ChannelRequestStore
from domain.channel_requests import ChannelRequest, ChannelRequestDraft, ChannelRequestStatus
from domain.errors import Conflict, InvalidStateTransition, NotFound, UpstreamError
from domain.model import ChannelState, NewChannelRequest
from services.approvals import approve_channel_request
from services.channel_requests import cancel_channel_request, request_channel
from services.channels import assign_channel, create_channel, delete_channel, set_channel_state
from services.reconcile import reconcile
from tests.api.channel_requests_support import ivs_channel_count, table_items
from tests.faults import Fault
from tests.reliability.test_create_saga import Crash

# These tests count the account's IVS channels (or reconcile it against the table): an empty account each
# (docs/testing.md, "Fixtures").
pytestmark = pytest.mark.usefixtures("aws_connection")

ADMIN = Caller("admin-1", is_admin=True)
PRODUCER = Caller("producer-1", is_admin=False)
NOW = timedelta(0)


def assert_consistent(service: Service, channels: int) -> None:
    """IVS, channel records, pending creates and counters agree, with `channels` channels."""
    assert ivs_channel_count(service) == channels
    records = table_items(service, "channel#")
    assert len([item for item in records if item["sk"]["S"] == "info"]) == channels
    assert [item for item in records if item["sk"]["S"] == "pending"] == []
    assert service.backend.capacity.read_capacity_counts().used == channels
    assert reconcile(service.backend, service.settings.entity_index, apply=False, stale_after=NOW).consistent


def assert_pending(service: Service, request_id: str) -> None:
    request = service.backend.requests.get(request_id)
    assert request is not None and request.status is ChannelRequestStatus.PENDING and request.channel_id is None
    assert service.backend.requests.pending_count() == 1
    assert service.backend.assignments.get_assignment(request.requester_id) is None


def submit(service: Service) -> str:
    return request_channel(service.backend, PRODUCER, ChannelRequestDraft(name="Faulty")).id


def assert_approved_on_retry(service: Service, request_id: str) -> None:
    approved = approve_channel_request(service.backend, ADMIN, request_id, None)
    assert approved.status is ChannelRequestStatus.APPROVED and approved.channel_id is not None
    assignment = service.backend.assignments.get_assignment("producer-1")
    assert assignment is not None and assignment.channel_id == approved.channel_id
    assert service.backend.requests.pending_count() == 0
    assert_consistent(service, 1)


# Faults answered at once: the approval fails with UPSTREAM_ERROR and leaves nothing


@pytest.mark.parametrize(
    ("client", "operation", "code", "calls"),
    [
        ("ivs", "CreateChannel", "ThrottlingException", {1}),
        ("dynamodb", "TransactWriteItems", "InternalServerError", {1}),  # reserve the slot
        ("dynamodb", "TransactWriteItems", "InternalServerError", {2}),  # save the channel record
        ("dynamodb", "TransactWriteItems", "InternalServerError", {3}),  # assign and decide
        ("dynamodb", "GetItem", "InternalServerError", {1}),  # read the request
    ],
    ids=["ivs-create", "reserve-slot", "save-record", "assign-and-decide", "read-request"],
)
def test_a_fault_at_any_step_leaves_nothing_and_a_retry_converges(
    service: Service, client: str, operation: str, code: str, calls: set[int]
) -> None:
    request_id = submit(service)
    with Fault(getattr(service.clients, client), operation, code, on_calls=calls, status=500) as fault:
        with pytest.raises(Exception) as failed:
            approve_channel_request(service.backend, ADMIN, request_id, None)
    assert fault.injected == 1
    assert getattr(failed.value, "code", None) == "UPSTREAM_ERROR"
    assert_consistent(service, 0)
    assert_pending(service, request_id)
    assert_approved_on_retry(service, request_id)


def test_a_failed_withdrawal_is_repaired_by_reconcile(service: Service) -> None:
    request_id = submit(service)
    # The approval's transaction fails, and so does the withdrawal of its channel.
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError", on_calls={3, 4}):
        with pytest.raises(Exception):
            approve_channel_request(service.backend, ADMIN, request_id, None)
    assert ivs_channel_count(service) == 1
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert [f.kind for f in report.findings] == ["interrupted-approval"] and report.repaired
    assert_consistent(service, 0)
    assert_pending(service, request_id)
    assert_approved_on_retry(service, request_id)


def test_an_ivs_delete_failing_during_withdrawal_leaves_an_orphan_that_reconcile_deletes(service: Service) -> None:
    request_id = submit(service)
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError", on_calls={3}), \
            Fault(service.clients.ivs, "DeleteChannel", "InternalServerException"):
        with pytest.raises(Exception):
            approve_channel_request(service.backend, ADMIN, request_id, None)
    assert ivs_channel_count(service) == 1
    assert service.backend.capacity.read_capacity_counts().used == 0  # the slot was given back
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert [f.kind for f in report.findings] == ["orphan-ivs-channel"] and report.repaired
    assert_consistent(service, 0)
    assert_approved_on_retry(service, request_id)


# Something else happens between making the channel and handing it out


def between_create_and_assignment(monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]) -> None:
    real = services.approvals.complete_approval

    def meanwhile(*args: Any) -> None:
        action()
        real(*args)

    monkeypatch.setattr(services.approvals, "complete_approval", meanwhile)


def test_a_cancellation_between_the_steps_withdraws_the_channel(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = submit(service)
    between_create_and_assignment(monkeypatch, lambda: cancel_channel_request(service.backend, PRODUCER, request_id))
    with pytest.raises(InvalidStateTransition):
        approve_channel_request(service.backend, ADMIN, request_id, None)
    assert_consistent(service, 0)
    request = service.backend.requests.get(request_id)
    assert request is not None and request.status is ChannelRequestStatus.CANCELLED
    assert service.backend.requests.pending_count() == 0


def test_a_channel_assigned_to_the_requester_meanwhile_is_conflict_and_the_approval_leaves_nothing(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = submit(service)
    other = create_channel(service.backend, ADMIN, NewChannelRequest(name="Other"))
    between_create_and_assignment(monkeypatch, lambda: assign_channel(service.backend, ADMIN, other.id, "producer-1"))
    with pytest.raises(Conflict) as refused:
        approve_channel_request(service.backend, ADMIN, request_id, None)
    assert other.id in refused.value.message
    assert_consistent(service, 1)  # only the other channel
    request = service.backend.requests.get(request_id)
    assert request is not None and request.status is ChannelRequestStatus.PENDING
    assert service.backend.requests.pending_count() == 1


# Crashes: the process dies between two steps, so nothing compensates


def crash(*args: Any, **kwargs: Any) -> None:
    raise Crash


def crash_at(monkeypatch: pytest.MonkeyPatch, service: Service, step: str) -> None:
    backend = service.backend
    # A dead process compensates nothing.
    monkeypatch.setattr(services.approvals, "_withdraw", lambda *a: None)
    monkeypatch.setattr(backend.capacity, "release_channel_slot", lambda *a, **k: True)
    monkeypatch.setattr(backend.ivs, "delete_channel", lambda arn: None)
    real_create, real_complete = backend.ivs.create_channel, services.approvals.complete_approval

    def create_then_crash(**kwargs: Any) -> Any:
        real_create(**kwargs)
        raise Crash

    def complete_then_crash(*args: Any) -> None:
        real_complete(*args)
        raise Crash

    steps: dict[str, tuple[object, str, Callable[..., Any]]] = {
        "in-create-after-ivs": (backend.ivs, "create_channel", create_then_crash),
        "before-assignment": (services.approvals, "complete_approval", crash),
        "after-assignment": (services.approvals, "complete_approval", complete_then_crash),
    }
    target, name, replacement = steps[step]
    monkeypatch.setattr(target, name, replacement)


@pytest.mark.parametrize(
    ("step", "kinds"),
    [
        ("in-create-after-ivs", ["orphan-ivs-channel", "stale-pending-create"]),
        ("before-assignment", ["interrupted-approval"]),
        ("after-assignment", []),
    ],
)
def test_a_crash_between_steps_is_repaired_by_reconcile_and_approval_then_converges(
    service: Service, monkeypatch: pytest.MonkeyPatch, step: str, kinds: list[str]
) -> None:
    request_id = submit(service)
    with monkeypatch.context() as patch:
        crash_at(patch, service, step)
        with pytest.raises(Crash):
            approve_channel_request(service.backend, ADMIN, request_id, None)
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert sorted(f.kind for f in report.findings) == kinds and report.repaired
    if step == "after-assignment":
        assert_consistent(service, 1)
    else:
        assert_consistent(service, 0)
        assert_pending(service, request_id)
    assert_approved_on_retry(service, request_id)


def test_an_approval_in_progress_is_left_alone_by_reconcile(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = submit(service)
    with monkeypatch.context() as patch:
        crash_at(patch, service, "before-assignment")
        with pytest.raises(Crash):
            approve_channel_request(service.backend, ADMIN, request_id, None)
    report = reconcile(service.backend, service.settings.entity_index, apply=True)  # default: stale after 10 min
    assert report.findings == []
    # The retry of the approval finishes it with the channel already made.
    assert_approved_on_retry(service, request_id)


def test_a_channel_an_admin_deleted_before_the_approval_finished_is_replaced(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = submit(service)
    with monkeypatch.context() as patch:
        crash_at(patch, service, "before-assignment")
        with pytest.raises(Crash):
            approve_channel_request(service.backend, ADMIN, request_id, None)
    # The unassigned channel is visible to admins, who may take it down and delete it.
    made = service.backend.channels.list_channel_records(service.settings.entity_index)
    set_channel_state(service.backend, ADMIN, made[0].id, ChannelState.OFFLINE, None)
    delete_channel(service.backend, ADMIN, made[0].id)
    assert_approved_on_retry(service, request_id)


def test_a_channel_an_admin_took_into_use_is_never_withdrawn(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = submit(service)
    with monkeypatch.context() as patch:
        crash_at(patch, service, "before-assignment")
        with pytest.raises(Crash):
            approve_channel_request(service.backend, ADMIN, request_id, None)
    made = service.backend.channels.list_channel_records(service.settings.entity_index)[0]
    assign_channel(service.backend, ADMIN, made.id, "someone-else")
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert report.findings == []
    assert_consistent(service, 1)


def test_an_assignment_made_while_the_request_was_written_makes_its_approval_conflict(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = create_channel(service.backend, ADMIN, NewChannelRequest(name="Other"))
    real_add = ChannelRequestStore.add

    def assigned_meanwhile(store: ChannelRequestStore, request: ChannelRequest) -> None:
        assign_channel(service.backend, ADMIN, other.id, "producer-1")  # after the read, before the write
        real_add(store, request)

    monkeypatch.setattr(ChannelRequestStore, "add", assigned_meanwhile)
    request_id = submit(service)
    monkeypatch.undo()
    with pytest.raises(Conflict) as refused:
        approve_channel_request(service.backend, ADMIN, request_id, None)
    assert other.id in refused.value.message
    assert_consistent(service, 1)  # the host still holds one channel, and no other was made
    request = service.backend.requests.get(request_id)
    assert request is not None and request.status is ChannelRequestStatus.PENDING


@pytest.mark.parametrize("failure", [NotFound("Channel 'c' does not exist."), UpstreamError("IVS CreateChannel failed.")])
def test_an_approval_whose_channel_failed_because_the_request_was_decided_meanwhile_answers_the_decision(
    service: Service, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    # A cancellation withdrew the channel another approval of the request was making: this approval's
    # create then fails (the replay finds the channel gone, or IVS refuses), but the answer is the decision.
    request_id = submit(service)

    def cancelled_meanwhile(*_: Any) -> Any:
        cancel_channel_request(service.backend, PRODUCER, request_id)
        raise failure

    monkeypatch.setattr(services.approvals, "_channel_for", cancelled_meanwhile)
    with pytest.raises(InvalidStateTransition) as refused:
        approve_channel_request(service.backend, ADMIN, request_id, None)
    assert str(refused.value) == f"Channel request '{request_id}' was cancelled meanwhile; it can no longer be approved."


def test_an_approval_that_failed_while_the_request_is_still_pending_answers_the_failure(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = submit(service)

    def throttled(*_: Any) -> Any:
        raise UpstreamError("IVS CreateChannel failed: ThrottlingException.")

    monkeypatch.setattr(services.approvals, "_channel_for", throttled)
    with pytest.raises(UpstreamError, match="ThrottlingException"):
        approve_channel_request(service.backend, ADMIN, request_id, None)
    assert_pending(service, request_id)
