"""`python -m bench.feed_latency`: the feed of live updates on the embedded backend (docs/live-updates.md,
"Measured"): the calls an idle reader makes in 10 s, then the latency from the start of each of 100
writes through the emulator's endpoint to `deliver`, with fresh iterators as embedded mode reads (the
default) or kept as against AWS (`--keep-iterators`)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from app.bootstrap import Service, bootstrap
from app.settings import Settings
from bench.cpu_usage import load_average
from data.table_stream import TableStream
from domain.table_changes import TableChange

WRITES = 100
WRITE_EVERY_SECONDS = 0.137  # not a multiple of the reader's poll
IDLE_SECONDS = 10.0


def reader_of(service: Service, keep_iterators: bool) -> TableStream:
    if not keep_iterators:
        return service.change_feed()
    return TableStream(service.clients.dynamodbstreams, dynamodb=service.clients.dynamodb,
                       table_name=service.table.name)


async def measure(service: Service, keep_iterators: bool) -> tuple[dict[str, int], list[float]]:
    calls: dict[str, int] = {}

    def counted(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1

    service.clients.dynamodbstreams.resolve().meta.events.register("before-call.dynamodb-streams", counted)
    written: dict[str, float] = {}
    latencies: list[float] = []

    async def deliver(changes: Sequence[TableChange]) -> None:
        now = time.perf_counter()
        for change in changes:
            started = written.pop(str(change.keys["pk"]), None)
            if started is not None:
                latencies.append(now - started)

    def write(pk: str) -> None:
        service.table.client.put_item(TableName=service.table.name, Item={"pk": {"S": pk}, "sk": {"S": "info"}})

    reader = reader_of(service, keep_iterators)
    async with anyio.create_task_group() as group:
        group.start_soon(reader.run, deliver)
        while not reader.began:
            await anyio.sleep(0.01)
        calls.clear()
        await anyio.sleep(IDLE_SECONDS)
        idle = dict(calls)
        for n in range(WRITES):
            # From the write's start: the reader may deliver it before the writer's thread returns.
            written[f"channel#bench-feed-{n}"] = time.perf_counter()
            await anyio.to_thread.run_sync(write, f"channel#bench-feed-{n}")
            await anyio.sleep(WRITE_EVERY_SECONDS)
        with anyio.move_on_after(5):
            while written:
                await anyio.sleep(0.05)
        group.cancel_scope.cancel()
    return idle, latencies


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feed_latency", description=__doc__)
    parser.add_argument("--keep-iterators", action="store_true", help="read as against AWS (iterators kept)")
    arguments = parser.parse_args()
    service = bootstrap(Settings(_env_file=None, backend="embedded",  # type: ignore[call-arg]
                                 dev_dir=Path(tempfile.mkdtemp(prefix="bench-feed-"))))
    try:
        idle, latencies = anyio.run(measure, service, arguments.keep_iterators)
    finally:
        service.close()
    print(f"idle calls in {IDLE_SECONDS:.0f} s: {idle}")
    p95 = statistics.quantiles(latencies, n=20)[18]
    print(f"delivered {len(latencies)} of {WRITES} writes: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; load average {load_average()}")


if __name__ == "__main__":
    main()
