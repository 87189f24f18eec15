"""The IVS gateway's stream-key and stream calls, each request and response checked against botocore's
IVS model (Stubber), with IVS's errors turned into the contract's codes.

The same expectations run against the embedded stand-in in tests/data/test_embedded_ivs_stand_in.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from data.ivs import IvsGateway, IvsStream, StreamKeyExists
from domain.errors import CapacityExceeded, Conflict, NotFound, UpstreamError

CHANNEL_ARN = "arn:aws:ivs:us-east-1:123456789012:channel/abcdEFGH1234"
KEY_ARN = "arn:aws:ivs:us-east-1:123456789012:stream-key/keyABCD1234"
STREAM_1 = "st-1AbCdEfGhIjKlMnOpQrStUv"
STREAM_2 = "st-2AbCdEfGhIjKlMnOpQrStUv"
STARTED = datetime(2026, 12, 1, 18, 0, 0, tzinfo=UTC)


@pytest.fixture
def stubbed() -> Iterator[tuple[IvsGateway, Stubber]]:
    client = boto3.client("ivs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield IvsGateway(client), stubber
        stubber.assert_no_pending_responses()


def stream_summary(channel_arn: str = CHANNEL_ARN, stream_id: str = STREAM_1, viewers: int = 7) -> dict[str, Any]:
    return {"channelArn": channel_arn, "streamId": stream_id, "state": "LIVE", "health": "HEALTHY",
            "viewerCount": viewers, "startTime": STARTED}


def test_create_stream_key_returns_the_new_key(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "create_stream_key",
        {"streamKey": {"arn": KEY_ARN, "channelArn": CHANNEL_ARN, "value": "sk_us-east-1_new", "tags": {}}},
        {"channelArn": CHANNEL_ARN},
    )

    key = gateway.create_stream_key(CHANNEL_ARN)

    assert (key.arn, key.channel_arn, key.value) == (KEY_ARN, CHANNEL_ARN, "sk_us-east-1_new")
    assert "sk_us-east-1_new" not in repr(key)


def test_create_stream_key_on_a_channel_with_a_key_is_stream_key_exists(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("create_stream_key", "ServiceQuotaExceededException", http_status_code=402,
                             expected_params={"channelArn": CHANNEL_ARN})

    with pytest.raises(StreamKeyExists) as raised:
        gateway.create_stream_key(CHANNEL_ARN)

    assert raised.value.code == "CONFLICT"
    assert raised.value.message == f"IVS channel {CHANNEL_ARN} has a stream key already."


def test_create_stream_key_on_an_unknown_channel_is_not_found(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("create_stream_key", "ResourceNotFoundException", http_status_code=404)

    with pytest.raises(NotFound) as raised:
        gateway.create_stream_key(CHANNEL_ARN)

    assert raised.value.message == f"IVS has no channel {CHANNEL_ARN} (CreateStreamKey)."


def test_get_stream_key_returns_its_value_and_none_once_gone(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response("get_stream_key", {"streamKey": {"arn": KEY_ARN, "channelArn": CHANNEL_ARN, "value": "sk_v"}},
                         {"arn": KEY_ARN})
    stubber.add_client_error("get_stream_key", "ResourceNotFoundException", http_status_code=404)

    assert gateway.get_stream_key(KEY_ARN) is not None
    assert gateway.get_stream_key(KEY_ARN) is None


def test_delete_stream_key_of_a_key_already_gone_counts_as_deleted(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response("delete_stream_key", {}, {"arn": KEY_ARN})
    stubber.add_client_error("delete_stream_key", "ResourceNotFoundException", http_status_code=404,
                             expected_params={"arn": KEY_ARN})

    gateway.delete_stream_key(KEY_ARN)
    gateway.delete_stream_key(KEY_ARN)


def test_list_stream_keys_pages_through_every_key(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response("list_stream_keys", {"streamKeys": [{"arn": KEY_ARN, "channelArn": CHANNEL_ARN}],
                                              "nextToken": "page-2"},
                         {"channelArn": CHANNEL_ARN, "maxResults": 50})
    stubber.add_response("list_stream_keys", {"streamKeys": [{"arn": KEY_ARN + "b", "channelArn": CHANNEL_ARN}]},
                         {"channelArn": CHANNEL_ARN, "maxResults": 50, "nextToken": "page-2"})

    keys = gateway.list_stream_keys(CHANNEL_ARN)

    assert [key.arn for key in keys] == [KEY_ARN, KEY_ARN + "b"]
    assert all(key.value is None for key in keys)


def test_get_stream_returns_the_live_stream(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "get_stream",
        {"stream": {**stream_summary(), "playbackUrl": "https://playback.example.com/x.m3u8"}},
        {"channelArn": CHANNEL_ARN},
    )

    assert gateway.get_stream(CHANNEL_ARN) == IvsStream(CHANNEL_ARN, STREAM_1, STARTED, "HEALTHY", 7, "LIVE")


def test_get_stream_of_a_channel_not_broadcasting_is_none(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("get_stream", "ChannelNotBroadcasting", http_status_code=404,
                             expected_params={"channelArn": CHANNEL_ARN})

    assert gateway.get_stream(CHANNEL_ARN) is None


def test_list_streams_pages_through_every_stream(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    other = CHANNEL_ARN.replace("abcd", "wxyz")
    stubber.add_response("list_streams", {"streams": [stream_summary()], "nextToken": "t2"}, {"maxResults": 100})
    stubber.add_response("list_streams", {"streams": [stream_summary(other, STREAM_2, 0)]},
                         {"maxResults": 100, "nextToken": "t2"})

    streams = gateway.list_streams()

    assert [(s.channel_arn, s.stream_id, s.viewer_count) for s in streams] == [(CHANNEL_ARN, STREAM_1, 7), (other, STREAM_2, 0)]


def test_stop_stream_says_whether_a_stream_was_stopped(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response("stop_stream", {}, {"channelArn": CHANNEL_ARN})
    stubber.add_client_error("stop_stream", "ChannelNotBroadcasting", http_status_code=404,
                             expected_params={"channelArn": CHANNEL_ARN})

    assert gateway.stop_stream(CHANNEL_ARN) is True
    assert gateway.stop_stream(CHANNEL_ARN) is False


def test_list_stream_sessions_reads_one_page(stubbed: tuple[IvsGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "list_stream_sessions",
        {"streamSessions": [{"streamId": STREAM_1, "startTime": STARTED, "endTime": STARTED, "hasErrorEvent": False}]},
        {"channelArn": CHANNEL_ARN, "maxResults": 50},
    )

    sessions = gateway.list_stream_sessions(CHANNEL_ARN)

    assert [(s.stream_id, s.started_at, s.ended_at) for s in sessions] == [(STREAM_1, STARTED, STARTED)]


@pytest.mark.parametrize(
    ("operation", "call", "code", "status", "expected", "message"),
    [
        ("stop_stream", lambda g: g.stop_stream(CHANNEL_ARN), "StreamUnavailable", 503, UpstreamError,
         "IVS StopStream failed: StreamUnavailable."),
        ("stop_stream", lambda g: g.stop_stream(CHANNEL_ARN), "ThrottlingException", 429, UpstreamError,
         "IVS StopStream failed: ThrottlingException."),
        ("delete_stream_key", lambda g: g.delete_stream_key(KEY_ARN), "ConflictException", 409, Conflict,
         "IVS DeleteStreamKey refused: the resource is changing concurrently; retry."),
        ("get_stream", lambda g: g.get_stream(CHANNEL_ARN), "ResourceNotFoundException", 404, NotFound,
         f"IVS has no channel {CHANNEL_ARN} (GetStream)."),
        ("list_streams", lambda g: g.list_streams(), "ThrottlingException", 429, UpstreamError,
         "IVS ListStreams failed: ThrottlingException."),
        ("list_stream_keys", lambda g: g.list_stream_keys(CHANNEL_ARN), "ServiceQuotaExceededException", 402,
         CapacityExceeded, "IVS ListStreamKeys refused: a service quota is reached."),
    ],
)
def test_ivs_errors_become_contract_codes(
    stubbed: tuple[IvsGateway, Stubber], operation: str, call: Any, code: str, status: int,
    expected: type, message: str,
) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error(operation, code, http_status_code=status)

    with pytest.raises(expected) as raised:
        call(gateway)

    assert raised.value.message == message
    if expected is UpstreamError:
        assert raised.value.extensions == {"code": "UPSTREAM_ERROR", "retryable": True}
