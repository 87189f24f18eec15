"""Storage fixtures: a fresh table per test on the session's moto server, provisioned as `provision` does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

import data.dynamo
from data.clients import AwsClients, AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.provisioning import provision
from services.backend import ChannelsBackend
from tests.data.table_setup import ENTITY_INDEX, STUBBED_TABLE, stores_of
from tests.dynamodb_rules import CapacityModeRules


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
    """Retries without waiting; the list holds the attempt number of each backoff."""
    attempts: list[int] = []
    monkeypatch.setattr(data.dynamo, "_backoff", attempts.append)
    return attempts
