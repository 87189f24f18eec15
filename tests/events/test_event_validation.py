"""IVS events are checked like requests (domain.ivs_events): every field against IVS's documented
shape and plausible ranges; an event that can never be applied is refused with its reason, never
stored and never retried."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.ivs_events import RecordingStateEvent, StreamStateEvent, UnusableEvent, read_ivs_event

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text()))


def with_field(name: str, path: str, value: Any) -> dict[str, Any]:
    event = sample(name)
    target: Any = event
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    return event


def test_the_documented_samples_read_as_values() -> None:
    start = read_ivs_event(sample("ivs_stream_start"), NOW)
    assert start == StreamStateEvent("arn:aws:ivs:us-east-1:123456789012:channel/abcdefghijkl",
                                     "st-1A2b3c4D5e6F78ab", "Stream Start", datetime(2026, 11, 25, 10, tzinfo=UTC))
    recording = read_ivs_event(sample("ivs_recording_end"), NOW)
    assert isinstance(recording, RecordingStateEvent)
    assert recording.stream_ids == ("st-1A2b3c4D5e6F78ab",)
    assert (recording.recording.duration_ms, recording.recording.recording_session_id) == (1800000, "AbCdEf123456")


BAD_STREAM_FIELDS = [
    ("time", "yesterday", "'time' is not an ISO-8601 timestamp"),
    ("time", "1970-01-01T00:00:00Z", "'time' 1970-01-01T00:00:00Z is outside the window"),
    ("time", "2999-01-01T00:00:00Z", "'time' 2999-01-01T00:00:00Z is outside the window"),
    ("time", "0001-01-01T00:00:00+01:00", "'time' is not an ISO-8601 timestamp"),
    ("time", 12, "'time' is not a non-empty string"),
    ("resources", {"arn": "x"}, "'resources' is not a list naming the IVS channel"),
    ("resources", [], "'resources' is not a list naming the IVS channel"),
    ("resources", ["arn:aws:s3:::bucket"], "'resources[0]' is not an identifier of the shape IVS documents"),
    ("resources", ["a" * 3000], "'resources[0]' is longer than 128 characters"),
    ("detail", ["list"], "'detail' is not an object"),
    ("detail.stream_id", "s" * 3000, "'detail.stream_id' is longer than 128 characters"),
    ("detail.stream_id", "st-1 OR 1=1", "'detail.stream_id' is not an identifier of the shape IVS documents"),
    ("detail.stream_id", "st-\ud800", "'detail.stream_id' is not valid Unicode"),
    ("detail.stream_id", None, "'detail.stream_id' is not a non-empty string"),
    ("detail.stream_id", "", "'detail.stream_id' is not a non-empty string"),
]


@pytest.mark.parametrize(("path", "value", "reason"), BAD_STREAM_FIELDS, ids=[f"{p}={v!r:.20}" for p, v, _ in BAD_STREAM_FIELDS])
def test_a_stream_event_with_a_bad_field_is_refused_naming_it(path: str, value: Any, reason: str) -> None:
    with pytest.raises(UnusableEvent) as refused:
        read_ivs_event(with_field("ivs_stream_start", path, value), NOW)
    assert str(refused.value).startswith(reason)


BAD_RECORDING_FIELDS = [
    ("detail.recording_duration_ms", 10**10, "'detail.recording_duration_ms' is outside 0 to 86400000 (a day)"),
    ("detail.recording_duration_ms", -1, "'detail.recording_duration_ms' is outside 0 to 86400000 (a day)"),
    ("detail.recording_duration_ms", float("nan"), "'detail.recording_duration_ms' is not a number"),
    ("detail.recording_duration_ms", float("inf"), "'detail.recording_duration_ms' is not a number"),
    ("detail.recording_duration_ms", 1e40, "'detail.recording_duration_ms' is outside 0 to 86400000 (a day)"),
    ("detail.recording_duration_ms", True, "'detail.recording_duration_ms' is not a number"),
    ("detail.recording_duration_ms", "1800000", "'detail.recording_duration_ms' is not a number"),
    ("detail.recording_status", "Recording Paused", "'detail.recording_status' is not one of IVS's recording statuses"),
    ("detail.recording_s3_bucket_name", "Not A Bucket", "'detail.recording_s3_bucket_name' is not an identifier"),
    ("detail.recording_s3_key_prefix", "k" * 2000, "'detail.recording_s3_key_prefix' is longer than 1024 characters"),
    ("detail.recording_session_id", "id with spaces", "'detail.recording_session_id' is not an identifier"),
    ("detail.recording_session_stream_ids", "st-1", "'detail.recording_session_stream_ids' is not a list of at most 100 ids"),
    ("detail.recording_session_stream_ids", ["st-1"] * 101, "'detail.recording_session_stream_ids' is not a list"),
    ("detail.recording_session_stream_ids", [7], "'detail.recording_session_stream_ids[]' is not a non-empty string"),
]


@pytest.mark.parametrize(("path", "value", "reason"), BAD_RECORDING_FIELDS,
                         ids=[f"{p}={v!r:.20}" for p, v, _ in BAD_RECORDING_FIELDS])
def test_a_recording_event_with_a_bad_field_is_refused_naming_it(path: str, value: Any, reason: str) -> None:
    with pytest.raises(UnusableEvent) as refused:
        read_ivs_event(with_field("ivs_recording_end", path, value), NOW)
    assert str(refused.value).startswith(reason)


def test_an_event_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(UnusableEvent, match="the event is not a JSON object"):
        read_ivs_event(["IVS Stream State Change"], NOW)


def test_events_the_service_does_not_act_on_are_not_refused() -> None:
    assert read_ivs_event(sample("ivs_session_created"), NOW) is None
    assert read_ivs_event({"detail-type": "EC2 Instance State-change Notification"}, NOW) is None


def test_reading_an_event_grows_linearly_with_its_largest_field() -> None:
    # The worst text a field may hold is read once: ratios of sizes 8n/n stay far from quadratic (64x).
    def cost(size: int) -> float:
        event = with_field("ivs_recording_end", "detail.recording_session_stream_ids", ["st-" + "a" * 60] * 100)
        event["detail"]["recording_s3_key_prefix"] = "k" * min(size, 1024)
        event["detail"]["channel_name"] = "c" * size  # not read: costs nothing
        started = time.perf_counter()
        for _ in range(200):
            read_ivs_event(event, NOW)
        return time.perf_counter() - started

    small, large = min(cost(128) for _ in range(3)), min(cost(1024) for _ in range(3))
    assert large / small < 8
