"""The IVS events simulate-broadcast and the tests build are the events EventBridge delivers: the same
fields as AWS's documented examples (tests/events/samples), each under IVS's own name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from embedded.ivs_event_shapes import recording_key_prefix, recording_state_event, stream_state_event

SAMPLES = Path(__file__).resolve().parents[1] / "events" / "samples"
ARN = "arn:aws:ivs:us-east-1:123456789012:channel/abcdefghijkl"
STREAM = "st-1A2b3c4D5e6F78ghij9Klmn"
AT = datetime(2026, 11, 25, 10, 0, 2, 345000, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return loaded


def shape(event: dict[str, Any]) -> dict[str, Any]:
    """Each field's name and type, the envelope's and the detail's."""
    return {key: (type(value).__name__ if key != "detail" else shape(value)) for key, value in event.items()}


def recording(status: str, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "bucket": "shelcaster-recordings", "key_prefix": "ivs/v1/123456789012/abcdefghijkl/2026/11/25/10/0/AbCdEf123456",
        "recording_session_id": "AbCdEf123456", "recording_session_stream_ids": [STREAM], **overrides}
    return recording_state_event(ARN, "persistent-Morning-Show", STREAM, status, AT, **arguments)


def test_a_stream_state_event_has_the_fields_of_ivss_stream_start() -> None:
    event = stream_state_event(ARN, STREAM, "Stream Start", AT, "persistent-Morning-Show")

    assert shape(event) == shape(sample("ivs_stream_start"))
    assert event["detail"] == {"event_name": "Stream Start", "channel_name": "persistent-Morning-Show",
                               "stream_id": STREAM}
    assert (event["resources"], event["account"], event["region"]) == ([ARN], "123456789012", "us-east-1")


def test_an_event_time_is_to_the_second_in_utc_as_eventbridge_writes_it() -> None:
    event = stream_state_event(ARN, STREAM, "Stream End", AT, "persistent-Morning-Show")

    assert event["time"] == "2026-11-25T10:00:02Z"


@pytest.mark.parametrize("status, sample_name", [("Recording Start", "ivs_recording_start"),
                                                 ("Recording End", "ivs_recording_end")])
def test_a_recording_state_event_has_the_fields_of_ivss_recording_events(status: str, sample_name: str) -> None:
    assert shape(recording(status, duration_ms=1800000)) == shape(sample(sample_name))


def test_a_recording_end_carries_ivss_identifiers_and_duration() -> None:
    merged = ["st-254sopYUvi6F78ghpO9vn0A", STREAM]

    event = recording("Recording End", duration_ms=99370264, recording_session_stream_ids=merged)

    assert event["detail-type"] == "IVS Recording State Change"
    assert event["detail"] == {
        "channel_name": "persistent-Morning-Show",
        "stream_id": STREAM,
        "recording_status": "Recording End",
        "recording_status_reason": "",
        "recording_s3_bucket_name": "shelcaster-recordings",
        "recording_s3_key_prefix": "ivs/v1/123456789012/abcdefghijkl/2026/11/25/10/0/AbCdEf123456",
        "recording_duration_ms": 99370264,
        "recording_session_id": "AbCdEf123456",
        "recording_session_stream_ids": merged,
    }


def test_a_recording_failure_carries_its_reason_and_no_duration() -> None:
    event = recording("Recording Start Failure", key_prefix="", reason="ValidationException")

    assert (event["detail"]["recording_status"], event["detail"]["recording_status_reason"],
            event["detail"]["recording_duration_ms"]) == ("Recording Start Failure", "ValidationException", 0)


def test_a_status_ivs_never_sends_is_refused() -> None:
    with pytest.raises(ValueError) as refused:
        recording("Recording Paused")

    assert str(refused.value) == ("'Recording Paused' is not an IVS recording status; IVS sends one of "
                                  "Recording Start, Recording End, Recording Start Failure, Recording End Failure")


def test_a_recording_key_prefix_is_where_ivs_writes_a_recording() -> None:
    started = datetime(2020, 6, 23, 20, 12, 36, tzinfo=UTC)

    assert recording_key_prefix("arn:aws:ivs:us-west-2:123456789012:channel/AbCdef1G2hij", started,
                                "j8Z9O91ndcVs") == "ivs/v1/123456789012/AbCdef1G2hij/2020/6/23/20/12/j8Z9O91ndcVs"
