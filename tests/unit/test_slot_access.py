"""Who may book, change and go LIVE on a schedule (domain.access, CONTRACT.md sections 4 and 12)."""

from __future__ import annotations

import pytest

from domain.access import (
    Caller,
    held_to_schedule,
    may_change_slot,
    require_may_book,
    require_may_change_slot,
)
from domain.errors import Forbidden
from tests.unit.builders import make_assignment, make_channel

ADMIN = Caller("admin-1", is_admin=True)
HOST = Caller("host-1")
SESSIONS = Caller.service("platform", ["shelcaster-channels/sessions"], "shelcaster-channels")
ADMIN_SERVICE = Caller.service("ops", ["shelcaster-channels/admin"], "shelcaster-channels")
OWN = make_channel(id="11111111-0000-4000-8000-000000000001")
OWN_ASSIGNMENT = make_assignment("host-1", OWN)


def test_a_host_books_for_themselves_on_their_channel() -> None:
    assert require_may_book(HOST, OWN_ASSIGNMENT, OWN.id, None) == "host-1"


def test_a_host_naming_themselves_books_for_themselves() -> None:
    assert require_may_book(HOST, OWN_ASSIGNMENT, OWN.id, "host-1") == "host-1"


def test_a_host_booking_for_another_host_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="^Hosts book their own slots; you may not book for host 'host-2'.$"):
        require_may_book(HOST, OWN_ASSIGNMENT, OWN.id, "host-2")


def test_a_host_booking_another_channel_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="^You are not assigned to channel 'other'.$"):
        require_may_book(HOST, OWN_ASSIGNMENT, "other", None)


def test_an_admin_books_for_the_host_they_name() -> None:
    assert require_may_book(ADMIN, None, OWN.id, "host-2") == "host-2"


def test_a_sessions_service_may_not_book() -> None:
    with pytest.raises(Forbidden, match="^Services with the sessions scope may not call 'bookSlot'.$"):
        require_may_book(SESSIONS, None, OWN.id, "host-1")


def test_a_host_may_change_their_own_slot_on_their_channel() -> None:
    assert may_change_slot(HOST, "moveSlot", OWN_ASSIGNMENT, "host-1", OWN.id)


def test_a_host_may_not_change_another_hosts_slot() -> None:
    assert not may_change_slot(HOST, "moveSlot", OWN_ASSIGNMENT, "host-2", OWN.id)


def test_a_host_may_not_change_their_slot_on_a_channel_they_no_longer_hold() -> None:
    assert not may_change_slot(HOST, "cancelSlot", None, "host-1", OWN.id)


def test_an_admin_may_change_any_slot() -> None:
    assert may_change_slot(ADMIN, "cancelSlot", None, "host-2", OWN.id)


def test_a_refused_change_names_the_slot_not_its_owner() -> None:
    with pytest.raises(Forbidden, match="^Slot 's-1' is not yours; you may change your own slots only.$"):
        require_may_change_slot(HOST, "moveSlot", False, "s-1")


@pytest.mark.parametrize(("caller", "named", "held"), [
    (HOST, "host-1", "host-1"),
    (SESSIONS, "host-2", "host-2"),
    (SESSIONS, None, None),
    (ADMIN, "host-2", None),
    (ADMIN_SERVICE, "host-2", None),
])
def test_who_is_held_to_the_schedule(caller: Caller, named: str | None, held: str | None) -> None:
    assert held_to_schedule(caller, named) == held
