"""What the emulator cannot show, against a stand-in of DynamoDB Streams (tests/feed/fake_streams.py,
checked against the real API's model): shards that close and split, paged listings, iterators that
expire, positions trimmed away, throttling, and a reader cancelled in the middle of a call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import anyio
import pytest

import data.table_stream
from data.table_stream import StreamMissing, TableStream
from tests.feed.conftest import Received, reading, wait_until
from tests.feed.fake_streams import STREAM_ARN, FakeShard, FakeStreams, FakeTable

FIRST = 10**20  # sequence numbers have at least 21 digits


def shard(name: str, parent: str | None = None, records: range = range(0), closed: bool = False) -> FakeShard:
    return FakeShard(shard_id(name), shard_id(parent) if parent else None, [FIRST + n for n in records], closed)


def shard_id(name: str) -> str:
    return f"shardId-{name:0>20}"  # the model's minimum length


def items(numbers: range) -> list[str]:
    return [f"item-{FIRST + n}" for n in numbers]


def fast_reader(streams: FakeStreams) -> TableStream:
    return TableStream(streams, stream_arn=STREAM_ARN, poll_seconds=0.01)


@pytest.fixture
def listing_each_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards listed before every round of reads, one record per GetRecords: a child listed while its
    parent still has records to give."""
    monkeypatch.setattr(data.table_stream, "LISTING_SECONDS", 0.0)
    monkeypatch.setattr(data.table_stream, "RECORDS_PER_CALL", 1)


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data.table_stream, "BACKOFF_FIRST_SECONDS", 0.01)


def iterator_requests(streams: FakeStreams) -> list[tuple[str, str]]:
    return [(arguments["ShardId"], arguments["ShardIteratorType"]) for name, arguments in streams.calls
            if name == "GetShardIterator"]


async def read_a_split(children: dict[str, range]) -> tuple[FakeStreams, Received]:
    """A reader begun on one open shard, which then takes records 0-2, closes and splits into
    `children` (name: their records); what the reader made of it once every record came."""
    parent = shard("parent")
    streams = FakeStreams([parent])
    received = Received()
    async with reading(fast_reader(streams), received.deliver):
        parent.records.extend(FIRST + n for n in range(3))
        parent.closed = True
        streams.shards.update({shard_id(name): shard(name, "parent", numbers) for name, numbers in children.items()})
        total = 3 + sum(len(numbers) for numbers in children.values())
        await wait_until(lambda: len(received.changes) == total)
    return streams, received


async def test_a_split_shards_children_are_read_from_trim_horizon_after_the_parent_is_finished(
        listing_each_round: None) -> None:
    streams, received = await read_a_split({"left": range(3, 5), "right": range(5, 6)})
    pks = received.pks()
    assert pks[:3] == items(range(3))
    assert sorted(pks[3:]) == items(range(3, 6))
    assert iterator_requests(streams) == [(shard_id("parent"), "LATEST"), (shard_id("left"), "TRIM_HORIZON"),
                                          (shard_id("right"), "TRIM_HORIZON")]


async def test_a_child_is_not_read_while_its_parent_still_gives_records(listing_each_round: None) -> None:
    streams, received = await read_a_split({"child": range(3, 4)})
    first_child_call = next(n for n, (_, arguments) in enumerate(streams.calls)
                            if arguments.get("ShardId") == shard_id("child"))
    last_parent_read = max(n for n, (name, arguments) in enumerate(streams.calls)
                           if name == "GetRecords" and arguments["ShardIterator"].startswith(shard_id("parent")))
    assert last_parent_read < first_child_call
    assert received.pks() == items(range(4))


async def test_a_closed_shard_is_finished_and_its_children_read_once_listed() -> None:
    parent = shard("parent")
    streams = FakeStreams([parent])
    received = Received()
    reader = fast_reader(streams)
    async with reading(reader, received.deliver):
        parent.records.append(FIRST)
        parent.closed = True
        await wait_until(lambda: reader.checkpoints is not None and shard_id("parent") in reader.checkpoints.finished)
        streams.shards[shard_id("child")] = shard("child", "parent", range(1, 2))
        await wait_until(lambda: len(received.changes) == 2)
    assert received.pks() == items(range(2))


async def test_shards_closed_before_the_feed_began_are_never_read() -> None:
    streams = FakeStreams([shard("old", records=range(2), closed=True), shard("open", "old")])
    received = Received()
    async with reading(fast_reader(streams), received.deliver):
        streams.shards[shard_id("open")].records.append(FIRST + 2)
        await wait_until(lambda: len(received.changes) == 1)
    assert received.pks() == items(range(2, 3))
    assert iterator_requests(streams) == [(shard_id("open"), "LATEST")]


async def test_the_shards_are_listed_page_by_page() -> None:
    streams = FakeStreams([shard("a"), shard("b"), shard("c")], page_size=2)
    async with reading(fast_reader(streams), Received().deliver):
        pass
    assert [arguments.get("ExclusiveStartShardId") for name, arguments in streams.calls
            if name == "DescribeStream"] == [None, shard_id("b")]
    assert sorted(shard for shard, _ in iterator_requests(streams)) == [shard_id("a"), shard_id("b"), shard_id("c")]


async def test_an_expired_iterator_is_replaced_from_the_checkpoint() -> None:
    open_shard = shard("open")
    streams = FakeStreams([open_shard])
    received = Received()
    async with reading(fast_reader(streams), received.deliver):
        open_shard.records.extend(FIRST + n for n in range(2))
        await wait_until(lambda: len(received.changes) == 2)
        streams.fail["GetRecords"] = ["ExpiredIteratorException"]
        open_shard.records.append(FIRST + 2)
        await wait_until(lambda: len(received.changes) == 3)
    assert received.pks() == items(range(3))
    assert [arguments for name, arguments in streams.calls if name == "GetShardIterator"][-1] == {
        "StreamArn": STREAM_ARN, "ShardId": shard_id("open"), "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "SequenceNumber": str(FIRST + 1)}


async def test_a_trimmed_position_is_read_from_trim_horizon_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    open_shard = shard("open")
    streams = FakeStreams([open_shard])
    received = Received()
    async with reading(fast_reader(streams), received.deliver):
        open_shard.records.append(FIRST)
        await wait_until(lambda: len(received.changes) == 1)
        # The reader stalls past its iterator's life and the stream's 24 hours: FIRST + 1 is trimmed unread.
        streams.fail["GetRecords"] = ["ExpiredIteratorException"]
        open_shard.records[:] = [FIRST + 2]
        await wait_until(lambda: len(received.changes) == 2)
    assert iterator_requests(streams)[-2:] == [(shard_id("open"), "AFTER_SEQUENCE_NUMBER"),
                                               (shard_id("open"), "TRIM_HORIZON")]
    assert received.pks() == items(range(0, 3, 2))
    assert (f"stream reader: shard {shard_id('open')}'s position was trimmed (older than 24 h): records were lost; "
            "reading it from its oldest record") in caplog.messages


async def test_throttling_pauses_doubling_each_time(quick_backoff: None, caplog: pytest.LogCaptureFixture) -> None:
    open_shard = shard("open")
    streams = FakeStreams([open_shard])
    received = Received()
    async with reading(fast_reader(streams), received.deliver):
        streams.fail["GetRecords"] = ["LimitExceededException", "LimitExceededException"]
        open_shard.records.append(FIRST)
        await wait_until(lambda: len(received.changes) == 1)
    assert [message for message in caplog.messages if message.startswith("stream reader")] == [
        "stream reader: GetRecords failed: LimitExceededException; trying again in 0.0 s",
        "stream reader: GetRecords failed: LimitExceededException; trying again in 0.0 s",
    ]
    assert received.pks() == items(range(1))


async def test_the_pause_after_failures_doubles_up_to_its_ceiling(monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def no_pause(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(data.table_stream.anyio, "sleep", no_pause)
    streams = FakeStreams([shard("open")])
    streams.fail["DescribeStream"] = ["InternalServerError"] * 7
    async with anyio.create_task_group() as group:
        group.start_soon(fast_reader(streams).run, Received().deliver)
        await wait_until(lambda: streams.count("GetRecords") > 0)
        group.cancel_scope.cancel()
    assert caplog.messages == [f"stream reader: DescribeStream failed: InternalServerError; trying again in {pause} s"
                               for pause in ("0.5", "1.0", "2.0", "4.0", "8.0", "10.0", "10.0")]


async def test_a_shard_gone_from_the_stream_is_counted_as_finished(caplog: pytest.LogCaptureFixture) -> None:
    streams = FakeStreams([shard("gone")])
    reader = fast_reader(streams)
    async with reading(reader, Received().deliver):
        streams.fail["GetRecords"] = ["ResourceNotFoundException"]
        await wait_until(lambda: reader.checkpoints is not None and shard_id("gone") in reader.checkpoints.finished)
    assert f"stream reader: shard {shard_id('gone')} is gone (trimmed); counted as finished" in caplog.messages


async def test_a_table_without_a_stream_is_one_clear_error() -> None:
    reader = TableStream(FakeStreams([]), dynamodb=FakeTable(stream_arn=None), table_name="channels")
    with pytest.raises(StreamMissing) as raised:
        await reader.run(Received().deliver)
    assert str(raised.value) == ("Table 'channels' has no stream; run `shelcaster-channels provision`, which enables "
                                 "it (NEW_AND_OLD_IMAGES).")


async def test_the_stream_is_found_from_the_table() -> None:
    streams = FakeStreams([shard("open")])
    reader = TableStream(streams, dynamodb=FakeTable(), table_name="channels", poll_seconds=0.01)
    async with reading(reader, Received().deliver):
        pass
    assert streams.calls[0] == ("DescribeStream", {"StreamArn": STREAM_ARN})


async def test_a_stream_gone_is_replaced_by_the_tables_new_one_read_whole(
        listing_each_round: None, quick_backoff: None, caplog: pytest.LogCaptureFixture) -> None:
    streams = FakeStreams([shard("old")])
    table = FakeTable()
    received = Received()
    reader = TableStream(streams, dynamodb=table, table_name="channels", poll_seconds=0.01)
    async with reading(reader, received.deliver):
        # The stream is disabled and enabled anew: a new ARN, new shards, the old stream unknown.
        table.stream_arn = STREAM_ARN.replace("2026-12-06", "2026-12-07")
        streams.fail["DescribeStream"] = ["ResourceNotFoundException"]
        streams.shards = {shard_id("new"): shard("new", records=range(1))}
        await wait_until(lambda: len(received.changes) == 1)
    assert received.pks() == items(range(1))
    assert iterator_requests(streams)[-1] == (shard_id("new"), "TRIM_HORIZON")
    assert [arguments["StreamArn"] for name, arguments in streams.calls if name == "DescribeStream"][-1] == (
        table.stream_arn)
    assert f"stream reader: stream {STREAM_ARN} is gone; looking up the table's stream again" in caplog.messages


class BlockingStreams(FakeStreams):
    """GetRecords that blocks in its thread until released (a call in flight when the reader is cancelled)."""

    def __init__(self, *shards: FakeShard) -> None:
        super().__init__(shards)
        self.blocked = threading.Event()
        self.release = threading.Event()

    def get_records(self, **arguments: object) -> dict[str, object]:
        self.blocked.set()
        self.release.wait(timeout=30)
        return super().get_records(**arguments)


@pytest.fixture
def blocking() -> Iterator[BlockingStreams]:
    streams = BlockingStreams(shard("open"))
    yield streams
    streams.release.set()


async def test_cancelling_the_reader_stops_it_during_a_call(blocking: BlockingStreams) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(fast_reader(blocking).run, Received().deliver)
        await wait_until(blocking.blocked.is_set)
        started = time.monotonic()
        group.cancel_scope.cancel()
    assert time.monotonic() - started < 1.0


async def test_cancelling_an_idle_reader_stops_it_between_polls() -> None:
    streams = FakeStreams([shard("open")])
    reader = TableStream(streams, stream_arn=STREAM_ARN, poll_seconds=30)
    with anyio.move_on_after(5) as scope:
        async with reading(reader, Received().deliver):
            started = time.monotonic()
    assert not scope.cancelled_caught
    assert time.monotonic() - started < 1.0


async def test_a_throttled_reader_keeps_its_iterator(quick_backoff: None) -> None:
    open_shard = shard("open")
    streams = FakeStreams([open_shard])
    received = Received()
    async with reading(fast_reader(streams), received.deliver):
        streams.fail["GetRecords"] = ["LimitExceededException"]
        open_shard.records.append(FIRST)
        await wait_until(lambda: len(received.changes) == 1)
    assert iterator_requests(streams) == [(shard_id("open"), "LATEST")]
