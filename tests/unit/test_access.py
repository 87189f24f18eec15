"""Who may do what (CONTRACT.md section 4): the access table, each kind of caller, and who broadcasts."""

from __future__ import annotations

import pytest

from domain.access import (
    PERMISSIONS,
    Caller,
    CallerKind,
    Grant,
    Reach,
    broadcasting_host,
    grant_for,
    needs_own_assignment,
    require_admin,
    require_grant,
    require_may_set_state,
    require_reaches_host,
)
from domain.errors import Forbidden
from domain.model import ChannelState
from tests.unit.builders import make_assignment, make_channel

ADMIN = Caller(user_id="admin-1", is_admin=True)
HOST = Caller(user_id="host-1", is_admin=False)
OWN = make_channel(id="11111111-0000-4000-8000-000000000001")
OTHER = make_channel(id="22222222-0000-4000-8000-000000000002")
OWN_ASSIGNMENT = make_assignment("host-1", OWN)


@pytest.mark.parametrize("target", list(ChannelState))
@pytest.mark.parametrize("channel_id", [OWN.id, OTHER.id, "no-such-channel"])
def test_admin_may_set_any_state_on_any_channel(channel_id: str, target: ChannelState) -> None:
    require_may_set_state(ADMIN, None, channel_id, target)


@pytest.mark.parametrize("target", [ChannelState.IDLE, ChannelState.LIVE])
def test_host_may_set_idle_or_live_on_own_channel(target: ChannelState) -> None:
    require_may_set_state(HOST, OWN_ASSIGNMENT, OWN.id, target)


def test_host_may_not_set_offline_on_own_channel() -> None:
    with pytest.raises(Forbidden) as raised:
        require_may_set_state(HOST, OWN_ASSIGNMENT, OWN.id, ChannelState.OFFLINE)

    assert raised.value.code == "FORBIDDEN"
    assert raised.value.message == "Hosts may set IDLE or LIVE only; OFFLINE is for admins."


@pytest.mark.parametrize("target", list(ChannelState))
def test_host_may_not_set_any_state_on_someone_elses_channel(target: ChannelState) -> None:
    with pytest.raises(Forbidden) as raised:
        require_may_set_state(HOST, OWN_ASSIGNMENT, OTHER.id, target)

    assert raised.value.message == f"You are not assigned to channel '{OTHER.id}'."


@pytest.mark.parametrize("channel_id", [OWN.id, "no-such-channel"])
def test_host_without_assignment_is_forbidden_whether_or_not_the_channel_exists(channel_id: str) -> None:
    with pytest.raises(Forbidden) as raised:
        require_may_set_state(HOST, None, channel_id, ChannelState.LIVE)

    assert raised.value.message == f"You are not assigned to channel '{channel_id}'."


# The table (domain/access.py PERMISSIONS) and the kinds of caller

SESSIONS = Caller("session-service", kind=CallerKind.SESSION_SERVICE)
SERVICE_ADMIN = Caller("admin-service", kind=CallerKind.ADMIN_SERVICE)
SCOPELESS = Caller("plain-service", kind=CallerKind.SERVICE)


@pytest.mark.parametrize("operation", sorted(PERMISSIONS))
def test_a_service_with_the_admin_scope_may_do_everything_an_admin_may(operation: str) -> None:
    assert grant_for(SERVICE_ADMIN, operation) == grant_for(ADMIN, operation) is not None


@pytest.mark.parametrize("operation", sorted(PERMISSIONS))
def test_a_service_without_a_scope_may_do_nothing(operation: str) -> None:
    with pytest.raises(Forbidden):
        require_grant(SCOPELESS, operation)


def test_the_sessions_scope_grants_exactly_its_row_of_the_contract() -> None:
    granted = {operation for operation in PERMISSIONS if grant_for(SESSIONS, operation) is not None}
    assert granted == {"hostChannel", "channel", "Channel.streamKey", "setChannelState"}
    assert grant_for(SESSIONS, "setChannelState") == Grant(Reach.ANY, frozenset({ChannelState.IDLE, ChannelState.LIVE}))


@pytest.mark.parametrize("target", [ChannelState.IDLE, ChannelState.LIVE])
@pytest.mark.parametrize("channel_id", [OWN.id, OTHER.id])
def test_the_sessions_scope_sets_idle_or_live_on_any_channel(channel_id: str, target: ChannelState) -> None:
    require_may_set_state(SESSIONS, None, channel_id, target)


def test_the_sessions_scope_may_not_set_offline() -> None:
    with pytest.raises(Forbidden) as raised:
        require_may_set_state(SESSIONS, None, OWN.id, ChannelState.OFFLINE)
    assert raised.value.message == "Services with the sessions scope may set IDLE or LIVE only; OFFLINE is for admins."


def test_only_a_host_needs_their_own_assignment_to_set_state() -> None:
    kinds = {caller.kind: needs_own_assignment(caller, "setChannelState") for caller in (ADMIN, HOST, SESSIONS, SERVICE_ADMIN, SCOPELESS)}
    assert kinds == {
        CallerKind.ADMIN: False,
        CallerKind.HOST: True,
        CallerKind.SESSION_SERVICE: False,
        CallerKind.ADMIN_SERVICE: False,
        CallerKind.SERVICE: False,
    }


def test_host_looking_up_another_host_is_forbidden_but_a_sessions_service_may() -> None:
    with pytest.raises(Forbidden) as raised:
        require_reaches_host(HOST, "hostChannel", "host-2")
    assert raised.value.message == "Hosts may look up their own channel only; use myChannel."
    require_reaches_host(HOST, "hostChannel", "host-1")
    require_reaches_host(SESSIONS, "hostChannel", "host-2")


def test_an_admins_only_refusal_says_so() -> None:
    with pytest.raises(Forbidden) as raised:
        require_grant(SESSIONS, "createChannel")
    assert raised.value.message == "'createChannel' is for admins only."
    with pytest.raises(Forbidden) as refused:
        require_grant(SCOPELESS, "hostChannel")
    assert refused.value.message == "Services without a scope of this API may not call 'hostChannel'."


def test_require_admin_without_a_row_is_for_admins_only() -> None:
    # Operations not yet in the table are refused to everyone but admins (people and admin-scoped services).
    require_admin(ADMIN, "someNewOperation")
    require_admin(SERVICE_ADMIN, "someNewOperation")
    for caller in (HOST, SESSIONS, SCOPELESS):
        with pytest.raises(Forbidden):
            require_admin(caller, "someNewOperation")


# Which kind a client-credentials token's scopes make

PREFIX = "shelcaster-channels"


@pytest.mark.parametrize(
    ("scopes", "kind"),
    [
        pytest.param([f"{PREFIX}/sessions"], CallerKind.SESSION_SERVICE, id="sessions"),
        pytest.param([f"{PREFIX}/admin"], CallerKind.ADMIN_SERVICE, id="admin"),
        pytest.param([f"{PREFIX}/sessions", f"{PREFIX}/admin"], CallerKind.ADMIN_SERVICE, id="both-admin-wins"),
        pytest.param([], CallerKind.SERVICE, id="none"),
        pytest.param(["other-api/admin", "other-api/sessions"], CallerKind.SERVICE, id="another-resource-server"),
        pytest.param([f"{PREFIX}-staging/admin", f"{PREFIX}/admins", "admin"], CallerKind.SERVICE, id="near-misses"),
    ],
)
def test_a_services_kind_comes_from_the_scopes_of_this_api(scopes: list[str], kind: CallerKind) -> None:
    assert Caller.service("client-1", scopes, PREFIX) == Caller("client-1", kind=kind)


# Who a broadcast is attributed to (a session's host)


def test_a_person_who_sets_live_is_the_broadcasting_host() -> None:
    assert broadcasting_host(HOST, make_channel(assigned_host_ids=frozenset({"host-1"}))) == "host-1"


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        pytest.param(frozenset({"host-9"}), "host-9", id="exactly-one"),
        pytest.param(frozenset(), None, id="none"),
        pytest.param(frozenset({"panelist-1", "panelist-2"}), None, id="several"),
    ],
)
def test_a_broadcast_a_service_starts_names_the_host_only_when_there_is_exactly_one(
    hosts: frozenset[str], expected: str | None
) -> None:
    assert broadcasting_host(SESSIONS, make_channel(assigned_host_ids=hosts)) == expected
