"""IVS's EventBridge events as values, checked like requests (docs/broadcasts.md).

`read_ivs_event` turns one event into a `StreamStateEvent` or a `RecordingStateEvent`, None for an
event the service does not act on, or raises `UnusableEvent` naming the field at fault when the
event claims to be one of IVS's but can never be applied (a field of the wrong type, out of IVS's
documented lengths, text that is not valid Unicode, a time outside the window the service keeps
events for, a duration over a day). Nothing out of range reaches the table; every check is linear
in the event's size, and the event's size itself is bounded by EventBridge (256 KB).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.clock import parse_timestamp
from domain.model import Recording

STREAM_STATE_CHANGE = "IVS Stream State Change"
RECORDING_STATE_CHANGE = "IVS Recording State Change"
STREAM_STARTS = frozenset({"Stream Start"})
STREAM_ENDS = frozenset({"Stream End", "Session Ended"})
RECORDING_STATUSES = frozenset({"Recording Start", "Recording End", "Recording Start Failure", "Recording End Failure"})

# How old an event may be: EventBridge retries for 24 hours, and the dead-letter queue keeps an event
# for at most 14 days before `redrive-events` applies it; the stream claims and event markers live
# longer than that (data.stream_claims), so no event old enough to have lost them is applied.
OLDEST_EVENT = timedelta(days=14)
# IVS's clock and ours may differ a little; an event from further in the future is not IVS's.
NEWEST_EVENT = timedelta(minutes=5)
LONGEST_RECORDING_MS = 24 * 60 * 60 * 1000  # IVS ends a stream after 48 h; a recording file after 24 h
MOST_MERGED_STREAMS = 100

# IVS's documented identifiers: channel ARNs (at most 128 characters), stream ids (`st-` and
# alphanumerics), recording session ids, S3 bucket names and key prefixes.
_CHANNEL_ARN = re.compile(r"arn:aws[a-z-]{0,16}:ivs:[a-z0-9-]{1,32}:[0-9]{12}:channel/[A-Za-z0-9]{1,64}")
_STREAM_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_RECORDING_SESSION_ID = re.compile(r"[A-Za-z0-9-]{1,128}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_LONGEST_KEY_PREFIX = 1024


class UnusableEvent(ValueError):
    """An event that claims to be IVS's but can never be applied; the message names the field."""


@dataclass(frozen=True)
class StreamStateEvent:
    channel_arn: str
    stream_id: str
    event_name: str
    at: datetime

    @property
    def is_start(self) -> bool:
        return self.event_name in STREAM_STARTS


@dataclass(frozen=True)
class RecordingStateEvent:
    channel_arn: str
    stream_id: str
    # Every stream the recording holds (an encoder that reconnected is merged into one recording).
    stream_ids: tuple[str, ...]
    recording: Recording


def read_ivs_event(event: object, now: datetime) -> StreamStateEvent | RecordingStateEvent | None:
    """The event as a value (see the module docstring); None when the service does not act on it."""
    if not isinstance(event, dict):
        raise UnusableEvent("the event is not a JSON object")
    kind = event.get("detail-type")
    if kind not in (STREAM_STATE_CHANGE, RECORDING_STATE_CHANGE):
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise UnusableEvent("'detail' is not an object")
    channel_arn = _channel_arn(event.get("resources"))
    at = _time(event.get("time"), now)
    if kind == STREAM_STATE_CHANGE:
        name = detail.get("event_name")
        if name not in STREAM_STARTS | STREAM_ENDS:
            return None  # Session Created and others: nothing to do
        return StreamStateEvent(channel_arn, _matching("detail.stream_id", detail.get("stream_id"), _STREAM_ID),
                                str(name), at)
    status = detail.get("recording_status")
    if status not in RECORDING_STATUSES:
        raise UnusableEvent("'detail.recording_status' is not one of IVS's recording statuses")
    stream_id = _matching("detail.stream_id", detail.get("stream_id"), _STREAM_ID)
    merged = detail.get("recording_session_stream_ids", [])
    if not isinstance(merged, list) or len(merged) > MOST_MERGED_STREAMS:
        raise UnusableEvent(f"'detail.recording_session_stream_ids' is not a list of at most {MOST_MERGED_STREAMS} ids")
    stream_ids = tuple(dict.fromkeys([stream_id] + [
        _matching("detail.recording_session_stream_ids[]", value, _STREAM_ID) for value in merged
    ]))
    session_id = detail.get("recording_session_id")
    return RecordingStateEvent(
        channel_arn,
        stream_id,
        stream_ids,
        Recording(
            status=str(status),
            s3_bucket_name=_matching("detail.recording_s3_bucket_name", detail.get("recording_s3_bucket_name"), _BUCKET),
            s3_key_prefix=_key_prefix(detail.get("recording_s3_key_prefix")),
            duration_ms=_duration(detail.get("recording_duration_ms")),
            at=at,
            recording_session_id=None if session_id in (None, "") else _matching(
                "detail.recording_session_id", session_id, _RECORDING_SESSION_ID),
        ),
    )


def _text(field: str, value: object, longest: int) -> str:
    if not isinstance(value, str) or not value:
        raise UnusableEvent(f"'{field}' is not a non-empty string")
    if len(value) > longest:
        raise UnusableEvent(f"'{field}' is longer than {longest} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnusableEvent(f"'{field}' is not valid Unicode") from None
    return value


def _matching(field: str, value: object, pattern: re.Pattern[str]) -> str:
    # The length is checked before the (anchored, linear) pattern runs.
    text = _text(field, value, 128)
    if pattern.fullmatch(text) is None:
        raise UnusableEvent(f"'{field}' is not an identifier of the shape IVS documents")
    return text


def _channel_arn(resources: object) -> str:
    if not isinstance(resources, list) or not resources:
        raise UnusableEvent("'resources' is not a list naming the IVS channel")
    return _matching("resources[0]", resources[0], _CHANNEL_ARN)


def _time(value: object, now: datetime) -> datetime:
    try:
        at = parse_timestamp(_text("time", value, 40))
    except OverflowError:  # an offset that carries the time past year 1 or 9999
        at = None
    if at is None:
        raise UnusableEvent("'time' is not an ISO-8601 timestamp")
    if at < now - OLDEST_EVENT or at > now + NEWEST_EVENT:
        raise UnusableEvent(f"'time' {value} is outside the window of events the service applies "
                            f"({OLDEST_EVENT.days} days old to {int(NEWEST_EVENT.total_seconds() // 60)} minutes ahead)")
    return at


def _key_prefix(value: object) -> str:
    return _text("detail.recording_s3_key_prefix", value, _LONGEST_KEY_PREFIX)


def _duration(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnusableEvent("'detail.recording_duration_ms' is not a number")
    if not 0 <= value <= LONGEST_RECORDING_MS:
        raise UnusableEvent(f"'detail.recording_duration_ms' is outside 0 to {LONGEST_RECORDING_MS} (a day)")
    return int(value)
