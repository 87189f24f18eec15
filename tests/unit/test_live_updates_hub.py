"""services.live_updates' STREAM events: one ListStreams per poll for the whole process, an event only
when a channel's viewer count or health changed, and no poll while no channel subscriber listens."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from data.ivs import IvsStream
from data.records import channel_from_item
from domain.access import Caller
from domain.errors import Unauthenticated, UpstreamError
from domain.model import Channel
from domain.table_changes import ChangeKind, Deliver, TableChange
from services import live_updates
from services.live_updates import ChannelEventHub

ARN = "arn:aws:ivs:us-east-1:123456789012:channel/c1"
ADMIN = Caller("admin-1", is_admin=True)


class IdleFeed:
    began = True

    async def run(self, deliver: Deliver) -> None:
        await asyncio.Event().wait()


@dataclass
class LiveStreamsStub:
    """IVS's answers, one per ListStreams, the last repeated."""

    answers: list[tuple[int, str]]
    calls: int = 0

    def refresh(self) -> dict[str, IvsStream]:
        viewers, health = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return {ARN: IvsStream(ARN, "st-1", datetime(2026, 12, 6, tzinfo=UTC), health, viewers)}


@dataclass
class StateChangesStub:
    def find_channel_id_by_arn(self, channel_arn: str) -> str | None:
        return "c1" if channel_arn == ARN else None


@dataclass
class ChannelStoreStub:
    reads: list[str] = field(default_factory=list)

    def get_channel(self, channel_id: str) -> Channel:
        self.reads.append(channel_id)
        return channel_from_item({"channelId": channel_id, "channelArn": ARN, "state": "LIVE"})


@dataclass
class BackendStub:
    live_streams: LiveStreamsStub
    state_changes: StateChangesStub = field(default_factory=StateChangesStub)
    channels: ChannelStoreStub = field(default_factory=ChannelStoreStub)


async def started(answers: list[tuple[int, str]]) -> tuple[ChannelEventHub, BackendStub]:
    backend = BackendStub(LiveStreamsStub(answers))
    hub = ChannelEventHub(backend, IdleFeed, stream_poll_seconds=0.05)  # type: ignore[arg-type]
    hub.start()
    return hub, backend


async def kinds(events: AsyncIterator[Any], count: int) -> list[tuple[str, int | None]]:
    found = []
    async with asyncio.timeout(5):
        while len(found) < count:
            event, _ = await anext(events)
            found.append((event.kind.value, event.channel.id if event.channel else None))
    return found


async def test_a_stream_seen_then_changed_is_one_stream_event_each() -> None:
    hub, backend = await started([(1, "HEALTHY"), (1, "HEALTHY"), (1, "HEALTHY"), (4, "HEALTHY")])
    events = hub.channel_events(ADMIN, None)
    assert await kinds(events, 2) == [("STREAM", "c1"), ("STREAM", "c1")]
    assert backend.live_streams.calls >= 4  # the unchanged answers between them made no event
    await events.aclose()
    await hub.stop()


async def test_one_list_streams_per_poll_whatever_the_number_of_subscribers() -> None:
    hub, backend = await started([(viewers, "HEALTHY") for viewers in range(100)])  # a change every poll
    subscriptions = [hub.channel_events(ADMIN, None) for _ in range(5)]
    received = await asyncio.gather(*(kinds(subscription, 2) for subscription in subscriptions))
    assert received == [[("STREAM", "c1"), ("STREAM", "c1")]] * 5
    # Two events each took two or three polls: calls per poll, not per subscriber (that would be 10).
    assert backend.live_streams.calls <= 4
    for subscription in subscriptions:
        await subscription.aclose()
    await hub.stop()


async def test_no_poll_while_no_channel_subscriber_listens() -> None:
    hub, backend = await started([(1, "HEALTHY")])
    requests = hub.request_events(ADMIN)
    waiting = asyncio.ensure_future(anext(requests))
    await asyncio.sleep(0.1)
    assert backend.live_streams.calls == 0
    waiting.cancel()
    await hub.stop()


async def test_the_poll_stops_when_the_last_channel_subscriber_leaves() -> None:
    hub, backend = await started([(1, "HEALTHY"), (2, "HEALTHY")])
    events = hub.channel_events(ADMIN, None)
    await kinds(events, 1)
    await events.aclose()
    await asyncio.sleep(0.05)
    calls = backend.live_streams.calls
    await asyncio.sleep(0.1)
    assert backend.live_streams.calls == calls
    await hub.stop()


class FailingOnceFeed:
    """Fails its first run, then delivers one change: as a stream reader that lost its connection."""

    began = True

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, deliver: Deliver) -> None:
        self.runs += 1
        if self.runs == 1:
            raise ConnectionError("the stream could not be read")
        image = {"pk": "channel#c1", "sk": "info", "entityType": "persistentChannel", "channelId": "c1"}
        await deliver([TableChange(ChangeKind.INSERT, {"pk": "channel#c1", "sk": "info"}, None, image, "s", "1",
                                   datetime(2026, 12, 6, tzinfo=UTC))])
        await asyncio.Event().wait()


async def test_a_failed_read_is_retried_and_subscribers_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_updates, "READ_RETRY_FIRST_SECONDS", 0.01)
    feed = FailingOnceFeed()
    backend = BackendStub(LiveStreamsStub([(1, "HEALTHY")]))
    hub = ChannelEventHub(backend, lambda: feed, stream_poll_seconds=0)  # type: ignore[arg-type]
    hub.start()
    events = hub.channel_events(ADMIN, None)
    assert await kinds(events, 1) == [("CREATED", "c1")]
    assert feed.runs == 2
    await events.aclose()
    await hub.stop()


async def test_a_subscription_ends_when_its_token_expires() -> None:
    backend = BackendStub(LiveStreamsStub([(1, "HEALTHY")]))
    hub = ChannelEventHub(backend, IdleFeed, stream_poll_seconds=0)  # type: ignore[arg-type]
    hub.start()
    events = hub.request_events(ADMIN, until=time.time() + 0.05)
    with pytest.raises(Unauthenticated, match=r"^The token has expired; subscribe again with a fresh token\.$"):
        await asyncio.wait_for(anext(events), timeout=5)
    assert hub.subscriber_count == 0
    await hub.stop()


class NeverBeginningFeed:
    """A reader that never takes its position (the stream throttled from the start, say)."""

    began = False

    async def run(self, deliver: Deliver) -> None:
        await asyncio.Event().wait()


async def test_a_subscription_whose_reader_cannot_take_its_position_is_refused_as_retryable() -> None:
    backend = BackendStub(LiveStreamsStub([(1, "HEALTHY")]))
    hub = ChannelEventHub(backend, NeverBeginningFeed, stream_poll_seconds=0, ready_seconds=0.1)  # type: ignore[arg-type]
    hub.start()
    events = hub.request_events(ADMIN)
    with pytest.raises(UpstreamError, match=r"^The live updates' feed could not start reading the table's changes "
                                            r"in time; subscribe again\.$"):
        await asyncio.wait_for(anext(events), timeout=5)
    assert hub.subscriber_count == 0
    await hub.stop()
