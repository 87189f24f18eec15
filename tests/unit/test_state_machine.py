"""setChannelState's rules (CONTRACT.md section 2): transitions, no-ops, sessions and minutes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.errors import Conflict, InvalidStateTransition
from domain.model import Channel, ChannelState
from domain.state_machine import StateChange, minutes_since, plan_state_change
from tests.unit.builders import NOW, make_channel

IDLE, LIVE, OFFLINE = ChannelState.IDLE, ChannelState.LIVE, ChannelState.OFFLINE


def live_channel(session_id: str | None = "s-1", minutes_ago: float | None = 30.0) -> Channel:
    live_since = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return make_channel(state=LIVE, current_session_id=session_id, live_since=live_since)


@pytest.mark.parametrize(
    ("current", "target"),
    [(IDLE, LIVE), (LIVE, IDLE), (IDLE, OFFLINE), (OFFLINE, IDLE), (LIVE, OFFLINE)],
)
def test_allowed_transition_is_planned_from_the_current_state(current: ChannelState, target: ChannelState) -> None:
    channel = make_channel(state=current, current_session_id="s-1" if current is LIVE else None)

    change = plan_state_change(channel, target, None, NOW)

    assert change is not None
    assert (change.expected_state, change.new_state, change.at) == (current, target, NOW)


def test_offline_to_live_is_an_invalid_state_transition() -> None:
    channel = make_channel(state=OFFLINE)

    with pytest.raises(InvalidStateTransition) as raised:
        plan_state_change(channel, LIVE, "s-1", NOW)

    assert raised.value.code == "INVALID_STATE_TRANSITION"
    assert raised.value.message == (
        f"Channel '{channel.id}' cannot go from OFFLINE to LIVE; allowed from OFFLINE: IDLE."
    )


def test_every_pair_of_different_states_outside_the_contract_list_is_refused() -> None:
    allowed = {(IDLE, LIVE), (LIVE, IDLE), (IDLE, OFFLINE), (OFFLINE, IDLE), (LIVE, OFFLINE)}
    refused = set()
    for current in ChannelState:
        for target in ChannelState:
            if current is target or (current, target) in allowed:
                continue
            try:
                plan_state_change(make_channel(state=current), target, None, NOW)
            except InvalidStateTransition:
                refused.add((current, target))

    assert refused == {(OFFLINE, LIVE)}


@pytest.mark.parametrize("state", [IDLE, OFFLINE])
def test_setting_the_current_state_again_is_a_no_op(state: ChannelState) -> None:
    assert plan_state_change(make_channel(state=state), state, None, NOW) is None


def test_live_to_live_without_session_id_is_a_no_op() -> None:
    assert plan_state_change(live_channel("s-1"), LIVE, None, NOW) is None


def test_live_to_live_with_the_current_session_id_is_a_no_op() -> None:
    assert plan_state_change(live_channel("s-1"), LIVE, "s-1", NOW) is None


def test_live_to_live_with_another_session_id_is_conflict() -> None:
    channel = live_channel("s-1")

    with pytest.raises(Conflict) as raised:
        plan_state_change(channel, LIVE, "s-2", NOW)

    assert raised.value.code == "CONFLICT"
    assert raised.value.message == (
        f"Channel '{channel.id}' is already LIVE with another session ('s-1'); set it IDLE first."
    )


def test_entering_live_uses_the_given_session_id() -> None:
    change = plan_state_change(make_channel(), LIVE, "s-42", NOW)

    assert change == StateChange(
        expected_state=IDLE, expected_session_id=None, new_state=LIVE, at=NOW, session_id="s-42"
    )


def test_entering_live_without_session_id_generates_a_uuid() -> None:
    change = plan_state_change(make_channel(), LIVE, None, NOW)

    assert change is not None and change.session_id is not None
    assert str(uuid.UUID(change.session_id)) == change.session_id
    assert uuid.UUID(change.session_id).version == 4


def test_each_broadcast_without_session_id_gets_its_own_uuid() -> None:
    first = plan_state_change(make_channel(), LIVE, None, NOW)
    second = plan_state_change(make_channel(), LIVE, None, NOW)

    assert first is not None and second is not None
    assert first.session_id != second.session_id


def test_entering_live_streams_no_minutes() -> None:
    change = plan_state_change(make_channel(), LIVE, "s-1", NOW)

    assert change is not None and change.minutes_streamed == 0.0
    assert (change.enters_live, change.leaves_live) == (True, False)


def test_leaving_live_counts_minutes_since_live_since() -> None:
    change = plan_state_change(live_channel("s-1", minutes_ago=90.5), IDLE, None, NOW)

    assert change == StateChange(
        expected_state=LIVE, expected_session_id="s-1", new_state=IDLE, at=NOW, minutes_streamed=90.5
    )
    assert (change.enters_live, change.leaves_live) == (False, True)


def test_live_to_offline_counts_minutes_too() -> None:
    change = plan_state_change(live_channel("s-1", minutes_ago=12), OFFLINE, None, NOW)

    assert change is not None and change.minutes_streamed == 12.0


def test_older_live_record_without_live_since_adds_zero_minutes() -> None:
    change = plan_state_change(live_channel(None, minutes_ago=None), IDLE, None, NOW)

    assert change == StateChange(
        expected_state=LIVE, expected_session_id=None, new_state=IDLE, at=NOW, minutes_streamed=0.0
    )


def test_live_since_in_the_future_adds_zero_minutes() -> None:
    change = plan_state_change(live_channel("s-1", minutes_ago=-5), IDLE, None, NOW)

    assert change is not None and change.minutes_streamed == 0.0


def test_leaving_idle_for_offline_streams_no_minutes() -> None:
    change = plan_state_change(make_channel(state=IDLE), OFFLINE, None, NOW)

    assert change is not None and change.minutes_streamed == 0.0


def test_minutes_are_rounded_to_thousandths() -> None:
    assert minutes_since(NOW - timedelta(seconds=10), NOW) == 0.167


def test_minutes_since_unknown_start_is_zero() -> None:
    assert minutes_since(None, NOW) == 0.0


@pytest.mark.parametrize("target", [IDLE, OFFLINE])
def test_leaving_live_with_another_sessions_id_is_conflict(target: ChannelState) -> None:
    channel = live_channel("s-2")
    with pytest.raises(Conflict) as raised:
        plan_state_change(channel, target, "s-1", NOW)

    assert raised.value.message == (
        f"Channel '{channel.id}' is LIVE with another session ('s-2'), not 's-1'; nothing was changed."
    )


def test_leaving_live_with_its_own_session_id_ends_it() -> None:
    change = plan_state_change(live_channel("s-1", minutes_ago=3), IDLE, "s-1", NOW)

    assert change == StateChange(
        expected_state=LIVE, expected_session_id="s-1", new_state=IDLE, at=NOW, minutes_streamed=3.0
    )


def test_idle_with_a_session_id_on_an_idle_channel_is_a_no_op() -> None:
    # A retry of an end that already happened.
    assert plan_state_change(make_channel(state=IDLE), IDLE, "s-1", NOW) is None
