"""The DateTime scalar as the contract shows it: ISO-8601 UTC with milliseconds."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.clock import format_timestamp, parse_timestamp
from domain.errors import BadUserInput


def _parse(value: object) -> datetime:
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise BadUserInput(f"Expected an ISO-8601 timestamp, got {value!r}.")
    return parsed


DATETIME = strawberry.scalar(
    name="DateTime",
    description="An ISO-8601 timestamp in UTC, e.g. 2026-11-24T06:30:00Z.",
    serialize=format_timestamp,
    parse_value=_parse,
)
