"""The slot rules (domain.slots): times, titles, overlap, the grace window and attribution. Pure: no
storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadUserInput, Conflict, InvalidStateTransition
from domain.slots import (
    Slot,
    SlotTimes,
    attribute_start,
    candidates_around,
    covering_slot,
    is_scheduled,
    require_changeable,
    require_free,
    require_slot_to_go_live,
    validate_times,
    validate_title,
    validate_window,
)

NOW = datetime(2026, 12, 6, 14, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
GRACE = timedelta(minutes=10)
TEN = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def slot(start: datetime, end: datetime, *, host: str = "h-1", slot_id: str = "s-1",
         cancelled: bool = False) -> Slot:
    return Slot(slot_id, "c-1", host, None, SlotTimes(start, end), "admin-1", NOW,
                cancelled_at=NOW if cancelled else None)


def message(error: pytest.ExceptionInfo[Exception]) -> str:
    return str(error.value)


# Times


def test_a_slot_of_an_hour_tomorrow_is_valid() -> None:
    assert validate_times(TEN, TEN + HOUR, NOW) == SlotTimes(TEN, TEN + HOUR)


def test_seconds_in_a_start_are_refused() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_times(TEN + timedelta(seconds=30), TEN + HOUR, NOW)
    assert message(error) == "'startsAt' must be a whole minute (no seconds), got 2026-12-07T10:00:30.000Z."


def test_milliseconds_in_an_end_are_refused() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_times(TEN, TEN + HOUR + timedelta(milliseconds=1), NOW)
    assert message(error) == "'endsAt' must be a whole minute (no seconds), got 2026-12-07T11:00:00.001Z."


def test_an_end_before_the_start_is_refused() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_times(TEN, TEN - HOUR, NOW)
    assert message(error) == "'endsAt' must be after 'startsAt'."


def test_an_end_equal_to_the_start_is_refused() -> None:
    with pytest.raises(BadUserInput, match="^'endsAt' must be after 'startsAt'.$"):
        validate_times(TEN, TEN, NOW)


def test_four_minutes_is_too_short() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_times(TEN, TEN + 4 * MINUTE, NOW)
    assert message(error) == "slots must be at least 5 minutes."


def test_five_minutes_is_long_enough() -> None:
    assert validate_times(TEN, TEN + 5 * MINUTE, NOW).ends_at == TEN + 5 * MINUTE


def test_twelve_hours_is_the_longest() -> None:
    assert validate_times(TEN, TEN + 12 * HOUR, NOW).ends_at == TEN + 12 * HOUR


def test_twelve_hours_and_a_minute_is_too_long() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_times(TEN, TEN + 12 * HOUR + MINUTE, NOW)
    assert message(error) == "slots must be at most 12 hours."


def test_the_current_minute_may_be_booked() -> None:
    start = NOW.replace(second=0)
    assert validate_times(start, start + HOUR, NOW).starts_at == start


def test_the_minute_before_now_is_in_the_past() -> None:
    start = NOW.replace(second=0) - MINUTE
    with pytest.raises(BadUserInput) as error:
        validate_times(start, start + HOUR, NOW)
    assert message(error) == "slots must not start in the past (now is 2026-12-06T14:00:30.000Z)."


def test_180_days_ahead_is_the_farthest_start() -> None:
    start = (NOW + timedelta(days=180)).replace(second=0)
    assert validate_times(start, start + HOUR, NOW).starts_at == start


def test_a_start_past_180_days_is_refused() -> None:
    start = (NOW + timedelta(days=180)).replace(second=0) + MINUTE
    with pytest.raises(BadUserInput) as error:
        validate_times(start, start + HOUR, NOW)
    assert message(error) == "slots may start at most 180 days ahead."


def test_a_move_may_keep_the_start_of_a_slot_under_way() -> None:
    under_way = SlotTimes(NOW.replace(second=0) - HOUR, NOW + HOUR)
    moved = validate_times(under_way.starts_at, NOW.replace(second=0) + 2 * HOUR, NOW, current=under_way)
    assert moved.starts_at == under_way.starts_at


def test_a_move_may_not_end_a_slot_under_way_in_the_past() -> None:
    under_way = SlotTimes(NOW.replace(second=0) - HOUR, NOW + HOUR)
    with pytest.raises(BadUserInput) as error:
        validate_times(under_way.starts_at, NOW.replace(second=0), NOW, current=under_way)
    assert message(error) == "slots must end in the future (now is 2026-12-06T14:00:30.000Z)."


def test_a_move_to_another_past_start_is_refused() -> None:
    under_way = SlotTimes(NOW.replace(second=0) - HOUR, NOW + HOUR)
    with pytest.raises(BadUserInput, match="must not start in the past"):
        validate_times(under_way.starts_at - MINUTE, NOW.replace(second=0) + HOUR, NOW, current=under_way)


# Titles and windows


def test_a_title_is_trimmed() -> None:
    assert validate_title("  Morning show ") == "Morning show"


def test_no_title_is_fine() -> None:
    assert validate_title(None) is None


def test_a_blank_title_is_refused() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_title("   ")
    assert message(error) == "'input.title' must be 1 to 128 characters after trimming, got 0."


def test_a_title_of_128_characters_is_the_longest() -> None:
    assert validate_title("x" * 128) == "x" * 128


def test_a_title_of_129_characters_is_refused() -> None:
    with pytest.raises(BadUserInput, match="got 129"):
        validate_title("x" * 129)


def test_a_title_with_a_control_character_is_refused() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_title("a\x00b")
    assert message(error) == "'input.title' must not contain control characters."


def test_a_window_starts_now_by_default() -> None:
    assert validate_window(None, None, NOW) == (NOW, None)


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(BadUserInput) as error:
        validate_window(TEN, TEN, NOW)
    assert message(error) == "'to' must be after 'from'."


# Overlap


def test_back_to_back_slots_do_not_overlap() -> None:
    require_free("c-1", SlotTimes(TEN + HOUR, TEN + 2 * HOUR), [slot(TEN, TEN + HOUR)])


def test_a_slot_ending_one_minute_into_another_overlaps() -> None:
    with pytest.raises(Conflict) as error:
        require_free("c-1", SlotTimes(TEN - HOUR, TEN + MINUTE), [slot(TEN, TEN + HOUR, host="someone-else")])
    assert message(error) == (
        "Channel 'c-1' is already booked from 2026-12-07T10:00:00.000Z to 2026-12-07T11:00:00.000Z; "
        "choose a time that does not overlap it."
    )
    assert "someone-else" not in message(error)


def test_a_slot_inside_another_overlaps() -> None:
    with pytest.raises(Conflict):
        require_free("c-1", SlotTimes(TEN + 10 * MINUTE, TEN + 20 * MINUTE), [slot(TEN, TEN + HOUR)])


def test_a_slot_around_another_overlaps() -> None:
    with pytest.raises(Conflict):
        require_free("c-1", SlotTimes(TEN - HOUR, TEN + 2 * HOUR), [slot(TEN, TEN + HOUR)])


def test_a_cancelled_slot_blocks_no_time() -> None:
    require_free("c-1", SlotTimes(TEN, TEN + HOUR), [slot(TEN, TEN + HOUR, cancelled=True)])


def test_a_moved_slot_does_not_overlap_itself() -> None:
    require_free("c-1", SlotTimes(TEN + 30 * MINUTE, TEN + 90 * MINUTE), [slot(TEN, TEN + HOUR)], moving="s-1")


@given(st.integers(0, 200), st.integers(5, 120), st.integers(0, 200), st.integers(5, 120))
def test_overlap_is_what_sharing_a_minute_means(a: int, a_length: int, b: int, b_length: int) -> None:
    first = SlotTimes(TEN + a * MINUTE, TEN + (a + a_length) * MINUTE)
    second = SlotTimes(TEN + b * MINUTE, TEN + (b + b_length) * MINUTE)
    shared = set(range(a, a + a_length)) & set(range(b, b + b_length))
    assert first.overlaps(second) is bool(shared) is second.overlaps(first)


# Changes


def test_a_cancelled_slot_cannot_change() -> None:
    with pytest.raises(InvalidStateTransition) as error:
        require_changeable(slot(TEN, TEN + HOUR, cancelled=True), NOW)
    assert message(error) == "Slot 's-1' was cancelled; it cannot change."


def test_an_ended_slot_cannot_change() -> None:
    with pytest.raises(InvalidStateTransition) as error:
        require_changeable(slot(NOW - 2 * HOUR, NOW - HOUR), NOW)
    assert message(error) == "Slot 's-1' has ended; it cannot change."


def test_a_slot_under_way_may_change() -> None:
    require_changeable(slot(NOW - HOUR, NOW + HOUR), NOW)


# The grace window


def test_a_slot_covers_its_own_time() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR)], TEN + 30 * MINUTE, GRACE) == slot(TEN, TEN + HOUR)


def test_ten_minutes_early_is_within_the_grace() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR)], TEN - 10 * MINUTE, GRACE) is not None


def test_eleven_minutes_early_is_not() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR)], TEN - 11 * MINUTE, GRACE) is None


def test_nine_minutes_after_the_end_is_within_the_grace() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR)], TEN + HOUR + 9 * MINUTE, GRACE) is not None


def test_ten_minutes_after_the_end_is_not() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR)], TEN + HOUR + 10 * MINUTE, GRACE) is None


def test_the_slot_covering_the_moment_itself_wins_over_a_neighbours_grace() -> None:
    before, after = slot(TEN, TEN + HOUR, slot_id="a"), slot(TEN + HOUR, TEN + 2 * HOUR, slot_id="b")
    assert covering_slot([before, after], TEN + HOUR - 5 * MINUTE, GRACE) == before


def test_between_two_slots_the_nearest_edge_wins() -> None:
    before, after = slot(TEN, TEN + HOUR, slot_id="a"), slot(TEN + HOUR + 10 * MINUTE, TEN + 2 * HOUR, slot_id="b")
    assert covering_slot([before, after], TEN + HOUR + 3 * MINUTE, GRACE) == before
    assert covering_slot([before, after], TEN + HOUR + 7 * MINUTE, GRACE) == after


def test_between_two_slots_a_tie_goes_to_the_coming_one() -> None:
    before, after = slot(TEN, TEN + HOUR, slot_id="a"), slot(TEN + HOUR + 10 * MINUTE, TEN + 2 * HOUR, slot_id="b")
    assert covering_slot([before, after], TEN + HOUR + 5 * MINUTE, GRACE) == after


def test_a_cancelled_slot_covers_nothing() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR, cancelled=True)], TEN, GRACE) is None


def test_only_the_named_hosts_slots_count() -> None:
    assert covering_slot([slot(TEN, TEN + HOUR, host="h-2")], TEN, GRACE, "h-1") is None


# Going LIVE


def test_a_host_goes_live_in_their_slot() -> None:
    require_slot_to_go_live("c-1", [slot(TEN, TEN + HOUR)], "h-1", TEN + MINUTE, GRACE)


def test_a_host_goes_live_in_another_hosts_slot_is_conflict() -> None:
    with pytest.raises(Conflict) as error:
        require_slot_to_go_live("c-1", [slot(TEN, TEN + HOUR, host="h-2")], "h-1", TEN + MINUTE, GRACE)
    assert message(error) == (
        "Channel 'c-1' is scheduled and host 'h-1' has no slot now (a slot admits its host 10 minutes before "
        "its start and after its end); book one with bookSlot."
    )
    assert "h-2" not in message(error)


def test_a_host_without_a_slot_goes_live_before_the_first_slot_is_conflict() -> None:
    with pytest.raises(Conflict):
        require_slot_to_go_live("c-1", [slot(TEN, TEN + HOUR)], "h-2", NOW, GRACE)


def test_a_channel_without_slots_is_not_scheduled() -> None:
    require_slot_to_go_live("c-1", [], "h-1", NOW, GRACE)


def test_a_channel_whose_slots_all_ended_is_not_scheduled() -> None:
    assert not is_scheduled([slot(NOW - 2 * HOUR, NOW - HOUR)], NOW, GRACE)


def test_a_channel_whose_only_slot_is_cancelled_is_not_scheduled() -> None:
    assert not is_scheduled([slot(TEN, TEN + HOUR, cancelled=True)], NOW, GRACE)


def test_nobody_named_is_held_to_nothing() -> None:
    require_slot_to_go_live("c-1", [slot(TEN, TEN + HOUR)], None, NOW, GRACE)


def test_the_candidates_cover_the_grace_window() -> None:
    # 2 × 10 minutes of 5-minute slots is 4, one partly before and one partly after, and one more.
    assert candidates_around(GRACE) == 7


# Attribution


def test_a_start_in_a_slot_belongs_to_its_host_when_none_is_known() -> None:
    assert attribute_start([slot(TEN, TEN + HOUR, host="h-2")], TEN + MINUTE, GRACE, None) == ("s-1", "h-2")


def test_a_start_outside_every_slot_belongs_to_nobody() -> None:
    assert attribute_start([slot(TEN, TEN + HOUR)], NOW, GRACE, None) == (None, None)


def test_a_known_host_keeps_the_broadcast_and_gets_their_slot() -> None:
    assert attribute_start([slot(TEN, TEN + HOUR)], TEN - 5 * MINUTE, GRACE, "h-1") == ("s-1", "h-1")


def test_a_known_host_in_another_hosts_slot_keeps_the_broadcast_without_a_slot() -> None:
    assert attribute_start([slot(TEN, TEN + HOUR, host="h-2")], TEN, GRACE, "h-1") == (None, "h-1")
