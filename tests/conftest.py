"""Fixtures: one moto server per test process, a loopback JWKS, the app over httpx.

The `service` tests of one process share a table, provisioned once and emptied before each test
(docs/testing.md, "Fixtures"); a test that asks for `aws_connection` gets an empty account instead.
"""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import RemoteJwks, TokenVerifier
from app.bootstrap import Service, bootstrap
from app.settings import Settings
from data.clients import AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.provisioning import provision
from embedded.emulator import EmbeddedAws
from tests.support import (
    ADMIN_GROUP,
    CLIENT_ID,
    ISSUER,
    SERVICE_CLIENT_ID,
    GraphQLClient,
    JwksServer,
    TokenFactory,
    app_client,
    new_rsa_key,
    public_jwk,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files that hold slow tests first, each file's tests kept together and in order.

    pytest-xdist (`make test`, --dist loadfile --no-loadscope-reorder) hands out files in this order: a
    long file handed out last would leave the other workers idle until it ends.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def aws() -> Iterator[EmbeddedAws]:
    """moto's server on loopback, behind the same serialising wrapper the embedded mode uses."""
    emulator = EmbeddedAws()
    emulator.start()
    yield emulator
    emulator.stop()


# What describe_table reports that changes with the items, not with the table's shape.
_ITEM_TALLIES = frozenset({"ItemCount", "TableSizeBytes", "IndexSizeBytes"})


class WorkerTable:
    """The table the `service` tests of one test process share: provisioned once, and again only after
    a test changed its shape or emptied the account; emptied before each test, so every test still starts
    from the table `provision` leaves (its indexes, TTL, the capacity counter at zero) without paying for
    the table."""

    def __init__(self, aws: EmbeddedAws, entity_index: str) -> None:
        self.name = f"channels-test-{uuid.uuid4().hex[:8]}"
        self.entity_index = entity_index
        self._table = DynamoTable(build_clients(aws.connection).dynamodb, self.name)
        self._provisioned: _Provisioned | None = None

    def account_emptied(self) -> None:
        self._provisioned = None

    def empty(self) -> None:
        """Give the next test the table `provision` leaves. When the table still has the shape `provision`
        left (its description, indexes included, and its TTL), that is its items replaced by the ones
        `provision` wrote (the capacity counter at zero): what `provision` would do again on the emptied
        table, without its fourteen describe and index calls. Otherwise (a test deleted the table or
        changed an index or the TTL) every item is deleted and `provision` runs again."""
        client = self._table.client
        if self._provisioned is not None:
            shape = self._shape()
            if shape == self._provisioned.shape:
                self._replace_items(self._provisioned.items)
                return
            if shape is not None:
                self._replace_items([])
        # No stream: moto copies a table, every record its stream ever held included, before each item of
        # every transaction, so a stream written all session makes each later transaction slower (and a
        # worker's memory grew past 10 GB). The feed's own tests provision their tables with it.
        provision(self._table, self.entity_index, stream=False)
        items = [item for page in client.get_paginator("scan").paginate(TableName=self.name) for item in page["Items"]]
        self._provisioned = _Provisioned(shape=self._shape(), items=items)

    def _shape(self) -> object | None:
        """The table's description without its item tallies, and its TTL; None when there is no table."""
        client = self._table.client
        try:
            description = client.describe_table(TableName=self.name)["Table"]
        except client.exceptions.ResourceNotFoundException:
            return None  # a test deleted it: provision makes it again
        description = {key: value for key, value in description.items() if key not in _ITEM_TALLIES}
        description["GlobalSecondaryIndexes"] = [
            {key: value for key, value in index.items() if key not in _ITEM_TALLIES}
            for index in description.get("GlobalSecondaryIndexes", [])
        ]
        return description, client.describe_time_to_live(TableName=self.name)["TimeToLiveDescription"]

    def _replace_items(self, items: list[dict[str, Any]]) -> None:
        """Delete every item but those `items` overwrite, then write `items`."""
        client = self._table.client
        scan = {"TableName": self.name, "ProjectionExpression": "#pk, #sk",
                "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"}}
        keys = [item for page in client.get_paginator("scan").paginate(**scan) for item in page["Items"]]
        kept = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
        writes = [{"DeleteRequest": {"Key": key}} for key in keys if key not in kept]
        writes += [{"PutRequest": {"Item": item}} for item in items]
        for start in range(0, len(writes), 25):
            unprocessed: dict = {self.name: writes[start:start + 25]}
            while unprocessed:
                unprocessed = client.batch_write_item(RequestItems=unprocessed)["UnprocessedItems"]


@dataclass(frozen=True)
class _Provisioned:
    """What `provision` left: the table's shape (WorkerTable._shape) and its items."""

    shape: object
    items: list[dict[str, Any]]


@pytest.fixture(scope="session")
def worker_table(aws: EmbeddedAws) -> WorkerTable:
    return WorkerTable(aws, make_settings().entity_index)


@pytest.fixture
def aws_connection(aws: EmbeddedAws, worker_table: WorkerTable) -> AwsConnection:
    """An empty account (moto's reset API): for tests that count what the account holds (IVS channels
    and streams, KMS keys, queues, tables) or that need a table of their own."""
    request = urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    worker_table.account_emptied()
    return aws.connection


@pytest.fixture(scope="session")
def signing() -> Iterator[tuple[TokenFactory, JwksServer]]:
    key = new_rsa_key()
    kid = "test-key-1"
    server = JwksServer({"keys": [public_jwk(key, kid)]})
    yield TokenFactory(key=key, kid=kid), server
    server.stop()


@pytest.fixture
def tokens(signing: tuple[TokenFactory, JwksServer]) -> TokenFactory:
    return signing[0]


@pytest.fixture
def jwks_server(signing: tuple[TokenFactory, JwksServer]) -> JwksServer:
    return signing[1]


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "backend": "aws",
        "table": f"channels-test-{uuid.uuid4().hex[:8]}",
        "auth_issuer": ISSUER,
        "auth_audience": f"{CLIENT_ID},{SERVICE_CLIENT_ID}",
        "auth_admin_group": ADMIN_GROUP,
        "limit": 20,
        "dev_dir": Path("/nonexistent"),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(request: pytest.FixtureRequest, worker_table: WorkerTable) -> Settings:
    """Test settings on the shared table (a table of the test's own when it asks for `aws_connection`);
    a test changes some with `@pytest.mark.parametrize("settings", [{...}], indirect=True)`."""
    own_table = "aws_connection" in request.fixturenames
    return make_settings(**({} if own_table else {"table": worker_table.name}), **getattr(request, "param", {}))


@pytest.fixture
def service(settings: Settings, aws: EmbeddedAws, worker_table: WorkerTable, jwks_server: JwksServer,
            request: pytest.FixtureRequest) -> Iterator[Service]:
    """The service over an empty table: the shared one emptied, or the test's own in an empty account."""
    shared = settings.table == worker_table.name and settings.entity_index == worker_table.entity_index
    connection = aws.connection if shared else request.getfixturevalue("aws_connection")
    if shared:
        worker_table.empty()
        # What moto's reset would also do for the IVS stand-in: no stream, key or pinned clock of an
        # earlier test (moto's own IVS channels stay: tests that count them ask for aws_connection).
        assert aws.ivs_stand_in is not None
        aws.ivs_stand_in.reset()
    verifier = TokenVerifier(
        issuer=ISSUER,
        audiences=settings.audiences,
        admin_group=ADMIN_GROUP,
        keys=RemoteJwks(jwks_server.url),
        scope_prefix=settings.auth_scope_prefix,
    )
    built = bootstrap(settings, connection=connection, verifier=verifier)
    if not shared:
        provision(built.table, settings.entity_index)
    yield built
    built.close()


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(service) as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def admin(tokens: TokenFactory) -> str:
    return tokens.admin()
