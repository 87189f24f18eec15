"""Part 2: items read by `channels(state: LIVE, first: 20)` as the table grows (ScannedCount).

Each size is a table of its own, filled with BatchWriteItem, with the same 25 LIVE channels spread
evenly through it: the page is full at every size, so the bound is tested, not an empty page.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass

from bench import queries
from bench.calls import AwsCallLog, service_clients
from bench.local_service import GraphQL, LocalService, local_service
from bench.seed import Seal, bench_channel, set_capacity_counter, write_channels
from bench.targets import Target
from domain.model import Channel, ChannelState

LIVE_CHANNELS = 25
PAGE_SIZE = 20
TIMED_REQUESTS = 5


@dataclass(frozen=True)
class ItemsRead:
    channels: int
    live: int
    page_size: int
    returned: int
    items_read: int  # ScannedCount of the page's Query
    next_page_returned: int
    next_page_items_read: int
    request_ms: float  # median, in process; moto's index Query walks the whole table (see docs/performance.md)
    query_ms: float  # median of the page's Query alone, sent straight to the backend
    fill_seconds: float
    fill_calls: int

    @property
    def met(self) -> bool:
        return self.items_read <= self.page_size + 1 and self.next_page_items_read <= self.page_size + 1


def channels_for(size: int, seal: Seal | None = None) -> list[Channel]:
    """`size` channels, LIVE_CHANNELS of them LIVE at even intervals, one in ten OFFLINE, the rest IDLE."""
    every = size // LIVE_CHANNELS

    def state(number: int) -> ChannelState:
        if number % every == every // 2:
            return ChannelState.LIVE
        return ChannelState.OFFLINE if number % 10 == 3 else ChannelState.IDLE

    return [bench_channel(number, state(number), seal=seal) for number in range(size)]


def measure(sizes: tuple[int, ...]) -> list[ItemsRead]:
    return [_measure_size(size) for size in sizes]


def _measure_size(size: int) -> ItemsRead:
    with local_service(f"bench-items-read-{size}-{uuid.uuid4().hex[:8]}", limit=max(size, 100)) as local:
        started = time.perf_counter()
        channels = channels_for(size, local.seal)
        calls = write_channels(local.service.table, channels)
        set_capacity_counter(local.service.table, channels)
        fill_seconds = time.perf_counter() - started
        return asyncio.run(_read_pages(local, size, fill_seconds, calls))


async def _read_pages(local: LocalService, size: int, fill_seconds: float, fill_calls: int) -> ItemsRead:
    log = AwsCallLog(service_clients(local.service.clients))
    admin = local.admin_token
    variables = {"state": "LIVE", "first": PAGE_SIZE}
    async with GraphQL(local) as gql:
        with log:
            first = await gql(queries.PAGE, variables, token=admin)
        query = next(call for call in log.calls if call.operation == "Query")
        log.clear()
        with log:
            after = first["channels"]["pageInfo"]["endCursor"]
            second = await gql(queries.PAGE, {**variables, "after": after}, token=admin)
        next_query = next(call for call in log.calls if call.operation == "Query")

        timings = []
        for _ in range(TIMED_REQUESTS):
            started = time.perf_counter()
            await gql(queries.PAGE, variables, token=admin)
            timings.append(time.perf_counter() - started)

    client = local.service.clients.dynamodb
    query_timings = []
    for _ in range(TIMED_REQUESTS):
        started = time.perf_counter()
        client.query(**query.params)
        query_timings.append(time.perf_counter() - started)

    returned = len(first["channels"]["edges"])
    next_returned = len(second["channels"]["edges"])
    if returned != PAGE_SIZE or returned + next_returned != LIVE_CHANNELS:
        raise RuntimeError(f"items read: expected {LIVE_CHANNELS} LIVE channels over two pages, got {returned} + {next_returned}")
    return ItemsRead(
        channels=size,
        live=LIVE_CHANNELS,
        page_size=PAGE_SIZE,
        returned=returned,
        items_read=int(query.response["ScannedCount"]),
        next_page_returned=next_returned,
        next_page_items_read=int(next_query.response["ScannedCount"]),
        request_ms=statistics.median(timings) * 1000,
        query_ms=statistics.median(query_timings) * 1000,
        fill_seconds=fill_seconds,
        fill_calls=fill_calls,
    )


def targets(results: list[ItemsRead]) -> list[Target]:
    return [
        Target(
            name=f"items read: channels(state: LIVE, first: {result.page_size}) of {result.channels:,} channels",
            target=f"<= {result.page_size + 1} (page size + 1)",
            measured=f"{result.items_read} (next page {result.next_page_items_read})",
            met=result.met,
        )
        for result in results
    ]
