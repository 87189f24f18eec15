"""The end-to-end paths of each function, run once against the emulator with every AWS call recorded.

What each function's Lambda handler (app/lambda_handler.py) does with real event shapes:

- the API function: every document of both frontends (operations/vista-stream, operations/program-manager)
  and the contract's other operations (rotateStreamKey, stopBroadcast, Channel.stream, Channel.sessions),
  `smoke`'s eighteen steps and cleanup (its HTTP client routed into the handler), /healthz and /readyz;
- the IVS events function: each sample of tests/events/samples, in a broadcast's order;
- the live check: a stream IVS has that no event reported, then the stream lost;
- the operator's commands (commands/cli.py, run with an operator's credentials, not a role of the stack):
  provision, doctor, reconcile and reconcile --apply, encrypt-keys, check-live, redrive-events --apply;
- the feed of live updates a serving container runs (Service.change_feed, under the template's
  LiveUpdatesFeedPolicy): it begins, a write reaches it, it is cancelled.

New code on these paths is recorded without a change here: the recorder hooks every client.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import botocore.session
import httpx
import pytest

import server
from app import lambda_handler
from commands.cli import main as cli
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from commands.smoke import run_smoke
from domain.clock import format_timestamp, utc_now
from tests.conftest import make_settings
from tests.deploy.aws_calls import AwsCallRecorder
from tests.events.test_ivs_events import sample
from tests.support import CLIENT_ID, ISSUER, JwksServer, TokenFactory

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "operations"
API_EVENT = ROOT / "tests" / "handlers" / "events" / "apigw_http_v2.json"
ON_FAILURE_RECORD = ROOT / "tests" / "handlers" / "events" / "lambda_on_failure_record.json"
CONTEXT = type("LambdaContext", (), {"function_name": "shelcaster-channels", "aws_request_id": "req-iam"})()
REGION, ACCOUNT = "us-east-1", "123456789012"  # moto's account
RECORDING_CONFIGURATION = f"arn:aws:ivs:{REGION}:{ACCOUNT}:recording-configuration/AbCdEf123456"
# Function name (as the tests report it) -> the template's logical id.
FUNCTIONS = {"API": "ApiFunction", "IVS events": "EventsFunction", "live check": "LiveCheckFunction"}
OPERATOR = "operator"
# The container's reader of the table's stream, and the template's policy for its task role.
FEED, FEED_POLICY = "feed", "LiveUpdatesFeedPolicy"


@dataclass
class Recorded:
    recorder: AwsCallRecorder
    table: str
    kms_key_arn: str
    queue_name: str


def _http_event(method: str, path: str, body: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
    event = copy.deepcopy(json.loads(API_EVENT.read_text()))
    text = json.dumps(body) if body is not None else ""
    event["rawPath"] = path
    event["routeKey"] = f"{method} {path}"
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"] = {"host": "api.example.com", "content-type": "application/json", "content-length": str(len(text))}
    if token:
        event["headers"]["authorization"] = f"Bearer {token}"
    event["body"] = text
    event["isBase64Encoded"] = False
    return event


class Api:
    """GraphQL through the API function's handler."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = server.handler(_http_event("POST", "/graphql", {"query": document, "variables": variables or {}},
                                            self.token), CONTEXT)
        body = json.loads(answer["body"])
        assert not body.get("errors"), (document[:60], body["errors"])
        return dict(body["data"])

    def operation(self, path: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self(_document(path), variables)


def _document(path: str) -> str:
    return (OPERATIONS / path).read_text()


def _handler_transport() -> httpx.MockTransport:
    """smoke's HTTP requests answered by the API function's handler (as API Gateway would pass them)."""

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        event = _http_event(request.method, request.url.path, json.loads(request.content or b"null"), token)
        response = server.handler(event, CONTEXT)
        return httpx.Response(response["statusCode"], headers=response.get("headers"), content=response["body"])

    return httpx.MockTransport(answer)


def _frontends(admin: Api, host: Api, producer: Api) -> None:
    created = admin.operation("vista-stream/CreateChannel.graphql",
                              {"input": {"name": "IAM paths", "idempotencyKey": "iam-paths-1"}})["createChannel"]
    channel = created["id"]
    admin.operation("vista-stream/Channels.graphql", {"first": 20})
    admin.operation("vista-stream/Channels.graphql", {"state": "IDLE", "first": 20})
    admin.operation("vista-stream/Channel.graphql", {"id": channel})
    admin.operation("vista-stream/Capacity.graphql")
    admin.operation("vista-stream/ChannelCapacity.graphql")
    admin.operation("vista-stream/AssignChannel.graphql", {"channelId": channel, "hostUserId": "host-1"})
    admin.operation("vista-stream/HostChannel.graphql", {"hostUserId": "host-1"})
    host.operation("program-manager/MyChannel.graphql")
    host.operation("program-manager/HostGoLive.graphql", {"channelId": channel, "state": "LIVE", "sessionId": "s-1"})
    host.operation("program-manager/HostGoLive.graphql", {"channelId": channel, "state": "IDLE"})
    admin.operation("vista-stream/SetChannelState.graphql", {"channelId": channel, "state": "LIVE"})
    admin('mutation($id: ID!) { stopBroadcast(channelId: $id) { id state } }', {"id": channel})
    admin.operation("vista-stream/SetChannelState.graphql", {"channelId": channel, "state": "IDLE"})
    admin('mutation($id: ID!) { rotateStreamKey(channelId: $id) { id streamKey } }', {"id": channel})
    admin('query($id: ID!) { channel(id: $id) { stream { streamId } sessions(first: 5) { edges { node { sessionId recording { __typename } } } } } }',
          {"id": channel})
    admin.operation("vista-stream/UnassignChannel.graphql", {"channelId": channel, "hostUserId": "host-1"})
    admin.operation("vista-stream/SetChannelState.graphql", {"channelId": channel, "state": "OFFLINE"})
    admin.operation("vista-stream/DeleteChannel.graphql", {"id": channel})
    _schedule(admin, host)
    for name in ("rejected", "cancelled", "approved"):
        request = producer.operation("program-manager/RequestChannel.graphql",
                                     {"input": {"name": f"IAM {name}", "reason": "a show"}})["requestChannel"]["id"]
        if name == "approved":
            admin.operation("vista-stream/ApproveChannelRequest.graphql", {"id": request, "note": "yes"})
        elif name == "rejected":
            admin.operation("vista-stream/RejectChannelRequest.graphql", {"id": request, "note": "no"})
        else:
            producer.operation("program-manager/CancelChannelRequest.graphql", {"id": request})
    producer.operation("program-manager/MyChannelRequests.graphql")
    admin.operation("vista-stream/ChannelRequests.graphql", {"first": 20})
    admin.operation("vista-stream/ChannelRequests.graphql", {"status": "APPROVED", "first": 20})
    admin.operation("vista-stream/ChannelRequests.graphql", {"status": None, "first": 20})  # every request


def _schedule(admin: Api, host: Api) -> None:
    """A SHARED channel's schedule from both frontends, the host going LIVE in their slot, and the
    unassignment and deletion that cancel what is left (docs/schedules.md)."""
    shared = admin.operation("vista-stream/CreateChannel.graphql", {"input": {
        "name": "IAM schedule", "assignmentModel": "SHARED", "idempotencyKey": "iam-paths-2"}})["createChannel"]["id"]
    admin.operation("vista-stream/AssignChannel.graphql", {"channelId": shared, "hostUserId": "host-1"})
    now = utc_now().replace(second=0, microsecond=0)

    def times(hours: int) -> dict[str, str]:
        return {"startsAt": format_timestamp(now + timedelta(hours=hours)),
                "endsAt": format_timestamp(now + timedelta(hours=hours + 1))}

    slot = host.operation("program-manager/BookSlot.graphql",
                          {"input": {"channelId": shared, **times(0)}})["bookSlot"]["id"]
    host.operation("program-manager/MySlots.graphql")
    host.operation("program-manager/HostGoLive.graphql", {"channelId": shared, "state": "LIVE"})
    host.operation("program-manager/HostGoLive.graphql", {"channelId": shared, "state": "IDLE"})
    host.operation("program-manager/MoveSlot.graphql", {"id": slot, **times(2)})
    admin.operation("vista-stream/BookSlotForHost.graphql",
                    {"input": {"channelId": shared, "hostUserId": "host-1", **times(4)}})
    admin.operation("vista-stream/ChannelSchedule.graphql", {"id": shared})
    host.operation("program-manager/CancelSlot.graphql", {"id": slot})
    admin.operation("vista-stream/UnassignChannel.graphql", {"channelId": shared, "hostUserId": "host-1"})
    admin.operation("vista-stream/SetChannelState.graphql", {"channelId": shared, "state": "OFFLINE"})
    admin.operation("vista-stream/DeleteChannel.graphql", {"id": shared})


def _broadcast(admin: Api, stand_in: LocalIvsStreamsStandIn, recorder: AwsCallRecorder, ivs: Any) -> str:
    """A channel the events drive through a broadcast, then the live check finding and losing a stream,
    and finding one on the channel once it is OFFLINE (an encoder on a key left behind, as a failed
    put-back-on-air leaves one; `ivs` is the test's own client, unrecorded); the channel's ARN."""
    with recorder.acting_as("API"):
        # SHARED: a stream's start is attributed to the slot covering it (a Query of the channel's slots).
        made = admin('mutation { createChannel(input: {name: "Broadcast", assignmentModel: SHARED}) '
                     '{ id arn streamKey } }')["createChannel"]
        admin('mutation($id: ID!) { assignChannel(channelId: $id, hostUserId: "host-2") { hostUserId } }',
              {"id": made["id"]})
    stand_in.connect_encoder(made["streamKey"])
    stream = stand_in.stream_of(made["arn"])
    assert stream is not None
    with recorder.acting_as("IVS events"):
        for name in ("ivs_stream_start", "ivs_recording_start", "ivs_session_created", "ivs_stream_end",
                     "ivs_recording_end", "ivs_session_ended"):
            server.events_handler(_now(sample(name, made["arn"], stream_id=stream["streamId"],
                                              recording_session_stream_ids=[stream["streamId"]])), CONTEXT)
    stand_in.disconnect_encoder(made["arn"])
    with recorder.acting_as("IVS events"):  # a start IVS no longer streams: the session that covered it
        server.events_handler(_now(sample("ivs_stream_start", made["arn"], stream_id="st-late")), CONTEXT)
        # An event that can never be applied: to the dead letters once, with its reason.
        server.events_handler(_now(sample("ivs_stream_start", made["arn"], stream_id="not an id")), CONTEXT)
    lambda_handler.reset()  # a new API container: its first stream key read opens the sealed key (kms:Decrypt)
    with recorder.acting_as("API"):
        admin('query($id: ID!) { channel(id: $id) { streamKey } }', {"id": made["id"]})
        admin('query($id: ID!) { channel(id: $id) { sessions(first: 5) { edges { node { sessionId recording { __typename } } } } } }', {"id": made["id"]})
    with recorder.acting_as("live check"):
        stand_in.connect_encoder(made["streamKey"])
        server.live_check_handler({}, CONTEXT)
        stand_in.disconnect_encoder(made["arn"])
        server.live_check_handler({}, CONTEXT)
        server.live_check_handler({}, CONTEXT)
    with recorder.acting_as("API"):
        admin('mutation($id: ID!) { setChannelState(channelId: $id, state: OFFLINE) { state } }', {"id": made["id"]})
    leftover = ivs.create_stream_key(channelArn=made["arn"])["streamKey"]["value"]
    stand_in.connect_encoder(leftover)
    with recorder.acting_as("live check"):
        server.live_check_handler({}, CONTEXT)
    stand_in.connect_encoder(leftover)
    stream = stand_in.stream_of(made["arn"])
    assert stream is not None
    with recorder.acting_as("IVS events"):  # IVS's Stream Start of that stream: stopped too
        server.events_handler(_now(sample("ivs_stream_start", made["arn"], stream_id=stream["streamId"])), CONTEXT)
    stand_in.disconnect_encoder(made["arn"])
    return str(made["arn"])


def _now(event: dict[str, Any]) -> dict[str, Any]:
    """The event dated now: the events function applies events of the last 14 days only."""
    return event | {"time": format_timestamp(utc_now())}


def _dead_letters(sqs: Any, queue_url: str, channel_arn: str) -> None:
    """A broadcast's start in both shapes the dead-letter queue holds: as EventBridge gave up on it, and
    as Lambda's on-failure record (tests/handlers/events/lambda_on_failure_record.json)."""
    start = _now(sample("ivs_stream_start", channel_arn, stream_id="st-dead-letter"))
    record = json.loads(ON_FAILURE_RECORD.read_text()) | {"requestPayload": start}
    for body in (start, record):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))


def _operator(recorder: AwsCallRecorder, queue_url: str) -> None:
    with recorder.acting_as(OPERATOR):
        for command in (["doctor"], ["reconcile"], ["reconcile", "--apply"], ["encrypt-keys"],
                        ["encrypt-keys", "--apply"], ["check-live"], ["redrive-events", "--queue-url", queue_url],
                        ["redrive-events", "--queue-url", queue_url, "--apply"], ["provision"]):
            with contextlib.suppress(SystemExit):
                cli(command)


def _feed(recorder: AwsCallRecorder, writer: Any, table: str) -> None:
    """The serving process's reader of the table's stream, until a write (`writer`: unrecorded) reaches it."""
    from app.bootstrap import bootstrap
    from app.settings import load_settings

    service = bootstrap(load_settings())
    delivered: list[object] = []

    async def deliver(changes: Any) -> None:
        delivered.extend(changes)

    async def read_one_change() -> None:
        reader = service.change_feed()
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(reader.run, deliver)
                while not reader.began:
                    await anyio.sleep(0.05)
                writer.put_item(TableName=table, Item={"pk": {"S": "channel#feed-path"}, "sk": {"S": "info"}})
                while not delivered:
                    await anyio.sleep(0.05)
                group.cancel_scope.cancel()

    failures: list[BaseException] = []

    def in_its_own_thread() -> None:
        # A thread of its own, as a serving process's event loop: the handlers' loop stays as it is.
        try:
            anyio.run(read_one_change)
        except BaseException as exc:  # raised below, in the test's thread
            failures.append(exc)

    try:
        with recorder.acting_as(FEED):
            reading = threading.Thread(target=in_its_own_thread)
            reading.start()
            reading.join()
    finally:
        service.close()
    if failures:
        raise failures[0]


def _reset(aws: EmbeddedAws) -> None:
    request = urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def _client(aws: EmbeddedAws, service: str) -> Any:
    """A client for the test's own set-up, made before the recorder hooks clients (never recorded)."""
    return botocore.session.get_session().create_client(
        service, region_name=REGION, endpoint_url=aws.endpoint_url,
        aws_access_key_id="testing", aws_secret_access_key="testing")


@contextlib.contextmanager
def recorded_paths(aws: EmbeddedAws, signing: tuple[TokenFactory, JwksServer]) -> Iterator[Recorded]:
    """Every path above run once, under one recorder; the Lambda containers cold at the start and end."""
    tokens, jwks = signing
    _reset(aws)
    kms_key = _client(aws, "kms").create_key(Description="stream keys")["KeyMetadata"]["Arn"]
    sqs, ivs, dynamodb = _client(aws, "sqs"), _client(aws, "ivs"), _client(aws, "dynamodb")
    queue_url = sqs.create_queue(QueueName="channels-test-events-dlq")["QueueUrl"]
    table = make_settings().table
    recorder = AwsCallRecorder()
    with pytest.MonkeyPatch.context() as patch, recorder.installed():
        for name, value in {
            "CHANNELS_BACKEND": "aws", "CHANNELS_ENV": "production", "CHANNELS_TABLE": table,
            "CHANNELS_AUTH_ISSUER": ISSUER, "CHANNELS_AUTH_AUDIENCE": CLIENT_ID,
            "CHANNELS_AUTH_JWKS_URL": jwks.url, "CHANNELS_KMS_KEY_ID": kms_key,
            "CHANNELS_RECORDING_CONFIGURATION_ARN": RECORDING_CONFIGURATION, "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": aws.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "CHANNELS_EVENTS_DEAD_LETTER_QUEUE_URL": queue_url,
        }.items():
            patch.setenv(name, value)
        lambda_handler.reset()
        try:
            with recorder.acting_as(OPERATOR):
                _provision()
            admin, host, producer = Api(tokens.admin()), Api(tokens.host("host-1")), Api(tokens.host("producer-1"))
            with recorder.acting_as("API"):
                for path in ("/healthz", "/readyz"):
                    assert server.handler(_http_event("GET", path, None, None), CONTEXT)["statusCode"] == 200, path
                _frontends(admin, host, producer)
                for requester in (None, tokens.host("producer-2")):
                    lines: list[str] = []
                    status = run_smoke("https://api.example.com", admin.token, report=lines.append,
                                       transport=_handler_transport(), host_token=requester)
                    assert status == 0, "\n".join(lines)
            stand_in = aws.ivs_stand_in
            assert isinstance(stand_in, LocalIvsStreamsStandIn)
            channel_arn = _broadcast(admin, stand_in, recorder, ivs)
            _dead_letters(sqs, queue_url, channel_arn)
            _operator(recorder, queue_url)
            _feed(recorder, dynamodb, table)
        finally:
            lambda_handler.reset()
    yield Recorded(recorder, table, kms_key, queue_url.rsplit("/", 1)[-1])


def _provision() -> None:
    try:
        cli(["provision"])  # returns when all went well
    except SystemExit as exited:
        assert exited.code in (None, 0), "provision failed: the paths need its table"
