"""The live updates' reader runs only while someone listens (services.live_updates, docs/live-updates.md,
"When the feed is read"), against the emulator's stream: no GetRecords while no one listens, a change
written once a subscription is acknowledged reaches it, the reader stops after its linger and starts
afresh for the next subscriber, and subscribes and leaves racing from many tasks leave one reader exactly
while someone listens."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from data.clients import AwsClients
from data.dynamo import DynamoTable, to_dynamo
from data.table_stream import TableStream
from domain.access import Caller
from services.live_updates import ChannelEvent, ChannelEventHub
from tests.api.test_subscriptions import channel
from tests.feed.conftest import wait_until

ADMIN = Caller("admin-1", is_admin=True)


class Feeds:
    """Service.change_feed as the hub calls it: each call a reader of the feed table beginning now."""

    def __init__(self, make: Callable[..., TableStream]) -> None:
        self.make = make
        self.made: list[TableStream] = []

    def __call__(self) -> TableStream:
        # As embedded mode reads (Service.change_feed).
        self.made.append(self.make(reuse_iterators=False, clock_leeway=timedelta(0)))
        return self.made[-1]


@pytest.fixture
def get_records(feed_clients: AwsClients) -> list[str]:
    """Every GetRecords the feed table's streams client makes."""
    calls: list[str] = []
    feed_clients.dynamodbstreams.resolve().meta.events.register(
        "before-call.dynamodb-streams.GetRecords", lambda **_: calls.append("GetRecords"))
    return calls


@pytest.fixture
async def hub(new_reader: Callable[..., TableStream]) -> AsyncIterator[ChannelEventHub]:
    hub = ChannelEventHub(None, Feeds(new_reader), stream_poll_seconds=0, linger_seconds=0)  # type: ignore[arg-type]
    hub.start()
    yield hub
    await hub.stop()


def write_channel(table: DynamoTable, channel_id: str, **attributes: Any) -> None:
    table.client.put_item(TableName=table.name, Item=to_dynamo(channel(channel_id, **attributes)))


async def event_of(events: AsyncIterator[tuple[ChannelEvent, Any]], hub: ChannelEventHub,
                   table: DynamoTable, channel_id: str, **attributes: Any) -> ChannelEvent:
    """The event of a write of channel `channel_id` made once the subscription was acknowledged. A reader
    may also deliver a change from just before it began (docs/live-updates.md, "Checkpoints"): passed over."""
    async def first_of_the_write() -> ChannelEvent:
        while True:
            event, _ = await anext(events)
            if event.channel_id == channel_id:
                return event

    received = asyncio.ensure_future(first_of_the_write())
    await wait_until(lambda: hub.ready and hub.subscriber_count == 1)  # acknowledged
    await asyncio.to_thread(write_channel, table, channel_id, **attributes)
    async with asyncio.timeout(10):
        return await received


def running_readers() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == "live-updates-reader" and not task.done()]


async def test_no_get_records_while_no_one_listens(hub: ChannelEventHub, get_records: list[str]) -> None:
    await asyncio.sleep(1.6)  # more than three of the reader's polls
    assert (hub.reading, get_records) == (False, [])


async def test_a_change_written_once_subscribed_arrives(hub: ChannelEventHub, feed_table: DynamoTable) -> None:
    events = hub.channel_events(ADMIN, None)
    event = await event_of(events, hub, feed_table, "c1", state="LIVE")
    assert (event.kind.value, event.channel_id, event.channel and event.channel.state.value) == (
        "CREATED", "c1", "LIVE")
    await events.aclose()


async def test_the_reader_stops_after_the_last_subscriber_left(
    hub: ChannelEventHub, feed_table: DynamoTable, get_records: list[str]
) -> None:
    events = hub.channel_events(ADMIN, None)
    await event_of(events, hub, feed_table, "c1")
    await events.aclose()
    await wait_until(lambda: not hub.reading)
    await asyncio.sleep(0.6)  # a poll's time: a call in flight when it was cancelled has ended
    calls = len(get_records)
    await asyncio.sleep(1.1)
    assert len(get_records) == calls


async def test_the_reader_lingers_for_a_subscriber_coming_back(
    new_reader: Callable[..., TableStream], feed_table: DynamoTable
) -> None:
    feeds = Feeds(new_reader)
    hub = ChannelEventHub(None, feeds, stream_poll_seconds=0, linger_seconds=30)  # type: ignore[arg-type]
    hub.start()
    for channel_id in ("c1", "c2"):
        events = hub.channel_events(ADMIN, None)
        await event_of(events, hub, feed_table, channel_id)
        await events.aclose()
    assert (hub.reading, len(feeds.made)) == (True, 1)
    await hub.stop()


async def test_a_new_subscriber_starts_a_fresh_reader_that_misses_nothing(
    hub: ChannelEventHub, feed_table: DynamoTable
) -> None:
    feeds = hub.feeds
    assert isinstance(feeds, Feeds)
    for channel_id in ("c1", "c2", "c3"):
        events = hub.channel_events(ADMIN, None)
        await event_of(events, hub, feed_table, channel_id)
        await events.aclose()
        await wait_until(lambda: not hub.reading)
    assert len(feeds.made) == 3


async def test_racing_subscribes_and_leaves_keep_one_reader_while_someone_listens(
    hub: ChannelEventHub, feed_table: DynamoTable
) -> None:
    random.seed(27)
    stays: list[AsyncIterator[tuple[ChannelEvent, Any]]] = []

    async def subscriber(n: int) -> None:
        events = hub.channel_events(ADMIN, None)
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(random.uniform(0, 0.3))
        if n % 4:  # three in four leave, whether acknowledged yet or not
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            await events.aclose()
        else:
            waiting.cancel()  # the generator stays subscribed: read again below
            await asyncio.gather(waiting, return_exceptions=True)
            stays.append(hub.channel_events(ADMIN, None))

    await asyncio.gather(*(subscriber(n) for n in range(24)))
    kept = [asyncio.ensure_future(anext(events)) for events in stays]
    await wait_until(lambda: hub.ready and hub.subscriber_count == len(stays))
    await asyncio.to_thread(write_channel, feed_table, "c-race")
    async with asyncio.timeout(10):
        received = await asyncio.gather(*kept)
    assert [event.channel_id for event, _ in received] == ["c-race"] * len(stays)
    await wait_until(lambda: len(running_readers()) == 1)  # those cancelled have ended
    assert hub.reading
    for events in stays:
        await events.aclose()
    await wait_until(lambda: not hub.reading)
