"""Live updates (docs/live-updates.md): one reader of the table's changes per process, fanned out to
every subscriber of that process.

The hub reads the feed (the table's DynamoDB stream) once, turns each change into events
(domain.channel_events), builds each event's channel or request once from the stream's new image
(data.records, data.channel_requests: no backend read per subscriber), and hands it to each
subscriber allowed to see it at that moment. Who may see what follows CONTRACT.md section 4:
admins every channel and request; hosts the channel they are assigned to, and their own requests.
A host's channel is read once when the host subscribes, then kept current from the assignment
records the feed carries, so that a host unassigned mid-subscription stops receiving that channel.

Each subscriber has a bounded queue: one that falls QUEUE_SIZE events behind is ended with
SubscriberTooSlow rather than buffered without bound. While any channel subscriber listens, one
ListStreams every STREAM_POLL_SECONDS (data.live_streams) becomes STREAM events for the channels
whose viewer count or health changed (domain.channel_events.StreamReadings).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anyio import to_thread

from data.channel_requests import request_from_item
from data.records import assignment_from_item, channel_from_item
from domain.access import Caller, Grant, Reach, require_grant
from domain.channel_events import (
    ChannelRecordEvent,
    ChannelEventKind,
    ChannelRequestEventKind,
    Event,
    RequestRecordEvent,
    StreamReadings,
    events_of,
    host_assignment_of,
)
from domain.channel_requests import ChannelRequest
from domain.clock import utc_now
from domain.errors import ChannelsError, Unauthenticated, UpstreamError
from domain.model import Assignment, Channel
from domain.table_changes import ChangeFeed, TableChange
from services.backend import ChannelsBackend

log = logging.getLogger(__name__)

# Events one subscriber may have waiting; past that it is ended (a live view that far behind is stale).
QUEUE_SIZE = 256
STREAM_POLL_SECONDS = 10.0
# Channels whose latest image is kept for events about their other records (sessions, slots, STREAM).
CHANNEL_IMAGES_MAX = 4096
READ_RETRY_FIRST_SECONDS = 1.0
READ_RETRY_MAX_SECONDS = 30.0


class SubscriberTooSlow(ChannelsError):
    """A subscriber that fell a whole queue behind. The contract's codes (section 3) have none for it:
    it is the service's load, not the caller's fault, so it is UPSTREAM_ERROR and retryable (subscribe
    again), as the validation queue's refusals are, with `reason` saying which."""

    code = "UPSTREAM_ERROR"
    reason = "SUBSCRIBER_TOO_SLOW"

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryable": True, "reason": self.reason}


class LiveUpdatesUnavailable(UpstreamError):
    """No feed: this process cannot serve subscriptions (the Lambda functions, a test app)."""


@dataclass(frozen=True)
class ChannelEvent:
    """A channel event ready for delivery: the channel as it is after the change, None once DELETED."""

    kind: ChannelEventKind
    channel_id: str
    at: datetime
    channel: Channel | None


@dataclass(frozen=True)
class ChannelRequestEvent:
    """A request event ready for delivery: the request as it is after the change."""

    kind: ChannelRequestEventKind
    at: datetime
    request: ChannelRequest


Delivered = ChannelEvent | ChannelRequestEvent
_END = object()  # put in a queue to end its subscription (with the subscriber's `ended` error)


@dataclass(eq=False)
class Subscriber:
    caller: Caller
    grant: Grant
    wants: Callable[[Delivered], bool]
    queue: asyncio.Queue[object]
    # Whether it listens to channel events (STREAM events are polled for only while one does).
    of_channels: bool
    # Hosts: their assignment now (kept current from the feed); None while they have none.
    assignment: Assignment | None = None
    ended: ChannelsError | None = None

    @property
    def channel_id(self) -> str | None:
        return None if self.assignment is None else self.assignment.channel_id

    def may_see(self, event: Delivered) -> bool:
        if self.grant.reach is Reach.ANY:
            return True
        if isinstance(event, ChannelRequestEvent):
            return event.request.requester_id == self.caller.user_id
        if self.channel_id is not None and event.channel_id == self.channel_id:
            return True
        # The channel record names its hosts too, written in the same transaction as the assignment
        # record; the two may reach the feed in either order (other partitions, other shards).
        return event.channel is not None and self.caller.user_id in event.channel.assigned_host_ids


@dataclass
class ChannelEventHub:
    """Every subscriber of this process, and the one feed reader and stream poll they share."""

    backend: ChannelsBackend
    feed: ChangeFeed | None
    queue_size: int = QUEUE_SIZE
    stream_poll_seconds: float = STREAM_POLL_SECONDS
    _subscribers: set[Subscriber] = field(default_factory=set)
    _images: OrderedDict[str, Mapping[str, Any]] = field(default_factory=OrderedDict)
    _reader: asyncio.Task[None] | None = None
    _poll: asyncio.Task[None] | None = None
    _readings: StreamReadings = field(default_factory=StreamReadings)
    _ids_by_arn: dict[str, str] = field(default_factory=dict)

    # The lifetime of the reader: the app's (app.http's lifespan).

    def start(self) -> None:
        """Start reading the feed, so that a subscription sees every change made after it began."""
        if self.feed is not None and self._reader is None:
            self._reader = asyncio.create_task(self._read(self.feed), name="live-updates-reader")

    async def stop(self) -> None:
        """Stop reading and end every subscription (a graceful shutdown)."""
        for task in (self._reader, self._poll):
            if task is not None:
                task.cancel()
        for subscriber in list(self._subscribers):
            self._end(subscriber, UpstreamError("The service is shutting down; subscribe again."))
        self._reader = self._poll = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

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
        if self._reader is None:
            raise LiveUpdatesUnavailable(
                "This deployment has no live updates (subscriptions); see docs/live-updates.md."
            )
        subscriber = Subscriber(caller, grant, wants, asyncio.Queue(self.queue_size), of_channels)
        self._subscribers.add(subscriber)  # before the read: an assignment changing meanwhile is seen
        if grant.own_only:
            assignment = await to_thread.run_sync(self.backend.assignments.get_assignment, caller.user_id)
            if subscriber.assignment is None:
                subscriber.assignment = assignment
        return subscriber

    async def _events(self, subscriber: Subscriber, until: float | None) -> AsyncIterator[Delivered]:
        try:
            while True:
                try:
                    async with asyncio.timeout(None if until is None else until - time.time()):
                        event = await subscriber.queue.get()
                except TimeoutError:
                    raise Unauthenticated("The token has expired; subscribe again with a fresh token.") from None
                if event is _END:
                    assert subscriber.ended is not None
                    raise subscriber.ended
                assert isinstance(event, ChannelEvent | ChannelRequestEvent)
                yield event
        finally:
            self._subscribers.discard(subscriber)
            if self._poll is not None and not self._anyone_listens_to_channels():
                self._poll.cancel()
                self._poll = None

    def _end(self, subscriber: Subscriber, reason: ChannelsError) -> None:
        subscriber.ended = reason
        self._subscribers.discard(subscriber)
        while not subscriber.queue.empty():  # make room for the end: what waits is dropped
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(_END)

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
        """Read the feed for the life of the process. A failure is retried, after a pause that grows to
        READ_RETRY_MAX_SECONDS: the feed goes on from its checkpoints, so subscribers lose nothing.
        A table without a stream ends every subscription and refuses new ones (docs/live-updates.md)."""
        from data.table_stream import StreamMissing  # here: the functions, which have no feed, never import it

        pause = READ_RETRY_FIRST_SECONDS
        while True:
            try:
                await feed.run(self._on_changes)
                return
            except StreamMissing as missing:
                log.error("Live updates are off: %s", missing)
                for subscriber in list(self._subscribers):
                    missing_stream = LiveUpdatesUnavailable("This deployment's table has no stream: no live updates.")
                    self._end(subscriber, missing_stream)
                self._reader = None
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
            self._images.pop(event.channel_id, None)
            return ChannelEvent(event.kind, event.channel_id, event.at, None)
        if event.channel_image is not None:
            self._remember(event.channel_id, event.channel_image)
            return ChannelEvent(event.kind, event.channel_id, event.at, channel_from_item(event.channel_image))
        if not self._anyone_listens_to_channels():
            return None  # no one to read the channel for
        channel = await self._channel(event.channel_id)
        return None if channel is None else ChannelEvent(event.kind, event.channel_id, event.at, channel)

    async def _channel(self, channel_id: str) -> Channel | None:
        """The channel as the feed last showed it; one read when it has not shown it (once per event,
        whatever the number of subscribers)."""
        image = self._images.get(channel_id)
        if image is not None:
            return channel_from_item(image)
        return await to_thread.run_sync(self.backend.channels.get_channel, channel_id)

    def _remember(self, channel_id: str, image: Mapping[str, Any]) -> None:
        self._images[channel_id] = image
        self._images.move_to_end(channel_id)
        if len(self._images) > CHANNEL_IMAGES_MAX:
            self._images.popitem(last=False)

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
                    channel = await self._channel_by_arn(channel_arn)
                    if channel is not None:
                        events.append(ChannelEvent(ChannelEventKind.STREAM, channel.id, utc_now(), channel))
                self.deliver(events)
            await asyncio.sleep(self.stream_poll_seconds)

    async def _channel_by_arn(self, channel_arn: str) -> Channel | None:
        for image in reversed(self._images.values()):
            if image.get("channelArn") == channel_arn:
                return channel_from_item(image)
        channel_id = self._ids_by_arn.get(channel_arn)
        if channel_id is None:
            channel_id = await to_thread.run_sync(self.backend.state_changes.find_channel_id_by_arn, channel_arn)
            if channel_id is None:
                return None
            self._ids_by_arn[channel_arn] = channel_id
        return await self._channel(channel_id)
