"""The live-stream mutations (docs/live-streams.md): each runs its use case in the thread pool."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.types import Channel
from services import stream_control


async def rotate_stream_key(info: Info, channel_id: strawberry.ID) -> Channel:
    context = info.context
    caller = context.require_caller()
    rotated = await context.run_blocking(stream_control.rotate_stream_key, context.backend, caller, channel_id)
    return Channel.of(rotated)


async def stop_broadcast(info: Info, channel_id: strawberry.ID, keep_stream_key: bool = False) -> Channel:
    context = info.context
    caller = context.require_caller()
    stopped = await context.run_blocking(stream_control.stop_broadcast, context.backend, caller, channel_id,
                                         keep_stream_key)
    return Channel.of(stopped)
