"""Timestamps as the records hold them: ISO-8601 UTC with milliseconds (CONTRACT.md section 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.clock import format_timestamp, parse_timestamp, utc_now

SIX_PM = datetime(2026, 10, 1, 18, 0, 0, tzinfo=UTC)


def test_format_has_milliseconds_and_z() -> None:
    assert format_timestamp(SIX_PM) == "2026-10-01T18:00:00.000Z"


def test_format_truncates_to_milliseconds() -> None:
    assert format_timestamp(SIX_PM.replace(microsecond=123999)) == "2026-10-01T18:00:00.123Z"


def test_format_converts_an_offset_to_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))

    assert format_timestamp(datetime(2026, 10, 1, 20, 0, 0, tzinfo=paris_summer)) == "2026-10-01T18:00:00.000Z"


@pytest.mark.parametrize("microsecond", [0, 1, 999, 1000, 123456, 999999])
@pytest.mark.parametrize("offset_hours", [0, 2, -7, 14])
def test_format_is_strftimes_format(microsecond: int, offset_hours: int) -> None:
    moment = datetime(2026, 12, 31, 23, 59, 59, microsecond, tzinfo=timezone(timedelta(hours=offset_hours)))
    utc = moment.astimezone(UTC)
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"  # the former formula

    assert format_timestamp(moment) == expected


def test_utc_now_is_utc_with_millisecond_precision() -> None:
    now = utc_now()

    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0


def test_parse_iso_with_z() -> None:
    assert parse_timestamp("2026-10-01T18:00:00.000Z") == SIX_PM


def test_parse_iso_with_offset_gives_utc() -> None:
    parsed = parse_timestamp("2026-10-01T20:00:00.000+02:00")

    assert parsed == SIX_PM
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


def test_parse_naive_iso_is_taken_as_utc() -> None:
    assert parse_timestamp("2026-10-01T18:00:00") == SIX_PM


@pytest.mark.parametrize("millis", [1790877600000, Decimal("1790877600000"), 1790877600000.0])
def test_parse_epoch_milliseconds(millis: object) -> None:
    assert parse_timestamp(millis) == SIX_PM


def test_parse_what_format_wrote_gives_the_same_instant() -> None:
    moment = SIX_PM.replace(microsecond=457000)

    assert parse_timestamp(format_timestamp(moment)) == moment


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2026-13-01T18:00:00Z", "18:00", None, True, False, {}, [], Decimal("NaN"), Decimal("1e30")],
    ids=["empty", "word", "month-13", "time-only", "none", "true", "false", "dict", "list", "nan", "huge"],
)
def test_parse_garbage_is_none(value: object) -> None:
    assert parse_timestamp(value) is None


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"], ids=["before-1", "after-9999"])
def test_parse_offset_whose_utc_is_out_of_range_is_none(value: str) -> None:
    assert parse_timestamp(value) is None
