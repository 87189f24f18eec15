"""`shelcaster-channels redrive-events --queue-url URL [--apply]` against SQS and DynamoDB (moto): the
dead-letter queue's two shapes -- EventBridge's raw event, Lambda's on-failure record -- are both
applied once and removed; anything else stays in the queue and fails the command."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

import server
from commands.cli import main
from app.settings import Settings
from data.clients import AwsConnection, build_sqs_client
from services.event_redrive import unwrap_dead_letter
from tests.events.test_ivs_events import live_stream_event, sample
from tests.handlers.test_lambda_handlers import CONTEXT, api_event, lambda_env  # noqa: F401 (fixture)
from tests.support import TokenFactory

ON_FAILURE_RECORD = Path(__file__).parents[1] / "handlers" / "events" / "lambda_on_failure_record.json"


def on_failure_record(event: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(json.loads(ON_FAILURE_RECORD.read_text()))
    record["requestPayload"] = event
    return record


def queue_bodies(sqs: Any, url: str) -> list[str]:
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
    return sorted(message["Body"] for message in response.get("Messages", []))


def channel_state(token: str, channel_id: str) -> dict[str, Any]:
    query = '{ channel(id: "%s") { state stats { totalBroadcasts } } }' % channel_id
    return json.loads(server.handler(api_event("apigw_http_v2.json", query, token), CONTEXT)["body"])["data"]["channel"]


def test_unwrap_reads_both_shapes_and_nothing_else() -> None:
    event = sample("ivs_stream_start", "arn:aws:ivs:us-east-1:123456789012:channel/abc")
    assert unwrap_dead_letter(json.dumps(event)) == event
    assert unwrap_dead_letter(json.dumps(on_failure_record(event))) == event
    for body in ("not json", "[]", json.dumps({"requestContext": {}, "requestPayload": "text"}), json.dumps({"a": 1})):
        assert unwrap_dead_letter(body) is None


def test_redrive_reports_then_applies_each_event_once_and_keeps_what_it_cannot_read(
    lambda_env: Settings, aws_connection: AwsConnection, tokens: TokenFactory,  # noqa: F811
    capsys: pytest.CaptureFixture[str], aws: Any,
) -> None:
    admin = tokens.admin()
    created = server.handler(
        api_event("apigw_http_v2.json", 'mutation { createChannel(input: {name: "Dead Letters"}) { id arn streamKey } }',
                  admin),
        CONTEXT,
    )
    channel = json.loads(created["body"])["data"]["createChannel"]
    sqs = build_sqs_client(aws_connection)
    url = sqs.create_queue(QueueName="ivs-events-dlq")["QueueUrl"]
    start = live_stream_event(aws.ivs_stand_in, channel["arn"], channel["streamKey"])
    # The same start twice: once as EventBridge gave up on it, once as the function did.
    bodies = [json.dumps(start), json.dumps(on_failure_record(start)), "garbage"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)

    with pytest.raises(SystemExit) as dry:
        main(["redrive-events", "--queue-url", url])
    out = capsys.readouterr().out
    assert dry.value.code == 1  # the unreadable message
    assert out.count("IVS Stream State Change 'Stream Start' of " + channel["arn"] + " [planned]") == 2
    assert "applied 0, to apply 2, unreadable 1" in out and "dry run: nothing changed" in out
    assert queue_bodies(sqs, url) == sorted(bodies)
    assert channel_state(admin, channel["id"])["state"] == "IDLE"

    with pytest.raises(SystemExit) as applied:
        main(["redrive-events", "--queue-url", url, "--apply"])
    out = capsys.readouterr().out
    assert applied.value.code == 1
    assert out.count(": went LIVE [done]") == 1
    assert out.count(": already applied: the stream has its session [done]") == 1
    assert "applied 2, to apply 0, unreadable 1" in out
    assert queue_bodies(sqs, url) == ["garbage"]
    assert channel_state(admin, channel["id"]) == {"state": "LIVE", "stats": {"totalBroadcasts": 1}}


def test_redrive_of_an_empty_queue_succeeds(
    lambda_env: Settings, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    url = boto3.client("sqs", region_name="us-east-1", endpoint_url=aws_connection.endpoint_url,
                       aws_access_key_id="testing", aws_secret_access_key="testing").create_queue(
        QueueName="empty-dlq")["QueueUrl"]
    main(["redrive-events", "--queue-url", url, "--apply"])
    assert capsys.readouterr().out.strip() == "applied 0, to apply 0, unreadable 0"


def test_an_event_that_can_never_be_applied_goes_to_the_dead_letters_once_with_its_reason(
    lambda_env: Settings, aws_connection: AwsConnection, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqs = build_sqs_client(aws_connection)
    url = sqs.create_queue(QueueName="ivs-events-refused")["QueueUrl"]
    monkeypatch.setenv("CHANNELS_EVENTS_DEAD_LETTER_QUEUE_URL", url)
    forged = sample("ivs_stream_start", "arn:aws:ivs:us-east-1:123456789012:channel/abc", stream_id="st-1 OR 1=1")

    outcome = server.events_handler(forged, CONTEXT)  # answered, not raised: Lambda does not retry it

    reason = "'detail.stream_id' is not an identifier of the shape IVS documents"
    assert outcome == {"outcome": f"refused: {reason}"}
    [body] = queue_bodies(sqs, url)
    assert json.loads(body) == {"refusedEvent": forged, "reason": reason}

    main(["redrive-events", "--queue-url", url, "--apply"])  # succeeds: nothing it could apply is left
    out = capsys.readouterr().out
    assert f": {reason}: left in the queue to read and delete" in out
    assert "applied 0, to apply 0, unreadable 0, refused 1" in out
    assert queue_bodies(sqs, url) == [body]
