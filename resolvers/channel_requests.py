"""The queries and mutations of channel requests: the queries await their reads on the event loop, the
mutations run their use case in the thread pool."""

from __future__ import annotations

import strawberry

from domain.channel_requests import ChannelRequestStatus
from schema.channel_requests import ChannelRequest, ChannelRequestConnection, RequestChannelInput
from schema.connections import Connection, Edge
from schema.context import Info
from services import approvals, channel_requests as use_cases


async def channel_requests(
    info: Info, status: ChannelRequestStatus | None = None, first: int = 20, after: str | None = None
) -> ChannelRequestConnection:
    context = info.context
    caller = context.require_caller()
    page = await use_cases.list_channel_requests(context.backend, caller, status, first, after)
    return Connection.of([Edge(cursor=cursor, node=ChannelRequest.of(found)) for found, cursor in page.requests],
                         has_next_page=page.has_next_page)


async def my_channel_requests(info: Info) -> list[ChannelRequest]:
    context = info.context
    caller = context.require_caller()
    return [ChannelRequest.of(found) for found in await use_cases.my_channel_requests(context.backend, caller)]


async def request_channel(info: Info, input: RequestChannelInput) -> ChannelRequest:
    context = info.context
    caller = context.require_caller()
    return ChannelRequest.of(await context.run_blocking(
        use_cases.request_channel, context.backend, caller, input.to_draft()))


async def approve_channel_request(info: Info, id: strawberry.ID, note: str | None = None) -> ChannelRequest:
    context = info.context
    caller = context.require_caller()
    return ChannelRequest.of(await context.run_blocking(
        approvals.approve_channel_request, context.backend, caller, id, note))


async def reject_channel_request(info: Info, id: strawberry.ID, note: str) -> ChannelRequest:
    context = info.context
    caller = context.require_caller()
    return ChannelRequest.of(await context.run_blocking(
        use_cases.reject_channel_request, context.backend, caller, id, note))


async def cancel_channel_request(info: Info, id: strawberry.ID) -> ChannelRequest:
    context = info.context
    caller = context.require_caller()
    return ChannelRequest.of(await context.run_blocking(use_cases.cancel_channel_request, context.backend, caller, id))
