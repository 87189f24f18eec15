"""The settings (pydantic-settings): read from the environment once, frozen, and every wrong value
refused at start with one line naming its variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings, SettingsError, load_settings, variable_of


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.upper().startswith(("CHANNELS_", "AWS_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_every_setting_is_read_from_its_variable(clean_env: pytest.MonkeyPatch) -> None:
    assert variable_of("limit") == "CHANNELS_LIMIT"
    assert variable_of("aws_region") == "AWS_REGION"
    clean_env.setenv("CHANNELS_LOST_AFTER_SECONDS", "120")
    clean_env.setenv("CHANNELS_SLOT_GRACE_MINUTES", "5")
    clean_env.setenv("AWS_REGION", "eu-west-1")
    settings = load_settings()
    assert (settings.lost_after_seconds, settings.slot_grace_minutes, settings.region) == (120, 5, "eu-west-1")


def test_live_updates_are_turned_off_by_off(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_LIVE_UPDATES", "off")
    clean_env.setenv("CHANNELS_LIVE_UPDATES_LINGER_SECONDS", "0")
    settings = load_settings()
    assert (settings.live_updates, settings.live_updates_linger_seconds) == (False, 0)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("CHANNELS_LIMIT", "abc", "CHANNELS_LIMIT: Input should be a valid integer, unable to parse string as an integer (got 'abc')."),
    ("CHANNELS_LIMIT", "0", "CHANNELS_LIMIT: Input should be greater than or equal to 1 (got '0')."),
    ("CHANNELS_BACKEND", "cloud", "CHANNELS_BACKEND: Input should be 'embedded' or 'aws' (got 'cloud')."),
    ("CHANNELS_TABLE", "a b", "CHANNELS_TABLE: String should match pattern '^[a-zA-Z0-9_.-]+$' (got 'a b')."),
    ("CHANNELS_LOST_AFTER_SECONDS", "86401",
     "CHANNELS_LOST_AFTER_SECONDS: Input should be less than or equal to 86400 (got '86401')."),
    ("CHANNELS_SLOT_GRACE_MINUTES", "61",
     "CHANNELS_SLOT_GRACE_MINUTES: Input should be less than or equal to 60 (got '61')."),
    ("CHANNELS_SLOT_GRACE_MINUTES", "-1",
     "CHANNELS_SLOT_GRACE_MINUTES: Input should be greater than or equal to 0 (got '-1')."),
    ("CHANNELS_LIVE_UPDATES", "sometimes",
     "CHANNELS_LIVE_UPDATES: Input should be a valid boolean, unable to interpret input (got 'sometimes')."),
    ("CHANNELS_LIVE_UPDATES_LINGER_SECONDS", "3601",
     "CHANNELS_LIVE_UPDATES_LINGER_SECONDS: Input should be less than or equal to 3600 (got '3601')."),
    ("CHANNELS_TRUSTED_DOCUMENTS_ONLY", "maybe",
     "CHANNELS_TRUSTED_DOCUMENTS_ONLY: Input should be a valid boolean, unable to interpret input (got 'maybe')."),
])
def test_a_wrong_value_stops_the_start_with_one_line_naming_its_variable(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.problems == [message]


def test_every_wrong_variable_is_named_at_once(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_LIMIT", "-1")
    clean_env.setenv("CHANNELS_ENV", "staging")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert [line.split(":")[0] for line in refused.value.problems] == ["CHANNELS_LIMIT", "CHANNELS_ENV"]


def test_init_values_come_before_the_environment_and_unknown_names_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_LIMIT", "7")
    clean_env.setenv("CHANNELS_TABLE", "from-env")
    settings = Settings(limit=9, dev_dir=Path("/nowhere"), _env_file=None, nonsense=1)
    assert (settings.limit, settings.table, settings.dev_dir) == (9, "from-env", Path("/nowhere"))


def test_settings_are_frozen_and_copied_with_changes(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    with pytest.raises(ValidationError, match="Instance is frozen"):
        settings.limit = 5  # type: ignore[misc]
    changed = settings.model_copy(update={"kms_key_id": "alias/x"})
    assert (changed.kms_key_id, settings.kms_key_id, changed.limit) == ("alias/x", None, 20)
    assert changed != settings and settings == Settings() and hash(settings) == hash(Settings())
