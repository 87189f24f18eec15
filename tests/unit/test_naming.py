"""IVS channel names (CONTRACT.md section 2, createChannel): `persistent-…`, IVS's characters, ≤ 128."""

from __future__ import annotations

import re

import pytest

from domain.naming import ivs_channel_name

CHANNEL_ID = "3f2b9c1e-7d4a-4b8e-9c2f-1a5e6d7c8b9a"
IVS_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")

NAMES = [
    "Morning Show",
    "Émission du matin — édition spéciale",
    "早上好 直播",
    "🎙️ Podcast 🎧",
    "a/b\\c:d*e?f\"g<h>i|j",
    "x" * 500,
    "é" * 128,
    "ab" * 64,
]


def test_name_is_prefixed_slugged_and_suffixed_with_the_id() -> None:
    assert ivs_channel_name("Morning Show", CHANNEL_ID) == "persistent-Morning-Show-3f2b9c1e"


@pytest.mark.parametrize("name", NAMES)
def test_name_has_only_characters_ivs_allows(name: str) -> None:
    derived = ivs_channel_name(name, CHANNEL_ID)

    assert IVS_NAME.fullmatch(derived), derived
    assert derived.startswith("persistent-")


def test_a_128_character_unicode_name_gives_at_most_128_characters() -> None:
    derived = ivs_channel_name("ñ" + "a" * 126 + "ñ", CHANNEL_ID)

    assert len(derived) == 128
    assert derived == "persistent-" + "a" * 108 + "-3f2b9c1e"


def test_a_long_name_is_cut_without_a_hyphen_before_the_suffix() -> None:
    derived = ivs_channel_name("a" * 107 + " tail", CHANNEL_ID)

    assert derived == "persistent-" + "a" * 107 + "-3f2b9c1e"


def test_same_name_on_two_channels_gives_two_names() -> None:
    first = ivs_channel_name("Morning Show", "3f2b9c1e-0000-4000-8000-000000000001")
    second = ivs_channel_name("Morning Show", "9a8b7c6d-0000-4000-8000-000000000001")

    assert (first, second) == ("persistent-Morning-Show-3f2b9c1e", "persistent-Morning-Show-9a8b7c6d")


@pytest.mark.parametrize("name", ["!!!", "   ", "🎙️🎧", "---", "é"])
def test_a_name_of_only_symbols_still_gives_a_valid_name(name: str) -> None:
    assert ivs_channel_name(name, CHANNEL_ID) == "persistent-channel-3f2b9c1e"


def test_runs_of_other_characters_become_one_hyphen() -> None:
    assert ivs_channel_name("  Late: Night!!  Show ", CHANNEL_ID) == "persistent-Late-Night-Show-3f2b9c1e"
