"""Storage fixtures: a fresh table per test on the session's moto server, provisioned as `provision` does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from botocore.stub import Stubber

from botocore.credentials import Credentials

import data.dynamo
import data.dynamo_reads
from data.clients import AwsClients, AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.dynamo_reads import DynamoReader
from embedded.emulator import EMBEDDED_CREDENTIALS
from data.provisioning import provision
from services.backend import ChannelsBackend
from tests.data.table_setup import ENTITY_INDEX, STUBBED_TABLE, stores_of
from tests.dynamodb_rules import CapacityModeRules

T = TypeVar("T")


@pytest.fixture
def capacity_rules(aws_connection: AwsConnection) -> CapacityModeRules:
    """DynamoDB's GSI throughput rules, which moto does not enforce, on the storage tests' client."""
    return CapacityModeRules(build_clients(aws_connection).dynamodb, aws_connection).install()


@pytest.fixture
def clients(aws_connection: AwsConnection, capacity_rules: CapacityModeRules) -> AwsClients:
    built = build_clients(aws_connection)
    return AwsClients(dynamodb=capacity_rules.client, ivs=built.ivs, kms=built.kms)


@pytest.fixture
def table_name() -> str:
    return f"shelcaster-app-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def table(clients: AwsClients, table_name: str) -> DynamoTable:
    """A DynamoTable handle on a table that does not exist yet."""
    return DynamoTable(clients.dynamodb, table_name)


@pytest.fixture
def stores(table: DynamoTable) -> ChannelsBackend:
    provision(table, ENTITY_INDEX)
    return stores_of(table)


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoTable, Stubber]]:
    """A table whose client answers from a Stubber queue (for what moto cannot produce on demand)."""
    connection = AwsConnection(region="us-east-1", access_key_id="stubbed", secret_access_key="stubbed")
    client = build_clients(connection).dynamodb
    with Stubber(client) as stubber:
        yield DynamoTable(client, STUBBED_TABLE), stubber


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Retries without waiting, by either client; the list holds the attempt number of each backoff."""
    attempts: list[int] = []

    async def record(attempt: int) -> None:
        attempts.append(attempt)

    monkeypatch.setattr(data.dynamo, "_backoff", attempts.append)
    monkeypatch.setattr(data.dynamo_reads, "_backoff", record)
    return attempts


BatchGet = Callable[[DynamoTable, list[dict[str, str]]], list[dict[str, Any]]]


@pytest.fixture(params=["boto3", "aiodynamo"])
def batch_get(request: pytest.FixtureRequest) -> BatchGet:
    """A table's BatchGetItem through boto3 (data.dynamo), or through the queries' async reader
    (data.dynamo_reads) announced on the same client, so its hooks and Stubber see both."""
    if request.param == "boto3":
        return lambda table, keys: table.batch_get(keys)
    return lambda table, keys: run_read(reader_for(table), lambda reader: reader.batch_get(table.name, keys))


def reader_for(table: DynamoTable) -> DynamoReader:
    access_key, secret_key = EMBEDDED_CREDENTIALS  # what moto and the Stubber accept
    return DynamoReader(table.client, Credentials(access_key, secret_key))


def run_read(reader: DynamoReader, call: Callable[[DynamoReader], Awaitable[T]]) -> T:
    """`call` on an event loop of its own, the reader's session closed before the loop is."""

    async def run() -> T:
        try:
            return await call(reader)
        finally:
            await reader.close()

    return asyncio.run(run())
