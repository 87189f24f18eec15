"""Channel request storage against moto: each conditional write, its refusal, and the listings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from data.approvals import ApprovalRefused, complete_approval
from data.channel_requests import AlreadyPending, ChannelRequestStore, NotPending
from data.unit_of_work import TransactionRefused
from services.backend import ChannelsBackend
from domain.channel_requests import (
    ChannelRequest,
    ChannelRequestDraft,
    ChannelRequestStatus,
    Decision,
    new_request,
    plan_decision,
)
from domain.errors import BadUserInput
from domain.model import AssignmentModel, Channel, ChannelState
from domain.state_machine import plan_state_change
from tests.data.table_setup import ENTITY_INDEX, ROOMY_LIMIT, store_channel
from tests.unit.builders import CREATED_AT, NOW, make_assignment, make_channel


@pytest.fixture
def store(stores: ChannelsBackend) -> ChannelRequestStore:
    return stores.requests


def request_of(requester: str, n: int = 0, request_id: str | None = None) -> ChannelRequest:
    return new_request(request_id or f"req-{requester}-{n}", requester, ChannelRequestDraft(name=f"Show {n}"),
                       CREATED_AT + timedelta(seconds=n))


def reject(store: ChannelRequestStore, request: ChannelRequest) -> None:
    store.decide(plan_decision(request, ChannelRequestStatus.REJECTED, "admin-1", NOW, "No"))


def guard(store: ChannelRequestStore, requester: str) -> dict | None:
    return store.table.get({"pk": f"requester#{requester}", "sk": "pendingChannelRequest"})


# add


def test_a_request_is_written_with_its_guard_and_counted(store: ChannelRequestStore) -> None:
    request = request_of("p1")
    store.add(request)
    assert store.get(request.id) == request
    assert guard(store, "p1") is not None and guard(store, "p1")["requestId"] == request.id  # type: ignore[index]
    assert store.pending_count() == 1


def test_a_second_pending_request_of_a_requester_is_refused_and_not_counted(store: ChannelRequestStore) -> None:
    store.add(request_of("p1", 0))
    with pytest.raises(AlreadyPending):
        store.add(request_of("p1", 1))
    assert store.get("req-p1-1") is None
    assert store.pending_count() == 1


def test_a_request_id_is_written_once(store: ChannelRequestStore) -> None:
    store.add(request_of("p1", request_id="same"))
    with pytest.raises(TransactionRefused) as refused:  # by the record's own condition (not the guard's)
        store.add(request_of("p2", request_id="same"))
    assert refused.value.failed_parts == {"request"}
    assert (guard(store, "p2"), store.pending_count()) == (None, 1)
    assert store.get("same").requester_id == "p1"  # type: ignore[union-attr]


# decide


def test_a_decision_is_written_once_and_frees_the_requester(store: ChannelRequestStore) -> None:
    request = request_of("p1")
    store.add(request)
    reject(store, request)
    stored = store.get(request.id)
    assert stored is not None
    assert (stored.status, stored.decided_by, stored.decided_at, stored.decision_note) == (
        ChannelRequestStatus.REJECTED, "admin-1", NOW, "No"
    )
    assert (guard(store, "p1"), store.pending_count()) == (None, 0)
    with pytest.raises(NotPending):
        store.decide(plan_decision(request, ChannelRequestStatus.CANCELLED, "p1", NOW, None))
    assert store.get(request.id).status is ChannelRequestStatus.REJECTED  # type: ignore[union-attr]
    assert store.pending_count() == 0
    store.add(request_of("p1", 1))  # may ask again


def test_a_decision_on_a_missing_request_is_refused(store: ChannelRequestStore) -> None:
    with pytest.raises(NotPending):
        reject(store, request_of("p1"))
    assert store.pending_count() == 0


# Listings


def test_the_pending_queue_is_oldest_first_in_pages(store: ChannelRequestStore) -> None:
    for n in range(5):
        store.add(request_of(f"p{n}", n))
    first = store.list_requests(ChannelRequestStatus.PENDING, 2, None)
    assert [r.id for r, _ in first.requests] == ["req-p0-0", "req-p1-1"] and first.has_next_page
    second = store.list_requests(ChannelRequestStatus.PENDING, 3, first.requests[-1][1])
    assert [r.id for r, _ in second.requests] == ["req-p2-2", "req-p3-3", "req-p4-4"] and not second.has_next_page
    assert second.items_read == 3  # a page costs its size (and the one extra that says there is more)


def test_decided_and_all_requests_are_newest_first(store: ChannelRequestStore) -> None:
    requests = [request_of(f"p{n}", n) for n in range(3)]
    for request in requests:
        store.add(request)
    reject(store, requests[0])
    reject(store, requests[1])
    assert [r.id for r, _ in store.list_requests(ChannelRequestStatus.REJECTED, 10, None).requests] == [
        "req-p1-1", "req-p0-0"
    ]
    assert [r.id for r, _ in store.list_requests(None, 10, None).requests] == ["req-p2-2", "req-p1-1", "req-p0-0"]


def test_a_cursor_only_continues_its_own_listing(store: ChannelRequestStore) -> None:
    for n in range(2):
        store.add(request_of(f"p{n}", n))
    cursor = store.list_requests(ChannelRequestStatus.PENDING, 1, None).requests[0][1]
    with pytest.raises(BadUserInput):
        store.list_requests(ChannelRequestStatus.APPROVED, 1, cursor)
    with pytest.raises(BadUserInput):
        store.list_requests(None, 1, cursor)


def test_own_requests_are_newest_first_and_at_most_fifty(store: ChannelRequestStore) -> None:
    for n in range(52):
        request = request_of("p1", n)
        store.add(request)
        if n < 51:
            reject(store, request)
    store.add(request_of("p2", 0))
    own = store.list_own("p1")
    assert len(own) == 50
    assert [r.id for r in own[:2]] == ["req-p1-51", "req-p1-50"]
    assert own[0].status is ChannelRequestStatus.PENDING


# The approval's transaction


def approval_parts(
    stores: ChannelsBackend, store: ChannelRequestStore, **channel_fields: Any
) -> tuple[ChannelRequest, Channel, Decision]:
    request = request_of("p1")
    store.add(request)
    channel = store_channel(stores, **channel_fields)
    decision = plan_decision(request, ChannelRequestStatus.APPROVED, "admin-1", NOW, None, channel.id)
    return request, channel, decision


def test_approval_assigns_and_decides_together(stores: ChannelsBackend, store: ChannelRequestStore) -> None:
    request, channel, decision = approval_parts(stores, store)
    complete_approval(store, stores.assignments, decision, make_assignment("p1", channel), channel)
    assert stores.assignments.get_assignment("p1").channel_id == channel.id  # type: ignore[union-attr]
    assert stores.channels.get_channel(channel.id).assigned_host_ids == {"p1"}  # type: ignore[union-attr]
    stored = store.get(request.id)
    assert (stored.status, stored.channel_id) == (ChannelRequestStatus.APPROVED, channel.id)  # type: ignore[union-attr]
    assert (guard(store, "p1"), store.pending_count()) == (None, 0)


def test_approval_of_a_requester_assigned_meanwhile_writes_nothing(
    stores: ChannelsBackend, store: ChannelRequestStore
) -> None:
    request, channel, decision = approval_parts(stores, store)
    other = store_channel(stores)
    stores.assignments.add_assignment(make_assignment("p1", other), other)
    with pytest.raises(ApprovalRefused) as refused:
        complete_approval(store, stores.assignments, decision, make_assignment("p1", channel), channel)
    assert refused.value.requester_assigned
    assert stores.channels.get_channel(channel.id).assigned_host_ids == frozenset()  # type: ignore[union-attr]
    assert store.get(request.id).status is ChannelRequestStatus.PENDING  # type: ignore[union-attr]
    assert store.pending_count() == 1


def test_approval_onto_a_host_owned_channel_that_took_a_host_writes_nothing(
    stores: ChannelsBackend, store: ChannelRequestStore
) -> None:
    request, channel, decision = approval_parts(stores, store, assignment_model=AssignmentModel.HOST_OWNED)
    stores.assignments.add_assignment(make_assignment("someone", channel), channel)
    with pytest.raises(ApprovalRefused) as refused:
        complete_approval(store, stores.assignments, decision, make_assignment("p1", channel), channel)
    assert refused.value.channel_taken
    assert stores.assignments.get_assignment("p1") is None
    assert store.get(request.id).status is ChannelRequestStatus.PENDING  # type: ignore[union-attr]


def test_approval_of_a_request_decided_meanwhile_writes_nothing(
    stores: ChannelsBackend, store: ChannelRequestStore
) -> None:
    request, channel, decision = approval_parts(stores, store)
    store.decide(plan_decision(request, ChannelRequestStatus.CANCELLED, "p1", NOW, None))
    with pytest.raises(ApprovalRefused) as refused:
        complete_approval(store, stores.assignments, decision, make_assignment("p1", channel), channel)
    assert refused.value.request_not_pending
    assert stores.assignments.get_assignment("p1") is None
    assert store.get(request.id).status is ChannelRequestStatus.CANCELLED  # type: ignore[union-attr]
    assert store.pending_count() == 0


# Withdrawing an approval's channel


def made_by_approval(stores: ChannelsBackend, key: str = "channelRequest:req-1") -> Channel:
    channel = make_channel(id="ch-approved")
    stores.capacity.reserve_channel_slot(channel.id, ROOMY_LIMIT, NOW, (key, "fingerprint"))
    stores.channels.save_new_channel(channel, key)
    return channel


def test_withdrawing_frees_record_slot_and_key(stores: ChannelsBackend) -> None:
    channel = made_by_approval(stores)
    assert [(k.request_id, k.channel_id, k.complete) for k in stores.approval_keys.list(ENTITY_INDEX)] == [
        ("req-1", channel.id, True)
    ]
    assert stores.approval_keys.withdraw_channel(channel.id, "channelRequest:req-1")
    assert stores.channels.get_channel(channel.id) is None
    assert stores.capacity.read_capacity_counts().used == 0
    assert stores.capacity.read_capacity_counts().by_state[ChannelState.IDLE] == 0
    assert stores.idempotency_records.get_idempotency_record("channelRequest:req-1", NOW) is None
    assert not stores.approval_keys.withdraw_channel(channel.id, "channelRequest:req-1")  # once
    assert stores.capacity.read_capacity_counts().used == 0


def test_a_channel_with_a_host_is_never_withdrawn(stores: ChannelsBackend) -> None:
    channel = made_by_approval(stores)
    stores.assignments.add_assignment(make_assignment("p1", channel), channel)
    assert not stores.approval_keys.withdraw_channel(channel.id, "channelRequest:req-1")
    assert stores.channels.get_channel(channel.id) is not None
    assert stores.capacity.read_capacity_counts().used == 1


def test_a_channel_that_left_idle_is_never_withdrawn(stores: ChannelsBackend) -> None:
    channel = made_by_approval(stores)
    change = plan_state_change(channel, ChannelState.LIVE, None, NOW)
    assert change is not None
    stores.state_changes.apply_state_change(channel.id, change)
    assert not stores.approval_keys.withdraw_channel(channel.id, "channelRequest:req-1")
    assert stores.capacity.read_capacity_counts().used == 1


def test_other_idempotency_keys_are_not_approval_keys(stores: ChannelsBackend) -> None:
    made_by_approval(stores, key="an-admins-key")
    assert stores.approval_keys.list(ENTITY_INDEX) == []
