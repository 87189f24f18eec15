"""The settings, read without pydantic, accept and refuse exactly what pydantic-settings did, with the
same messages: compared on generated environments against the declaration the service had before
(pydantic-settings stays a dev dependency for this comparison only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.settings import Settings
from app.settings_fields import SettingsInvalid


class PydanticSettings(BaseSettings):
    """app/settings.py's Settings as declared with pydantic-settings until issue #12, verbatim, and each
    setting added since declared the same way (issue #29: cors_allow_headers)."""

    model_config = SettingsConfigDict(env_prefix="CHANNELS_", extra="ignore", frozen=True)

    backend: Literal["embedded", "aws"] = "embedded"
    table: str = Field(default="shelcaster-app", min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_.-]+$")
    entity_index: str = Field(default="entityType-index", min_length=3, max_length=255)
    limit: int = Field(default=20, ge=1, le=100_000)
    lost_after_seconds: int = Field(default=90, ge=1, le=24 * 60 * 60)
    events_dead_letter_queue_url: str | None = Field(default=None, min_length=1)
    recording_configuration_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:ivs:")
    kms_key_id: str | None = Field(default=None, min_length=1)
    auth_issuer: str | None = None
    auth_jwks_url: str | None = None
    auth_audience: str | None = None
    auth_admin_group: str = Field(default="admin", min_length=1)
    auth_scope_prefix: str = Field(
        default="shelcaster-channels", min_length=1, max_length=256, pattern=r"^[\x21\x23-\x5B\x5D-\x7E]+$"
    )
    env: Literal["development", "production"] = "development"
    max_query_depth: int = Field(default=10, ge=2, le=100)
    max_aliases: int = Field(default=30, ge=1, le=1000)
    max_tokens: int = Field(default=2000, ge=100, le=100_000)
    max_fields: int = Field(default=100, ge=10, le=10_000)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    cors_origins: str = ""
    cors_allow_headers: str = ""
    trusted_documents: Path | None = None
    trusted_documents_only: bool | None = None
    apq_cache_size: int = Field(default=1000, ge=0, le=100_000)
    graphiql_assets: Path | None = None
    dev_dir: Path = Path(".channels-dev")
    aws_region: str | None = Field(default=None, validation_alias="AWS_REGION")
    aws_default_region: str | None = Field(default=None, validation_alias="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    lambda_log_level: str | None = Field(default=None, validation_alias="AWS_LAMBDA_LOG_LEVEL")


def variable(name: str) -> str:
    alias = PydanticSettings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else f"CHANNELS_{name.upper()}"


VARIABLES = {variable(name): name for name in PydanticSettings.model_fields}


def outcome_with_pydantic() -> Any:
    try:
        settings = PydanticSettings()
    except ValidationError as exc:
        return [(VARIABLES.get(str(error["loc"][0]), str(error["loc"][0])), error["msg"], error["input"])
                for error in exc.errors()]
    return {name: getattr(settings, name) for name in PydanticSettings.model_fields}


def outcome_without() -> Any:
    try:
        settings = Settings()
    except SettingsInvalid as exc:
        return [(VARIABLES[problem.variable], problem.message, problem.input) for problem in exc.problems]
    return {name: getattr(settings, name) for name in Settings.model_fields}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.upper().startswith(("CHANNELS_", "AWS_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_same_fields_with_the_same_defaults_and_aliases() -> None:
    assert list(Settings.model_fields) == list(PydanticSettings.model_fields)
    for name, field in Settings.model_fields.items():
        reference = PydanticSettings.model_fields[name]
        assert (field.default, field.validation_alias) == (reference.default, reference.validation_alias), name


# Values around each kind's rules: integers in pydantic's lax forms, booleans' words, patterns' edges.
NOTABLE = [
    "", " ", "0", "1", "-1", "+5", " 7 ", "5.0", "5.00", "5.", ".5", "5.5", "1_000", "1__000", "_1", "1_",
    "1_0.0", "0x10", "1e3", "99999999999999999999", "\t20\n", "\u00a020", "٣", "05", "-0", "100000", "100001",
    "1024", "1023", "10485760", "10485761", "true", "True", "TRUE", "yes", "on", "t", "y", "no", "off", "f", "n",
    "false", " true", "2", "aws", "AWS", "embedded", "production", "development", "staging", "ab", "abc",
    "abc\n", "a b", "a" * 255, "a" * 256, "a" * 257, "arn:aws:ivs:us-east-1:1:recording-configuration/x",
    "arn:aws-us-gov:ivs:x", "arn:aws:s3:x", "x", "quote\"d", "back\\slash", "with space", "é", "https://x",
    "a$", "ok\n\n",
]
values = st.one_of(st.sampled_from(NOTABLE), st.text(st.sampled_from("09_.+- \n\tatrueyesnoé$\\\""), max_size=12),
                   st.text(max_size=8))


def test_every_variable_with_every_notable_value_gives_what_pydantic_settings_gave(
    clean_env: pytest.MonkeyPatch,
) -> None:
    differences = []
    for name in VARIABLES:
        for value in NOTABLE:
            clean_env.setenv(name, value)
            if outcome_without() != outcome_with_pydantic():
                differences.append((name, value, outcome_without(), outcome_with_pydantic()))
        clean_env.delenv(name)
    assert differences == []


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(environment=st.dictionaries(st.sampled_from(sorted(VARIABLES)), values, max_size=4),
       lower_case=st.booleans())
def test_every_environment_gives_what_pydantic_settings_gave(
    clean_env: pytest.MonkeyPatch, environment: dict[str, str], lower_case: bool
) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith(("CHANNELS_", "AWS_")):
            del os.environ[name]
    for name, value in environment.items():
        if "\x00" not in value:
            os.environ[name.lower() if lower_case else name] = value
    try:
        assert outcome_without() == outcome_with_pydantic()
    finally:
        for name in environment:
            os.environ.pop(name.lower() if lower_case else name, None)


def test_init_values_come_before_the_environment_and_unknown_names_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_LIMIT", "7")
    clean_env.setenv("CHANNELS_TABLE", "from-env")
    settings = Settings(limit=9, dev_dir=Path("/nowhere"), _env_file=None, nonsense=1)
    assert (settings.limit, settings.table, settings.dev_dir) == (9, "from-env", Path("/nowhere"))


def test_settings_are_frozen_and_copied_with_changes(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.limit = 5  # type: ignore[misc]
    changed = settings.model_copy(update={"kms_key_id": "alias/x"})
    assert (changed.kms_key_id, settings.kms_key_id, changed.limit) == ("alias/x", None, 20)
    assert changed != settings and settings == Settings() and hash(settings) == hash(Settings())
