"""The feed's fixtures: a provisioned table of its own (with its stream) on the session's emulator,
and readers of it running in the test's event loop."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from embedded.emulator import EmbeddedAws
from data.clients import AwsClients, build_clients
from data.dynamo import DynamoTable, to_dynamo
from data.provisioning import provision
from data.table_stream import TableStream
from domain.table_changes import TableChange
from tests.data.table_setup import ENTITY_INDEX

WAIT_SECONDS = 10.0


@pytest.fixture
def feed_clients(aws: EmbeddedAws) -> AwsClients:
    # The session's emulator as it is: other tests' tables may be there (this test's table is its own).
    return build_clients(aws.connection)


@pytest.fixture
def feed_table(feed_clients: AwsClients) -> DynamoTable:
    table = DynamoTable(feed_clients.dynamodb, f"feed-{uuid.uuid4().hex[:8]}")
    provision(table, ENTITY_INDEX)
    return table


@pytest.fixture
def new_reader(feed_clients: AwsClients, feed_table: DynamoTable) -> Callable[..., TableStream]:
    """A reader of the feed table (options as TableStream's)."""
    def make(**options: Any) -> TableStream:
        return TableStream(feed_clients.dynamodbstreams, dynamodb=feed_clients.dynamodb, table_name=feed_table.name,
                           **options)
    return make


async def wait_until(done: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    with anyio.fail_after(seconds):
        while not done():
            await anyio.sleep(0.02)


class Received:
    """What a reader delivered, batch by batch; `deliver` is the reader's callback."""

    def __init__(self) -> None:
        self.batches: list[list[TableChange]] = []

    async def deliver(self, changes: Sequence[TableChange]) -> None:
        self.batches.append(list(changes))

    @property
    def changes(self) -> list[TableChange]:
        return [change for batch in self.batches for change in batch]

    def pks(self) -> list[str]:
        return [str(change.keys["pk"]) for change in self.changes]


@asynccontextmanager
async def reading(reader: TableStream, deliver: Callable[[Sequence[TableChange]], Any]) -> AsyncIterator[TableStream]:
    """The reader running (and begun) inside the block, cancelled after it."""
    async with anyio.create_task_group() as group:
        group.start_soon(reader.run, deliver)
        await wait_until(lambda: reader.began)
        yield reader
        group.cancel_scope.cancel()


def put(table: DynamoTable, pk: str, **attributes: Any) -> None:
    """A write through the table's client, as any process of the service writes."""
    table.client.put_item(TableName=table.name, Item=to_dynamo({"pk": pk, "sk": "info", **attributes}))
