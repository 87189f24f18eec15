"""Per-request DataLoaders: every `load` of one tick becomes one BatchGetItem, awaited on the event
loop (data.channel_reads).

Built per request in the GraphQL context (a loader at module level would cache for the life of the
server and serve stale channels).
"""

from __future__ import annotations

from asyncio import Future
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from anyio import to_thread
from strawberry.dataloader import DataLoader

from domain.model import Assignment, Channel
from data.ivs import IvsStream
from data.live_streams import LiveStreams
from data.channel_reads import ChannelReads

ChannelId = str
HostUserId = str
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Loaders:
    channel_by_id: DataLoader[ChannelId, Channel | None]
    assignment_by_host: DataLoader[HostUserId, Assignment | None]


def build_loaders(reads: ChannelReads) -> Loaders:
    async def load_channels(ids: list[ChannelId]) -> list[Channel | None]:
        found = await reads.channels(ids)
        return [found.get(channel_id) for channel_id in ids]

    async def load_assignments(hosts: list[HostUserId]) -> list[Assignment | None]:
        found = await reads.assignments(hosts)
        return [found.get(host) for host in hosts]

    return Loaders(
        channel_by_id=DataLoader(load_fn=load_channels),
        assignment_by_host=DataLoader(load_fn=load_assignments),
    )


def already_loaded(loader: DataLoader[K, V], keys: Iterable[K]) -> list[V] | None:
    """What `loader` holds for every key, in key order, when this request has loaded them all already
    (a resolver can then answer without awaiting); None when any is not loaded yet, or failed (the
    awaited load then raises its error as before)."""
    found = []
    for key in keys:
        future: Future[V] | None = loader.cache_map.get(key)
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return None
        found.append(future.result())
    return found


ChannelArn = str


def build_live_stream_loader(live_streams: LiveStreams) -> DataLoader[ChannelArn, IvsStream | None]:
    """`Channel.stream` of every channel of one tick: one IVS call for all of them."""

    async def load_streams(arns: list[ChannelArn]) -> list[IvsStream | None]:
        if len(arns) == 1:
            return [await to_thread.run_sync(live_streams.of_channel, arns[0])]
        found = await to_thread.run_sync(live_streams.of_channels, arns)
        return [found.get(arn) for arn in arns]

    return DataLoader(load_fn=load_streams)
