"""A reader restarted mid-shard, from its checkpoints or after its `deliver` raised, neither loses nor
repeats a change; a quiet stream costs a bounded number of calls (against the emulator)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import pytest

from data.clients import AwsClients
from data.dynamo import DynamoTable
from data.table_stream import POLL_SECONDS, TableStream
from domain.table_changes import TableChange
from tests.feed.conftest import Received, put, reading, wait_until


class Refused(Exception):
    pass


async def test_a_reader_started_from_anothers_checkpoints_goes_on_where_it_stopped(
        feed_table: DynamoTable, new_reader: Callable[..., TableStream]) -> None:
    first, second = Received(), Received()
    stopped = new_reader()
    async with reading(stopped, first.deliver):
        for n in range(3):
            put(feed_table, f"channel#{n}")
        await wait_until(lambda: len(first.changes) == 3)
    for n in range(3, 5):
        put(feed_table, f"channel#{n}")  # while no reader runs
    async with reading(new_reader(checkpoints=stopped.checkpoints), second.deliver):
        put(feed_table, "channel#5")
        await wait_until(lambda: len(second.changes) == 3)
    assert (first.pks(), second.pks()) == (
        [f"channel#{n}" for n in range(3)], [f"channel#{n}" for n in range(3, 6)])


async def test_a_batch_whose_deliver_raised_is_delivered_again_and_once(
        feed_table: DynamoTable, new_reader: Callable[..., TableStream]) -> None:
    received = Received()
    refusals = [Refused("subscribers' hub is down")]

    async def deliver(changes: Sequence[TableChange]) -> None:
        if refusals and any(change.keys["pk"] == "channel#2" for change in changes):
            raise refusals.pop()
        await received.deliver(changes)

    reader = new_reader()
    with pytest.RaisesGroup(Refused):  # out of the reading block's task group
        async with reading(reader, deliver):
            put(feed_table, "channel#1")
            await wait_until(lambda: len(received.changes) == 1)
            put(feed_table, "channel#2")
            put(feed_table, "channel#3")
            await anyio.sleep_forever()
    async with reading(reader, deliver):
        put(feed_table, "channel#4")
        await wait_until(lambda: len(received.changes) == 4)
    assert received.pks() == [f"channel#{n}" for n in range(1, 5)]


async def test_a_reader_started_from_checkpoints_left_by_a_failed_deliver_loses_nothing(
        feed_table: DynamoTable, new_reader: Callable[..., TableStream]) -> None:
    received = Received()

    async def refuse(changes: Sequence[TableChange]) -> None:
        raise Refused("nowhere to deliver")

    failed = new_reader()
    async with reading(failed, received.deliver):
        put(feed_table, "channel#1")
        await wait_until(lambda: len(received.changes) == 1)
    with pytest.raises(Refused):
        put(feed_table, "channel#2")
        await failed.run(refuse)
    async with reading(new_reader(checkpoints=failed.checkpoints), received.deliver):
        await wait_until(lambda: len(received.changes) == 2)
    assert received.pks() == ["channel#1", "channel#2"]


def count_calls(client: Any) -> dict[str, int]:
    counts: dict[str, int] = {}

    def counted(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        counts[operation] = counts.get(operation, 0) + 1

    client.meta.events.register("before-call.dynamodb-streams", counted)
    return counts


@pytest.mark.parametrize(("options", "most"), [
    ({}, {"GetRecords": 5}),
    ({"reuse_iterators": False}, {"GetRecords": 5, "GetShardIterator": 5}),
], ids=["reused-iterators", "embedded"])
async def test_a_quiet_stream_is_asked_about_twice_a_second(
        feed_clients: AwsClients, new_reader: Callable[..., TableStream], options: dict[str, Any],
        most: dict[str, int]) -> None:
    counts = count_calls(feed_clients.dynamodbstreams.resolve())
    async with reading(new_reader(**options), Received().deliver):
        counts.clear()
        await anyio.sleep(2.0)
    assert counts.keys() == most.keys()
    assert all(counts[operation] <= most[operation] for operation in most), counts


async def test_a_busy_stream_is_still_asked_about_twice_a_second(
        feed_clients: AwsClients, feed_table: DynamoTable, new_reader: Callable[..., TableStream]) -> None:
    """Batches short of GetRecords' limit mean the reader has caught up: it waits its poll."""
    counts = count_calls(feed_clients.dynamodbstreams.resolve())
    received = Received()
    async with reading(new_reader(), received.deliver):
        counts.clear()
        started = time.monotonic()
        for n in range(40):  # a write every 50 ms or so, for 2 s or more
            put(feed_table, f"channel#{n}")
            await anyio.sleep(0.05)
        calls, polls = counts.get("GetRecords", 0), (time.monotonic() - started) / POLL_SECONDS
        await wait_until(lambda: len(received.changes) == 40)
    assert 1 <= calls <= polls + 1, (counts, polls)

