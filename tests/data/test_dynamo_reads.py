"""The queries' async reads (data.dynamo_reads) on the wire, against the embedded emulator: the same
requests and signing keys as boto3's, retries within the same budget, the same errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import botocore.retries.standard
import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError

import data.aiodynamo_connection
import data.dynamo
import data.dynamo_reads
from app.bootstrap import Service
from data.aiodynamo_connection import BotocoreCredentials
from data.clients import AwsConnection, build_clients
from data.dynamo import to_dynamo
from data.dynamo_reads import MAX_ATTEMPTS, DynamoReader
from domain.errors import UpstreamError
from embedded.emulator import EMBEDDED_CREDENTIALS, EmbeddedAws, WireAnswer, WireRequest
from tests.data.conftest import run_read
from tests.faults import Fault, OnTheWire, dynamodb_error
from tests.support import CallCounter

ITEM = {"pk": "test#reads", "sk": "A", "note": "stored"}
KEY = {"pk": "test#reads", "sk": "A"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without the backoff's sleep (the attempts are what these tests count): ours, and that of
    botocore's standard retry mode, which the boto3 client retries with."""
    for module in (data.dynamo, data.dynamo_reads, data.aiodynamo_connection):
        monkeypatch.setattr(module, "backoff_delay", lambda attempt: 0)
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def reader_of(service: Service) -> DynamoReader:
    assert service.backend.reader is not None
    return service.backend.reader


@pytest.fixture
def stored(service: Service) -> Service:
    service.table.client.put_item(TableName=service.table.name, Item=to_dynamo(ITEM))
    return service


def throttled_first(times: int, operation: str = "BatchGetItem") -> Callable[[WireRequest, int], WireAnswer | None]:
    def answer(request: WireRequest, number: int) -> WireAnswer | None:
        if request.operation == operation and number <= times:
            return dynamodb_error("ProvisionedThroughputExceededException")
        return None

    return answer


def test_a_throttled_read_is_sent_again_and_answers(stored: Service, aws: EmbeddedAws) -> None:
    with OnTheWire(aws, throttled_first(2)) as wire:
        items = run_read(reader_of(stored), lambda reader: reader.batch_get(stored.table.name, [KEY]))
    assert items == [ITEM]
    assert wire.operations == ["BatchGetItem"] * 3


def test_an_internal_error_is_sent_again_and_answers(stored: Service, aws: EmbeddedAws) -> None:
    def answer(request: WireRequest, number: int) -> WireAnswer | None:
        return WireAnswer(500, b"") if number == 1 else None

    with OnTheWire(aws, answer) as wire:
        item = run_read(reader_of(stored), lambda reader: reader.get(stored.table.name, KEY))
    assert item == ITEM
    assert wire.operations == ["GetItem", "GetItem"]


@pytest.mark.parametrize("client", ["boto3", "aiodynamo"])
def test_a_read_throttled_at_every_attempt_is_an_upstream_error_after_the_same_budget(
    stored: Service, aws: EmbeddedAws, client: str
) -> None:
    with OnTheWire(aws, throttled_first(99)) as wire, pytest.raises(UpstreamError) as raised:
        if client == "boto3":
            stored.table.batch_get([KEY])
        else:
            run_read(reader_of(stored), lambda reader: reader.batch_get(stored.table.name, [KEY]))
    assert raised.value.message == "DynamoDB BatchGetItem failed: ProvisionedThroughputExceededException."
    assert wire.operations == ["BatchGetItem"] * MAX_ATTEMPTS


def test_unprocessed_keys_are_asked_for_again_on_the_wire(stored: Service, aws: EmbeddedAws) -> None:
    table = stored.table.name

    def answer(request: WireRequest, number: int) -> WireAnswer | None:
        if number > 1:
            return None
        unprocessed = {"Responses": {table: []}, "UnprocessedKeys": {table: {"Keys": [to_dynamo(KEY)]}}}
        return WireAnswer(200, json.dumps(unprocessed).encode())

    with OnTheWire(aws, answer) as wire:
        items = run_read(reader_of(stored), lambda reader: reader.batch_get(table, [KEY]))
    assert items == [ITEM]
    assert [json.loads(request.body) for request in wire.requests] == [
        {"RequestItems": {table: {"Keys": [to_dynamo(KEY)]}}}
    ] * 2


QUERY = {"KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": {"#pk": "pk"},
         "ExpressionAttributeValues": {":pk": {"S": "test#reads"}}, "ScanIndexForward": False, "Limit": 2}


def test_both_clients_send_the_same_request_documents(stored: Service, aws: EmbeddedAws) -> None:
    table = stored.table
    with OnTheWire(aws) as boto3_wire:
        boto3_answers = (table.get(KEY), table.batch_get([KEY]), table.query(**QUERY))
    with OnTheWire(aws) as reader_wire:
        reader_answers = run_read(reader_of(stored), lambda reader: _all_reads(reader, table.name))
    assert reader_answers == boto3_answers == (ITEM, [ITEM], ([ITEM], 1))
    assert [(request.target, json.loads(request.body)) for request in reader_wire.requests] == [
        (request.target, json.loads(request.body)) for request in boto3_wire.requests
    ]
    assert json.loads(reader_wire.requests[0].body)["ConsistentRead"] is True


async def _all_reads(reader: DynamoReader, table: str) -> tuple[Any, ...]:
    return await reader.get(table, KEY), await reader.batch_get(table, [KEY]), await reader.query(table, **QUERY)


def test_both_clients_sign_with_the_same_access_key(stored: Service, aws: EmbeddedAws) -> None:
    with OnTheWire(aws) as wire:
        stored.table.get(KEY)
        run_read(reader_of(stored), lambda reader: reader.get(stored.table.name, KEY))
    access_key = EMBEDDED_CREDENTIALS[0]
    credentials = [request.headers["authorization"].split("Credential=")[1].split("/")[0] for request in wire.requests]
    assert credentials == [access_key, access_key]


def test_an_error_answer_is_the_upstream_error_boto3_raises_with_its_client_error(stored: Service) -> None:
    with pytest.raises(UpstreamError) as raised:
        run_read(reader_of(stored), lambda reader: reader.query(stored.table.name, IndexName="no-such-index", **QUERY))
    assert raised.value.code == "UPSTREAM_ERROR"
    assert raised.value.message.startswith("DynamoDB Query failed: ")
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError)
    assert raised.value.message == f"DynamoDB Query failed: {cause.response['Error']['Code']}."
    assert cause.response["Error"]["Code"] in {"ValidationException", "ResourceNotFoundException"}


def test_an_unreachable_endpoint_is_an_upstream_error() -> None:
    connection = AwsConnection(region="us-east-1", endpoint_url="http://127.0.0.1:9", access_key_id="a",
                               secret_access_key="b")
    clients = build_clients(connection)
    reader = DynamoReader(clients.dynamodb, clients.credentials)
    with pytest.raises(UpstreamError) as raised:
        run_read(reader, lambda reader: reader.get("any", KEY))
    assert raised.value.message == "DynamoDB GetItem failed: the service could not be reached."


def test_botocores_hooks_count_the_readers_calls(stored: Service, aws: EmbeddedAws) -> None:
    counter = CallCounter().attach(stored.clients.dynamodb)
    try:
        run_read(reader_of(stored), lambda reader: reader.batch_get(stored.table.name, [KEY]))
    finally:
        counter.detach(stored.clients.dynamodb)
    assert counter.calls == [("dynamodb", "BatchGetItem")]


def test_a_fault_injected_through_botocores_hooks_never_reaches_the_wire(stored: Service, aws: EmbeddedAws) -> None:
    with OnTheWire(aws) as wire, Fault(stored.clients.dynamodb, "GetItem", "InternalServerError") as fault, \
            pytest.raises(UpstreamError) as raised:
        run_read(reader_of(stored), lambda reader: reader.get(stored.table.name, KEY))
    assert raised.value.message == "DynamoDB GetItem failed: InternalServerError."
    assert (fault.injected, wire.operations) == (1, [])


def _role_credentials(expires_in: timedelta, renewals: list[str]) -> RefreshableCredentials:
    """A role's credentials (as the container's or Lambda's chain gives them) expiring in `expires_in`,
    whose renewal notes the thread it ran on."""

    def renew() -> dict[str, str]:
        renewals.append(threading.current_thread().name)
        expiry = datetime.now(timezone.utc) + timedelta(hours=1)
        return {"access_key": EMBEDDED_CREDENTIALS[0], "secret_key": EMBEDDED_CREDENTIALS[1], "token": "renewed",
                "expiry_time": expiry.isoformat()}

    expiry = datetime.now(timezone.utc) + expires_in
    return RefreshableCredentials.create_from_metadata(
        {"access_key": EMBEDDED_CREDENTIALS[0], "secret_key": EMBEDDED_CREDENTIALS[1], "token": "first",
         "expiry_time": expiry.isoformat()}, refresh_using=renew, method="container-role")


async def test_credentials_due_for_renewal_are_renewed_off_the_event_loop() -> None:
    renewals: list[str] = []
    credentials = BotocoreCredentials(_role_credentials(timedelta(minutes=5), renewals))  # within botocore's 15 min
    key = await credentials.get_key(http=None)  # type: ignore[arg-type]
    assert key is not None and key.token == "renewed"
    assert len(renewals) == 1 and renewals[0] != threading.current_thread().name


async def test_fresh_credentials_are_read_without_a_renewal() -> None:
    renewals: list[str] = []
    credentials = BotocoreCredentials(_role_credentials(timedelta(hours=1), renewals))
    key = await credentials.get_key(http=None)  # type: ignore[arg-type]
    assert key is not None and key.token == "first"
    assert renewals == []
