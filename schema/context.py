"""What every resolver gets: the caller, the backend, and this request's DataLoaders."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from anyio import to_thread
from strawberry.dataloader import DataLoader

from domain.access import Caller, Grant, reaches_channel, require_caller
from domain.errors import BadUserInput, ChannelsError
from domain.model import Assignment
from data.ivs import IvsStream
from data.loaders import Loaders, already_loaded, build_live_stream_loader, build_loaders
from services.backend import ChannelsBackend

if TYPE_CHECKING:
    from services.live_updates import ChannelEventHub

T = TypeVar("T")
# A page of 100 channels with their sessions is 100 Queries: the most one request may make that way.
FAN_OUT_CALLS_MAX = 100


@dataclass
class Context:
    request_id: str
    backend: ChannelsBackend
    loaders: Loaders
    caller: Caller | None
    # Why the sent token was refused; raised only by operations that need a caller.
    auth_rejection: ChannelsError | None = None
    # The process's live updates (subscriptions); None where there are none (the Lambda functions).
    hub: ChannelEventHub | None = None
    # When the caller's token stops being accepted (its `exp` plus the leeway, epoch seconds): a
    # subscription ends then (docs/live-updates.md, "Authentication").
    caller_expires_at: float | None = None
    # graphql-transport-ws's `connection_init` payload (strawberry sets it): where the token is sent.
    connection_params: dict[str, Any] | None = None
    # Whether the transport can hold a subscription open (a WebSocket, a multipart HTTP response).
    can_stream: bool = False
    # The connection of a WebSocket request (app.subscription_connections closes it at the token's expiry).
    websocket: Any = None
    # Built on first use (most requests never ask for `Channel.stream`).
    _live_stream_loader: DataLoader[str, IvsStream | None] | None = None
    # Backend calls made once per parent (a Channel's `sessions`), counted against FAN_OUT_CALLS_MAX.
    _fan_out_calls: int = 0

    def spend_fan_out_call(self, what: str) -> None:
        """Count one backend call a field makes for each parent it appears under; BAD_USER_INPUT past
        the request's budget, so that no document (aliases times page sizes) multiplies backend calls
        past FAN_OUT_CALLS_MAX."""
        self._fan_out_calls += 1
        if self._fan_out_calls > FAN_OUT_CALLS_MAX:
            raise BadUserInput(
                f"This request asks for {what} of more than {FAN_OUT_CALLS_MAX} channels; "
                "ask for fewer (a smaller 'first', fewer aliases)."
            )

    def live_stream_loader(self) -> DataLoader[str, IvsStream | None]:
        """This request's loader of what IVS is streaming, by channel ARN."""
        if self._live_stream_loader is None:
            self._live_stream_loader = build_live_stream_loader(self.backend.live_streams)
        return self._live_stream_loader

    def require_caller(self) -> Caller:
        if self.auth_rejection is not None:
            raise self.auth_rejection
        return require_caller(self.caller)

    async def own_assignment(self) -> Assignment | None:
        """The calling host's assignment (batched with any other assignment loads of this tick)."""
        caller = self.require_caller()
        return await self.loaders.assignment_by_host.load(caller.user_id)

    async def reaches_channel(self, grant: Grant, channel_id: str) -> bool:
        """Whether the grant covers the channel; the caller's assignment is loaded only when it must be."""
        own = await self.own_assignment() if grant.own_only else None
        return reaches_channel(grant, own, channel_id)

    def reaches_channel_now(self, grant: Grant, channel_id: str) -> bool | None:
        """`reaches_channel` when it can be decided without I/O (the grant reaches every channel, or the
        caller's own assignment is loaded already); None when the assignment must be loaded first."""
        if not grant.own_only:
            return reaches_channel(grant, None, channel_id)
        own = already_loaded(self.loaders.assignment_by_host, [self.require_caller().user_id])
        return None if own is None else reaches_channel(grant, own[0], channel_id)

    def live_updates(self) -> ChannelEventHub:
        """The process's live updates; refused where there are none."""
        if self.hub is None:
            from services.live_updates import LiveUpdatesUnavailable

            raise LiveUpdatesUnavailable("This deployment has no subscriptions (docs/live-updates.md, \"Deployments\").")
        return self.hub

    def renew_loaders(self, *own_assignment: Assignment | None) -> None:
        """Fresh DataLoaders for the next event of a subscription (a connection's loaders would otherwise
        cache for its whole life); given the caller's assignment as the feed last showed it, primed with it."""
        self.loaders = build_loaders(self.backend.channel_reads)
        self._live_stream_loader = None
        self._fan_out_calls = 0
        if self.caller is not None and own_assignment:
            self.loaders.assignment_by_host.prime(self.caller.user_id, own_assignment[0])

    async def run_blocking(self, function: Callable[..., T], *args: object) -> T:
        """Run a blocking (boto3) use case in the thread pool, off the event loop."""
        return await to_thread.run_sync(functools.partial(function, *args))


Info = strawberry.Info[Context, None]
