"""Settings, read from the environment once (README, "Configuration"), validated by pydantic-settings,
and passed down. A wrong or missing one stops the service at start with one line naming the variable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The service's settings: CHANNELS_* variables (and the AWS SDK's few), read once and frozen."""

    model_config = SettingsConfigDict(env_prefix="CHANNELS_", extra="ignore", frozen=True)

    backend: Literal["embedded", "aws"] = "embedded"
    table: str = Field(default="shelcaster-app", min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_.-]+$")
    entity_index: str = Field(default="entityType-index", min_length=3, max_length=255)
    limit: int = Field(default=20, ge=1, le=100_000)
    # How long IVS must show no stream for a LIVE channel before the live-state check ends it as LOST
    # (docs/broadcasts.md); at least two checks must have missed it too.
    lost_after_seconds: int = Field(default=90, ge=1, le=24 * 60 * 60)
    # How early before its slot, and how late after it, a host may go LIVE on a scheduled channel.
    slot_grace_minutes: int = Field(default=10, ge=0, le=60)
    # Live updates (docs/live-updates.md): `off` serves no subscriptions and, in embedded mode, gives the
    # table no stream (as `serve --without-live-updates`); the reader stops this long after the last
    # subscriber left.
    live_updates: bool = True
    live_updates_linger_seconds: float = Field(default=30.0, ge=0, le=3600)
    # The events function's dead-letter queue: an IVS event that can never be applied goes there once,
    # with its reason (docs/broadcasts.md), instead of being retried.
    events_dead_letter_queue_url: str | None = Field(default=None, min_length=1)
    recording_configuration_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:ivs:")
    # Stream keys are encrypted at rest under this KMS key (id, ARN or alias) when set.
    kms_key_id: str | None = Field(default=None, min_length=1)
    auth_issuer: str | None = None
    auth_jwks_url: str | None = None
    auth_audience: str | None = None
    auth_admin_group: str = Field(default="admin", min_length=1)
    # The Cognito resource server identifier: scopes are `{prefix}/sessions` and `{prefix}/admin`.
    # Cognito's own rule for identifiers: 1 to 256 printable characters, no space, double quote or backslash.
    auth_scope_prefix: str = Field(default="shelcaster-channels", min_length=1, max_length=256,
                                   pattern=r"^[\x21\x23-\x5B\x5D-\x7E]+$")
    env: Literal["development", "production"] = "development"
    # Hardening of the GraphQL surface (docs/security.md).
    max_query_depth: int = Field(default=10, ge=2, le=100)
    max_aliases: int = Field(default=30, ge=1, le=1000)
    max_tokens: int = Field(default=2000, ge=100, le=100_000)
    max_fields: int = Field(default=100, ge=10, le=10_000)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    cors_origins: str = ""  # comma-separated allow-list; empty: no cross-origin access
    # Request headers browsers may send besides app/cors.py's ALLOWED_HEADERS (tracing, Apollo's),
    # comma-separated: a frontend's own header, another tracing vendor's (docs/frontend-clients.md).
    cors_allow_headers: str = ""
    # Persisted documents (docs/frontend-clients.md): a manifest of trusted documents,
    # whether only they are accepted (default: yes in production when a manifest is set), and how
    # many documents Apollo's automatic persisted queries keep per process.
    trusted_documents: Path | None = None
    trusted_documents_only: bool | None = None
    apq_cache_size: int = Field(default=1000, ge=0, le=100_000)
    # Where GraphiQL's npm packages are installed (default: the repository's graphiql/node_modules).
    graphiql_assets: Path | None = None
    # Where embedded mode keeps its dev signing key (git-ignored).
    dev_dir: Path = Path(".channels-dev")

    # The standard AWS SDK variables, read here only to validate them at start; boto3 reads them itself.
    aws_region: str | None = Field(default=None, validation_alias="AWS_REGION")
    aws_default_region: str | None = Field(default=None, validation_alias="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    # Lambda sets it from the function's ApplicationLogLevel (TRACE, DEBUG, INFO, WARN, ERROR, FATAL);
    # the Lambda entry points give the service's loggers that level (app/lambda_handler.py).
    lambda_log_level: str | None = Field(default=None, validation_alias="AWS_LAMBDA_LOG_LEVEL")

    @property
    def audiences(self) -> frozenset[str]:
        return frozenset(part.strip() for part in (self.auth_audience or "").split(",") if part.strip())

    @property
    def cors_allow_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def cors_allow_header_list(self) -> list[str]:
        return [header.strip().lower() for header in self.cors_allow_headers.split(",") if header.strip()]

    @property
    def jwks_url(self) -> str | None:
        if self.auth_jwks_url:
            return self.auth_jwks_url
        return f"{self.auth_issuer.rstrip('/')}/.well-known/jwks.json" if self.auth_issuer else None

    @property
    def region(self) -> str | None:
        return self.aws_region or self.aws_default_region

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def only_trusted_documents(self) -> bool:
        if self.trusted_documents_only is not None:
            return self.trusted_documents_only
        return self.trusted_documents is not None and self.is_production


class SettingsError(Exception):
    """Settings that stop the service at start; one line per wrong or missing variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def variable_of(field: str) -> str:
    """The environment variable a setting is read from."""
    alias = Settings.model_fields[field].validation_alias if field in Settings.model_fields else None
    return alias if isinstance(alias, str) else f"CHANNELS_{field.upper()}"


def load_settings() -> Settings:
    """The settings from the environment, or SettingsError naming every variable at fault."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise SettingsError(
            [f"{variable_of(str(error['loc'][0]))}: {error['msg']} (got {error['input']!r})." for error in exc.errors()]
        ) from None
    problems = check_backend_settings(settings) + check_cors(settings) + check_persisted_documents(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def check_backend_settings(settings: Settings) -> list[str]:
    """What the chosen backend needs beyond each variable's own format."""
    if settings.backend != "aws":
        return []
    problems = []
    if not settings.region:
        problems.append("AWS_REGION: is required when CHANNELS_BACKEND=aws (e.g. us-east-1).")
    if not settings.auth_issuer:
        problems.append(
            "CHANNELS_AUTH_ISSUER: is required when CHANNELS_BACKEND=aws "
            "(the Cognito user pool URL, https://cognito-idp.<region>.amazonaws.com/<pool id>)."
        )
    elif not settings.auth_issuer.startswith(("https://", "http://")):
        problems.append(f"CHANNELS_AUTH_ISSUER: must be an http(s) URL, got {settings.auth_issuer!r}.")
    if settings.auth_jwks_url and not settings.auth_jwks_url.startswith(("https://", "http://")):
        problems.append(f"CHANNELS_AUTH_JWKS_URL: must be an http(s) URL, got {settings.auth_jwks_url!r}.")
    if not settings.audiences:
        problems.append(
            "CHANNELS_AUTH_AUDIENCE: is required when CHANNELS_BACKEND=aws (the app client ids, comma-separated)."
        )
    return problems


# A header's name: an HTTP token (RFC 9110, section 5.6.2).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def check_cors(settings: Settings) -> list[str]:
    problems = []
    if settings.is_production and "*" in settings.cors_allow_list:
        problems.append("CHANNELS_CORS_ORIGINS: '*' is refused in production; list the frontends' origins (https://...).")
    for header in settings.cors_allow_header_list:
        if not _HEADER_NAME.fullmatch(header):
            problems.append(
                f"CHANNELS_CORS_ALLOW_HEADERS: {header[:80]!r} is not a header name "
                "(letters, digits and !#$%&'*+-.^_`|~; names are separated by commas)."
            )
    if settings.is_production and "*" in settings.cors_allow_header_list:
        problems.append("CHANNELS_CORS_ALLOW_HEADERS: '*' is refused in production; list the headers the frontends send.")
    return problems


def check_persisted_documents(settings: Settings) -> list[str]:
    """The trusted-documents manifest is read at start, so that a wrong one stops the service."""
    from app.persisted_documents import ManifestError, load_manifest

    if settings.trusted_documents is None:
        if settings.trusted_documents_only:
            return ["CHANNELS_TRUSTED_DOCUMENTS_ONLY: needs CHANNELS_TRUSTED_DOCUMENTS, the manifest of the documents to accept."]
        return []
    try:
        load_manifest(settings.trusted_documents)
    except ManifestError as exc:
        return [f"CHANNELS_TRUSTED_DOCUMENTS: {exc}."]
    return []
