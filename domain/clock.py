"""Time as the records hold it: ISO-8601 UTC with milliseconds (`2026-10-01T18:00:00.000Z`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def utc_now() -> datetime:
    # Truncated to milliseconds so that what is written and what is returned are the same instant.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    # isoformat truncates to milliseconds (never rounds up) and ends a UTC time with "+00:00": a third
    # of strftime's cost, and a page formats ~60 of these.
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_timestamp(value: object) -> datetime | None:
    """Read a timestamp as the older functions may have written it; None when it is not one.

    Accepts ISO-8601 strings (with `Z` or an offset; naive ones are taken as UTC) and epoch
    milliseconds (JavaScript's `Date.now()`).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            return datetime.fromtimestamp(float(value) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00+01:00" is a valid string whose UTC is before year 1
        return None
