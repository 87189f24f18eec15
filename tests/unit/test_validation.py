"""What callers send: BAD_USER_INPUT with a message naming the argument (CONTRACT.md sections 2, 3)."""

from __future__ import annotations

import pytest

from domain.errors import BadUserInput
from domain.model import AssignmentModel, ChannelType, LatencyMode, NewChannelRequest
from domain.validation import validate_identifier, validate_new_channel, validate_page_size


def test_name_is_trimmed() -> None:
    assert validate_new_channel(NewChannelRequest(name="  Morning Show \t")).name == "Morning Show"


def test_every_other_field_is_kept() -> None:
    request = NewChannelRequest(
        name=" News ",
        type=ChannelType.ADVANCED_HD,
        latency_mode=LatencyMode.NORMAL,
        assignment_model=AssignmentModel.SHARED,
        recording_enabled=False,
        idempotency_key="key-1",
    )

    assert validate_new_channel(request) == NewChannelRequest(
        name="News",
        type=ChannelType.ADVANCED_HD,
        latency_mode=LatencyMode.NORMAL,
        assignment_model=AssignmentModel.SHARED,
        recording_enabled=False,
        idempotency_key="key-1",
    )


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_name_is_refused(name: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_new_channel(NewChannelRequest(name=name))

    assert raised.value.code == "BAD_USER_INPUT"
    assert raised.value.message == "'input.name' must be 1 to 128 characters after trimming, got 0."


def test_name_of_129_characters_is_refused() -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_new_channel(NewChannelRequest(name="n" * 129))

    assert raised.value.message == "'input.name' must be 1 to 128 characters after trimming, got 129."


def test_name_of_128_characters_is_accepted_and_counted_after_trimming() -> None:
    assert validate_new_channel(NewChannelRequest(name="  " + "é" * 128 + "  ")).name == "é" * 128


def test_name_of_one_character_is_accepted() -> None:
    assert validate_new_channel(NewChannelRequest(name="x")).name == "x"


@pytest.mark.parametrize(
    "name",
    [
        "Morning\x00Show",
        "Morning\x07Show",
        "Morning\nShow",
        "Morning\x1bShow",
        "Morning\u200bShow",
        "Morning\u202eShow",
    ],
    ids=["nul", "bell", "newline", "escape", "zero-width-space", "right-to-left-override"],
)
def test_name_with_control_characters_is_refused(name: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_new_channel(NewChannelRequest(name=name))

    assert raised.value.message == "'input.name' must not contain control characters."


def test_name_may_hold_any_printable_unicode() -> None:
    name = "Émission 早上好 🎙️"

    assert validate_new_channel(NewChannelRequest(name=name)).name == name


def test_empty_idempotency_key_is_refused_naming_the_argument() -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_new_channel(NewChannelRequest(name="News", idempotency_key=""))

    assert raised.value.message == "'input.idempotencyKey' must be 1 to 128 characters, got 0."


def test_identifier_is_returned_unchanged() -> None:
    assert validate_identifier("channelId", "3f2b9c1e-7d4a-4b8e-9c2f-1a5e6d7c8b9a") == (
        "3f2b9c1e-7d4a-4b8e-9c2f-1a5e6d7c8b9a"
    )


def test_identifier_of_128_characters_is_accepted() -> None:
    assert validate_identifier("hostUserId", "h" * 128) == "h" * 128


@pytest.mark.parametrize(("value", "length"), [("", 0), ("h" * 129, 129)])
def test_identifier_of_wrong_length_is_refused(value: str, length: int) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_identifier("hostUserId", value)

    assert raised.value.message == f"'hostUserId' must be 1 to 128 characters, got {length}."


@pytest.mark.parametrize("value", ["ch\x001", "ch\n1", " ch-1", "ch-1 ", "ch\u200b1"])
def test_identifier_with_control_characters_or_surrounding_spaces_is_refused(value: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_identifier("channelId", value)

    assert raised.value.message == "'channelId' must not contain control characters or surrounding spaces."


@pytest.mark.parametrize("first", [1, 10, 100])
def test_page_size_within_1_to_100_is_accepted(first: int) -> None:
    assert validate_page_size(first) == first


@pytest.mark.parametrize("first", [0, 101, -1])
def test_page_size_outside_1_to_100_is_refused(first: int) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_page_size(first)

    assert raised.value.code == "BAD_USER_INPUT"
    assert raised.value.message == f"'first' must be between 1 and 100, got {first}."
