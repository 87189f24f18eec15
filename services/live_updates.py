"""Live updates (docs/live-updates.md): one reader of the table's changes per process, fanned out to
every subscriber of that process.

The hub reads the feed (the table's DynamoDB stream) once, turns each change into events
(domain.channel_events), builds each event's channel or request once from the stream's new image
(data.records, data.channel_requests: no backend read per subscriber), and hands it to each
subscriber allowed to see it at that moment. Who may see what follows CONTRACT.md section 4:
admins every channel and request; hosts the channel they are assigned to, and their own requests.
A host's channel is read once when the host subscribes, then kept current from the assignment
records the feed carries, so that a host unassigned mid-subscription stops receiving that channel.

The reader runs only while someone listens (docs/live-updates.md, "When the feed is read"): the first
WebSocket connection (`hold`) or subscription starts a fresh one and is acknowledged once it has taken
its position, so that every change committed after that is delivered; the last one to leave stops it
after LINGER_SECONDS (a page reloaded subscribes again without a restart). No one listening, no
GetRecords.

Each subscriber has a bounded queue: one that falls QUEUE_SIZE events behind is ended with
SubscriberTooSlow rather than buffered without bound. While any channel subscriber listens, one
ListStreams every STREAM_POLL_SECONDS (data.live_streams) becomes STREAM events for the channels
whose viewer count or health changed (domain.channel_events.StreamReadings).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from anyio import to_thread

from data.channel_requests import request_from_item
from data.records import assignment_from_item, channel_from_item
from domain.access import Caller, Grant, require_grant
from domain.channel_events import (
    ChannelRecordEvent,
    ChannelEventKind,
    Event,
    RequestRecordEvent,
    StreamReadings,
    events_of,
    host_assignment_of,
)
from domain.clock import utc_now
from domain.errors import ChannelsError, Unauthenticated, UpstreamError
from domain.model import Assignment
from domain.table_changes import ChangeFeed, TableChange
from services.backend import ChannelsBackend
from services.channel_images import ChannelImages
from services.subscribers import (
    END,
    LIVE_UPDATES_OFF,
    NO_STREAM,
    ChannelEvent,
    ChannelRequestEvent,
    Delivered,
    LiveUpdatesOff,
    LiveUpdatesUnavailable,
    Subscriber,
    SubscriberTooSlow,
)

__all__ = ["ChannelEvent", "ChannelEventHub", "ChannelEventKind", "ChannelRequestEvent", "LiveUpdatesUnavailable",
           "SubscriberTooSlow"]

log = logging.getLogger(__name__)

# Events one subscriber may have waiting; past that it is ended (a live view that far behind is stale).
QUEUE_SIZE = 256
STREAM_POLL_SECONDS = 10.0
READ_RETRY_FIRST_SECONDS = 1.0
READ_RETRY_MAX_SECONDS = 30.0
# How long the reader goes on after the last subscriber left (CHANNELS_LIVE_UPDATES_LINGER_SECONDS).
LINGER_SECONDS = 30.0
# How long a subscribe waits for a starting reader to take its position before it is refused (retryable).
READY_SECONDS = 10.0
READY_CHECK_SECONDS = 0.02
SHUTTING_DOWN = "The service is shutting down; subscribe again."


@dataclass
class ChannelEventHub:
    """Every subscriber of this process, and the one feed reader and stream poll they share.

    `feeds` makes a reader beginning now (Service.change_feed); None: no live updates."""

    backend: ChannelsBackend
    feeds: Callable[[], ChangeFeed] | None
    queue_size: int = QUEUE_SIZE
    stream_poll_seconds: float = STREAM_POLL_SECONDS
    linger_seconds: float = LINGER_SECONDS
    ready_seconds: float = READY_SECONDS
    _subscribers: set[Subscriber] = field(default_factory=set)
    _open: bool = False
    _feed: ChangeFeed | None = None
    _reader: asyncio.Task[None] | None = None
    _lingering: asyncio.Task[None] | None = None
    _holders: int = 0
    _poll: asyncio.Task[None] | None = None
    _readings: StreamReadings = field(default_factory=StreamReadings)
    _images: ChannelImages = field(init=False)

    def __post_init__(self) -> None:
        self._images = ChannelImages(self.backend)

    # The lifetime of the hub: the app's (app.http's lifespan).

    def start(self) -> None:
        """Accept subscriptions; the reader starts with the first of them."""
        self._open = self.feeds is not None

    async def stop(self) -> None:
        """Stop reading and end every subscription (a graceful shutdown)."""
        self._open = False
        for task in (self._reader, self._poll, self._lingering):
            if task is not None:
                task.cancel()
        for subscriber in list(self._subscribers):
            self._end(subscriber, UpstreamError(SHUTTING_DOWN))
        self._reader = self._poll = self._lingering = self._feed = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def reading(self) -> bool:
        """Whether the feed's reader runs (it does only while someone listens, and LINGER_SECONDS after)."""
        return self._reader is not None

    @property
    def ready(self) -> bool:
        """Whether the reader runs and has taken its position: a subscription now is acknowledged at once."""
        return self._feed is not None and self._feed.began

    # Connections: a WebSocket's `connection_ack` waits for the reader (app.http)

    async def hold(self) -> bool:
        """Keep the reader running until `release`, once it has taken its position: a subscription
        started after this returned misses no change committed after it returned. False (and nothing to
        release) when there is no reader to hold: live updates off, or a table without a stream."""
        if self.feeds is None or not self._open:
            return False
        self._holders += 1
        try:
            await self._reader_began()
        except BaseException as failure:
            self.release()
            if isinstance(failure, ChannelsError):
                return False  # the subscriptions are refused with it, on a connection admitted as it is
            raise
        return True

    def release(self) -> None:
        """A connection `hold` held for has closed."""
        self._holders -= 1
        self._linger_when_unheard()

    # Subscriptions

    async def channel_events(
        self, caller: Caller, channel_id: str | None, *, until: float | None = None
    ) -> AsyncIterator[tuple[ChannelEvent, Assignment | None]]:
        """The events of the channels `caller` may see (of one channel with `channel_id`), until cancelled,
        each with the caller's assignment at delivery (what `Channel.streamKey` is decided by). Ends with
        UNAUTHENTICATED at `until` (epoch seconds: when the caller's token stops being accepted)."""
        grant = require_grant(caller, "channelEvents")

        def wants(event: Delivered) -> bool:
            return isinstance(event, ChannelEvent) and (channel_id is None or event.channel_id == channel_id)

        subscriber = await self._subscribe(caller, grant, wants, of_channels=True)
        self._start_stream_poll()
        async for event in self._events(subscriber, until):
            assert isinstance(event, ChannelEvent)
            yield event, subscriber.assignment

    async def request_events(self, caller: Caller, *, until: float | None = None) -> AsyncIterator[ChannelRequestEvent]:
        """Requests made and decided that `caller` may see, until cancelled (or `until`, as above)."""
        grant = require_grant(caller, "channelRequestEvents")
        subscriber = await self._subscribe(
            caller, grant, lambda event: isinstance(event, ChannelRequestEvent), of_channels=False
        )
        async for event in self._events(subscriber, until):
            assert isinstance(event, ChannelRequestEvent)
            yield event

    async def _subscribe(
        self, caller: Caller, grant: Grant, wants: Callable[[Delivered], bool], *, of_channels: bool
    ) -> Subscriber:
        """The subscriber, once the reader has taken its position: every change committed from then on
        reaches it."""
        if self.feeds is None:
            raise LiveUpdatesOff(LIVE_UPDATES_OFF, "LIVE_UPDATES_OFF")
        if not self._open:
            raise LiveUpdatesUnavailable(SHUTTING_DOWN)
        subscriber = Subscriber(caller, grant, wants, asyncio.Queue(self.queue_size), of_channels)
        self._subscribers.add(subscriber)  # before the read: an assignment changing meanwhile is seen
        try:
            await self._reader_began()
            if grant.own_only:
                assignment = await to_thread.run_sync(self.backend.assignments.get_assignment, caller.user_id)
                if subscriber.assignment is None:
                    subscriber.assignment = assignment
        except BaseException:
            self._leave(subscriber)
            raise
        return subscriber

    async def _reader_began(self) -> None:
        """Start the reader unless it runs (or lingers), and wait until it has taken its position."""
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingering = None
        if self._reader is None:
            assert self.feeds is not None
            self._images.clear()  # what the last reader showed may have changed since it stopped
            self._feed = self.feeds()
            self._reader = asyncio.create_task(self._read(self._feed), name="live-updates-reader")
        feed, reader = self._feed, self._reader
        assert feed is not None
        try:
            async with asyncio.timeout(self.ready_seconds):
                while not feed.began:
                    if reader.done():  # the table has no stream (_read), or the service is stopping
                        if not self._open:
                            raise LiveUpdatesUnavailable(SHUTTING_DOWN)
                        raise LiveUpdatesOff(NO_STREAM, "NO_STREAM")
                    await asyncio.sleep(READY_CHECK_SECONDS)
        except TimeoutError:
            raise UpstreamError("The live updates' feed could not start reading the table's changes in time; "
                                "subscribe again.") from None

    def _leave(self, subscriber: Subscriber) -> None:
        """`subscriber` is gone: the stream poll stops with the last channel subscriber, and the reader
        LINGER_SECONDS after the last subscriber."""
        self._subscribers.discard(subscriber)
        if self._poll is not None and not self._anyone_listens_to_channels():
            self._poll.cancel()
            self._poll = None
        self._linger_when_unheard()

    def _linger_when_unheard(self) -> None:
        if self._open and not self._heard() and self._reader is not None and self._lingering is None:
            self._lingering = asyncio.create_task(self._stop_reader_later(), name="live-updates-linger")

    def _heard(self) -> bool:
        return bool(self._subscribers) or self._holders > 0

    async def _stop_reader_later(self) -> None:
        await asyncio.sleep(self.linger_seconds)
        self._lingering = None
        if not self._heard() and self._reader is not None:
            self._reader.cancel()
            self._reader = self._feed = None

    async def _events(self, subscriber: Subscriber, until: float | None) -> AsyncIterator[Delivered]:
        try:
            while True:
                try:
                    async with asyncio.timeout(None if until is None else until - time.time()):
                        event = await subscriber.queue.get()
                except TimeoutError:
                    raise Unauthenticated("The token has expired; subscribe again with a fresh token.") from None
                if event is END:
                    assert subscriber.ended is not None
                    raise subscriber.ended
                assert isinstance(event, ChannelEvent | ChannelRequestEvent)
                yield event
        finally:
            self._leave(subscriber)

    def _end(self, subscriber: Subscriber, reason: ChannelsError) -> None:
        subscriber.ended = reason
        self._subscribers.discard(subscriber)  # its generator leaves (_leave) when it takes the end
        while not subscriber.queue.empty():  # make room for the end: what waits is dropped
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(END)

    # Delivery

    def deliver(self, events: Sequence[Delivered]) -> None:
        """Hand each event to every subscriber that wants it and may see it now."""
        for event in events:
            for subscriber in list(self._subscribers):
                if not (subscriber.wants(event) and subscriber.may_see(event)):
                    continue
                try:
                    subscriber.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self._end(subscriber, SubscriberTooSlow(
                        f"This subscription fell {self.queue_size} events behind and was ended; subscribe again."
                    ))

    async def _read(self, feed: ChangeFeed) -> None:
        """Read the feed until cancelled (_stop_reader_later). A failure is retried, after a pause that
        grows to READ_RETRY_MAX_SECONDS: the feed goes on from its checkpoints, so subscribers lose
        nothing. A table without a stream ends every subscription; the next subscribe tries again."""
        from data.table_stream import StreamMissing  # here: the functions, which have no feed, never import it

        pause = READ_RETRY_FIRST_SECONDS
        while True:
            try:
                await feed.run(self._on_changes)
                return
            except StreamMissing as missing:
                log.error("Live updates are off: %s", missing)
                if self._reader is asyncio.current_task():
                    self._reader = self._feed = None
                for subscriber in list(self._subscribers):
                    self._end(subscriber, LiveUpdatesOff(NO_STREAM, "NO_STREAM"))
                return
            except Exception:
                log.exception("The live updates' feed failed; reading again in %.0f s", pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, READ_RETRY_MAX_SECONDS)

    async def _on_changes(self, changes: Sequence[TableChange]) -> None:
        # Who has which channel first, when an assignment and its channel's change come in one batch.
        for change in changes:
            host = host_assignment_of(change)
            if host is not None:
                assignment = None if change.new is None else assignment_from_item(change.new)
                for subscriber in self._subscribers:
                    if subscriber.caller.user_id == host.host_user_id:
                        subscriber.assignment = assignment
        delivered: list[Delivered] = []
        for change in changes:
            try:
                for event in events_of(change):
                    found = await self._ready(event)
                    if found is not None:
                        delivered.append(found)
            except (KeyError, ValueError, AssertionError):
                # A record another writer shaped otherwise: skipped, so it cannot stop everyone's feed.
                log.exception("A change to %s became no event", dict(change.keys))
        self.deliver(delivered)

    async def _ready(self, event: Event) -> Delivered | None:
        if isinstance(event, RequestRecordEvent):
            return ChannelRequestEvent(event.kind, event.at, request_from_item(event.request_image))
        assert isinstance(event, ChannelRecordEvent)
        if event.kind is ChannelEventKind.DELETED:
            self._images.forget(event.channel_id)
            return ChannelEvent(event.kind, event.channel_id, event.at, None)
        if event.channel_image is not None:
            self._images.remember(event.channel_id, event.channel_image)
            return ChannelEvent(event.kind, event.channel_id, event.at, channel_from_item(event.channel_image))
        if not self._anyone_listens_to_channels():
            return None  # no one to read the channel for
        channel = await self._images.channel(event.channel_id)
        return None if channel is None else ChannelEvent(event.kind, event.channel_id, event.at, channel)

    # STREAM events

    def _anyone_listens_to_channels(self) -> bool:
        return any(subscriber.of_channels for subscriber in self._subscribers)

    def _start_stream_poll(self) -> None:
        if self._poll is None and self.stream_poll_seconds > 0:
            self._poll = asyncio.create_task(self._poll_streams(), name="live-updates-streams")

    async def _poll_streams(self) -> None:
        while True:
            try:
                streams = await to_thread.run_sync(self.backend.live_streams.refresh)
            except ChannelsError as failure:
                log.warning("ListStreams for live updates failed: %s", failure.message)
            except Exception:
                log.exception("The live updates' ListStreams poll failed; it goes on")
            else:
                events = []
                readings = {arn: (stream.viewer_count, stream.health) for arn, stream in streams.items()}
                for channel_arn in self._readings.changed(readings):
                    channel = await self._images.channel_by_arn(channel_arn)
                    if channel is not None:
                        events.append(ChannelEvent(ChannelEventKind.STREAM, channel.id, utc_now(), channel))
                self.deliver(events)
            await asyncio.sleep(self.stream_poll_seconds)
