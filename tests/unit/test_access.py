"""Who may set a channel's state (CONTRACT.md section 4): admins any state, hosts IDLE/LIVE on their own."""

from __future__ import annotations

import pytest

from domain.access import Caller, require_may_set_state
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
