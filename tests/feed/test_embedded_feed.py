"""The feed in embedded mode: the emulator's table has its stream, and every write through the
emulator's endpoint — from this process, another thread or another process — reaches the reader
`Service.change_feed` builds, even after the emulator refused a transaction."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from app.bootstrap import Service, bootstrap
from data.dynamo import to_dynamo
from tests.conftest import make_settings
from tests.feed.conftest import Received, put, reading, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Service]:
    service = bootstrap(make_settings(backend="embedded", dev_dir=tmp_path))
    yield service
    service.close()


def test_the_embedded_table_has_its_stream(embedded: Service) -> None:
    table = embedded.clients.dynamodb.describe_table(TableName=embedded.table.name)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_an_embedded_process_without_live_updates_has_a_table_without_a_stream(tmp_path: Path) -> None:
    # The benchmark's services (bench/processes.py): the emulator copies every record a stream held
    # before each transaction item, so a table they write all run gets none.
    service = bootstrap(make_settings(backend="embedded", dev_dir=tmp_path), live_updates=False)
    try:
        assert "StreamSpecification" not in service.clients.dynamodb.describe_table(TableName=service.table.name)["Table"]
    finally:
        service.close()


async def test_a_write_from_another_thread_reaches_the_feed(embedded: Service) -> None:
    received = Received()
    async with reading(embedded.change_feed(), received.deliver):
        writer = threading.Thread(target=put, args=(embedded.table, "channel#threaded"))
        writer.start()
        writer.join()
        await wait_until(lambda: "channel#threaded" in received.pks())
    assert received.pks() == ["channel#threaded"]


async def test_a_write_from_another_process_reaches_the_feed(embedded: Service) -> None:
    assert embedded.embedded is not None
    code = ("import sys, botocore.session; s = botocore.session.get_session(); "
            "s.set_credentials('embedded', 'embedded'); "
            "c = s.create_client('dynamodb', region_name='us-east-1', endpoint_url=sys.argv[1]); "
            "c.put_item(TableName=sys.argv[2], Item={'pk': {'S': 'channel#elsewhere'}, 'sk': {'S': 'info'}})")
    received = Received()
    async with reading(embedded.change_feed(), received.deliver):
        subprocess.run([sys.executable, "-c", code, embedded.embedded.endpoint_url, embedded.table.name], cwd=ROOT,
                       check=True, timeout=60)
        await wait_until(lambda: "channel#elsewhere" in received.pks())
    assert received.pks() == ["channel#elsewhere"]


async def test_writes_after_a_refused_transaction_reach_the_feed(embedded: Service) -> None:
    """moto restores a copy of the table when it refuses a transaction; a reused iterator would read the
    discarded copy's stream and see nothing more."""
    put(embedded.table, "channel#taken")
    received = Received()
    async with reading(embedded.change_feed(), received.deliver):
        with pytest.raises(ClientError, match="TransactionCanceledException"):
            embedded.clients.dynamodb.transact_write_items(TransactItems=[{"Put": {
                "TableName": embedded.table.name, "Item": to_dynamo({"pk": "channel#taken", "sk": "info"}),
                "ConditionExpression": "attribute_not_exists(pk)"}}])
        put(embedded.table, "channel#after")
        await wait_until(lambda: "channel#after" in received.pks())
    assert received.pks() == ["channel#after"]
