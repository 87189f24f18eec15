"""The table's stream read as the feed, against the emulator's DynamoDB Streams: every write reaches
`deliver` once, as a TableChange with its keys and images."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from data.dynamo import DynamoTable, to_dynamo
from data.table_stream import TableStream
from domain.table_changes import ChangeKind
from tests.feed.conftest import Received, put, reading, wait_until


async def test_insert_reaches_deliver_with_keys_and_new_image(
        feed_table: DynamoTable, new_reader: Callable[..., TableStream]) -> None:
    received = Received()
    async with reading(new_reader(), received.deliver):
        put(feed_table, "channel#1", name="Morning show", viewers=3)
        await wait_until(lambda: len(received.changes) == 1)
    change = received.changes[0]
    assert (change.kind, dict(change.keys), change.old, change.new) == (
        ChangeKind.INSERT, {"pk": "channel#1", "sk": "info"}, None,
        {"pk": "channel#1", "sk": "info", "name": "Morning show", "viewers": Decimal(3)})


async def test_modify_carries_old_and_new_images(feed_table: DynamoTable,
                                                 new_reader: Callable[..., TableStream]) -> None:
    put(feed_table, "channel#1", name="Before")
    received = Received()
    async with reading(new_reader(), received.deliver):
        put(feed_table, "channel#1", name="After")
        await wait_until(lambda: len(received.changes) == 1)
    change = received.changes[0]
    assert (change.kind, change.old, change.new) == (
        ChangeKind.MODIFY, {"pk": "channel#1", "sk": "info", "name": "Before"},
        {"pk": "channel#1", "sk": "info", "name": "After"})


async def test_remove_carries_the_old_image_only(feed_table: DynamoTable,
                                                 new_reader: Callable[..., TableStream]) -> None:
    put(feed_table, "channel#1", name="Gone soon")
    received = Received()
    async with reading(new_reader(), received.deliver):
        feed_table.client.delete_item(TableName=feed_table.name, Key=to_dynamo({"pk": "channel#1", "sk": "info"}))
        await wait_until(lambda: len(received.changes) == 1)
    change = received.changes[0]
    assert (change.kind, dict(change.keys), change.old, change.new) == (
        ChangeKind.REMOVE, {"pk": "channel#1", "sk": "info"}, {"pk": "channel#1", "sk": "info", "name": "Gone soon"},
        None)


async def test_a_change_is_dated_and_placed_in_the_stream(feed_table: DynamoTable,
                                                          new_reader: Callable[..., TableStream]) -> None:
    received = Received()
    reader = new_reader()
    async with reading(reader, received.deliver):
        put(feed_table, "channel#1")
        await wait_until(lambda: len(received.changes) == 1)
    change = received.changes[0]
    assert abs(change.approximate_at - datetime.now(UTC)) < timedelta(seconds=30)
    assert reader.checkpoints is not None
    assert reader.checkpoints.positions == {change.shard_id: change.sequence_number}


async def test_writes_before_the_feed_began_are_not_delivered(feed_table: DynamoTable,
                                                             new_reader: Callable[..., TableStream]) -> None:
    put(feed_table, "channel#before")
    received = Received()
    async with reading(new_reader(), received.deliver):
        put(feed_table, "channel#after")
        await wait_until(lambda: len(received.changes) == 1)
    assert received.pks() == ["channel#after"]


async def test_changes_arrive_in_write_order(feed_table: DynamoTable, new_reader: Callable[..., TableStream]) -> None:
    received = Received()
    async with reading(new_reader(), received.deliver):
        for n in range(5):
            put(feed_table, f"channel#{n}")
        await wait_until(lambda: len(received.changes) == 5)
    assert received.pks() == [f"channel#{n}" for n in range(5)]
