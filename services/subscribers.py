"""A subscriber of live updates (services.live_updates) and what it is handed: the events ready for
delivery, and the errors that end or refuse a subscription (CONTRACT.md section 13)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.access import Caller, Grant, Reach
from domain.channel_events import ChannelEventKind, ChannelRequestEventKind
from domain.channel_requests import ChannelRequest
from domain.errors import ChannelsError, UpstreamError
from domain.model import Assignment, Channel


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
    """No feed: this process cannot serve subscriptions (the Lambda functions, a service shutting down)."""


class LiveUpdatesOff(LiveUpdatesUnavailable):
    """No feed until an operator acts: live updates turned off (`serve --without-live-updates`) or a table
    without a stream. Subscribing again does not help, so not retryable; `reason` says which."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryable": False, "reason": self.reason}


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
LIVE_UPDATES_OFF = ("Live updates are off in this deployment (`serve --without-live-updates`, "
                    "CHANNELS_LIVE_UPDATES=off): it serves no subscriptions (docs/live-updates.md).")
NO_STREAM = ("This deployment's table has no stream, so it has no live updates (subscriptions): "
             "run `shelcaster-channels provision` to enable it (docs/live-updates.md).")
END = object()  # put in a queue to end its subscription (with the subscriber's `ended` error)


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
