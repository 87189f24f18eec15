"""Schedules, model-based (docs/schedules.md): hypothesis drives random bookings, moves and cancels by
several hosts (and time passing) against the real backend (moto), and after every step checks that no
two live slots overlap and that storage agrees with a plain in-memory model of the rules."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from app.bootstrap import Service
from domain.access import Caller
from domain.errors import Conflict, InvalidStateTransition
from domain.model import AssignmentModel, NewChannelRequest
from services.channels import assign_channel, create_channel
from services.slots import SlotBooking, book_slot, cancel_slot, move_slot
from tests.api.slot_support import tomorrow

ADMIN = Caller("admin-1", is_admin=True)
HOSTS = ("host-a", "host-b", "host-c")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("SCHEDULE_MODEL_EXAMPLES", "25"))
FIVE = timedelta(minutes=5)

# Starts and lengths in 5-minute steps over a few hours, so that bookings collide often.
offsets = st.integers(0, 36).map(lambda n: n * FIVE)
lengths = st.integers(1, 18).map(lambda n: n * FIVE)


@dataclasses.dataclass
class Modelled:
    host: str
    start: datetime
    end: datetime
    cancelled: bool = False


class ScheduleModel(RuleBasedStateMachine):
    def __init__(self, service: Service) -> None:
        super().__init__()
        self.now = tomorrow(0)  # the clock, moved by time_passes
        self.backend = dataclasses.replace(service.backend, clock=lambda: self.now, channel_limit=100_000)
        self.channel = create_channel(self.backend, ADMIN, NewChannelRequest(
            name="Model schedule", assignment_model=AssignmentModel.SHARED))
        self.hosts = tuple(f"{host}-{self.channel.id[:8]}" for host in HOSTS)
        for host in self.hosts:
            assign_channel(self.backend, ADMIN, self.channel.id, host)
        self.slots: dict[str, Modelled] = {}

    def _free(self, start: datetime, end: datetime, moving: str | None = None) -> bool:
        return not any(slot_id != moving and not slot.cancelled and slot.start < end and start < slot.end
                       for slot_id, slot in self.slots.items())

    @rule(host=st.sampled_from(range(3)), offset=offsets, length=lengths)
    def book(self, host: int, offset: timedelta, length: timedelta) -> None:
        start, end = self.now + offset, self.now + offset + length
        expected = self._free(start, end)
        try:
            slot = book_slot(self.backend, Caller(self.hosts[host]), SlotBooking(self.channel.id, None, start, end))
        except Conflict:
            assert not expected
            return
        assert expected
        self.slots[slot.id] = Modelled(self.hosts[host], start, end)

    @rule(pick=st.integers(0, 1000), offset=offsets, length=lengths)
    def move(self, pick: int, offset: timedelta, length: timedelta) -> None:
        if not self.slots:
            return
        slot_id = sorted(self.slots)[pick % len(self.slots)]
        modelled = self.slots[slot_id]
        start, end = self.now + offset, self.now + offset + length
        changeable = not modelled.cancelled and modelled.end > self.now
        try:
            move_slot(self.backend, Caller(modelled.host), slot_id, start, end)
        except InvalidStateTransition:
            assert not changeable
            return
        except Conflict:
            assert changeable and not self._free(start, end, moving=slot_id)
            return
        assert changeable and self._free(start, end, moving=slot_id)
        modelled.start, modelled.end = start, end

    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        if not self.slots:
            return
        slot_id = sorted(self.slots)[pick % len(self.slots)]
        modelled = self.slots[slot_id]
        changeable = not modelled.cancelled and modelled.end > self.now
        try:
            cancel_slot(self.backend, Caller(modelled.host), slot_id)
        except InvalidStateTransition:
            assert not changeable
            return
        assert changeable
        modelled.cancelled = True

    @rule(minutes=st.sampled_from([5, 30, 60]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @invariant()
    def storage_agrees_with_the_model_and_nothing_overlaps(self) -> None:
        stored = self.backend.slots.all_ending_after(self.channel.id, EPOCH)
        live = {slot_id: slot for slot_id, slot in self.slots.items() if not slot.cancelled}
        assert {slot.id: (slot.host_user_id, slot.starts_at, slot.ends_at) for slot in stored} == {
            slot_id: (slot.host, slot.start, slot.end) for slot_id, slot in live.items()}
        assert all(a.ends_at <= b.starts_at for a, b in zip(stored, stored[1:]))  # earliest first, apart

    @invariant()
    def each_hosts_slots_are_theirs(self) -> None:
        for host in self.hosts:
            page = self.backend.slots.host_page(host, EPOCH, None, 100, None)
            assert [slot.id for slot, _ in page.slots] == sorted(
                (slot_id for slot_id, slot in self.slots.items() if slot.host == host and not slot.cancelled),
                key=lambda slot_id: self.slots[slot_id].end)


@pytest.mark.slow
def test_random_bookings_moves_and_cancels_never_overlap_and_agree_with_the_model(service: Service) -> None:
    run_state_machine_as_test(
        lambda: ScheduleModel(service),
        settings=settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )

