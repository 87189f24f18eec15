"""`python -m bench.embedded_growth`: how a long embedded session (`make run`) grows (docs/live-updates.md,
"A long embedded session"). WRITES two-item transactions through the emulator, timed, with the process's
resident memory, in one of three set-ups (`--setup`):

- `stream`: the table has its stream, no one reads it (`serve` with no subscriber: the reader is off);
- `reader`: the table has its stream and the feed reads it all along (`serve` with a subscriber);
- `no-stream`: the table has no stream (`serve --without-live-updates`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import anyio

from app.bootstrap import Service, bootstrap
from app.settings import Settings
from bench.cpu_usage import load_average
from domain.table_changes import TableChange

WRITES = 2000
CHANNELS = 20
REPORT_EVERY = 250
# The run stops past this (the emulator keeps every copy it makes: docs/live-updates.md).
RESIDENT_MAX_MB = 3000


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def transaction(service: Service, n: int) -> None:
    """Two puts in one transaction over CHANNELS channels, as a session's start writes its channel and
    session: a development session changes a few channels many times, its table stays small."""
    items = [{"Put": {"TableName": service.table.name,
                      "Item": {"pk": {"S": f"channel#growth-{n % CHANNELS}"}, "sk": {"S": sk}, "n": {"N": str(n)}}}}
             for sk in ("info", "session")]
    service.table.client.transact_write_items(TransactItems=items)


def read_feed(service: Service, delivered: list[int], stop: threading.Event) -> None:
    async def deliver(changes: Sequence[TableChange]) -> None:
        delivered[0] += len(changes)

    async def run() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(service.change_feed().run, deliver)
            while not stop.is_set():
                await anyio.sleep(0.1)
            group.cancel_scope.cancel()

    anyio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded_growth", description=__doc__)
    parser.add_argument("--setup", choices=["stream", "reader", "no-stream"], required=True)
    parser.add_argument("--writes", type=int, default=WRITES)
    arguments = parser.parse_args()
    settings = Settings(_env_file=None, backend="embedded",  # type: ignore[call-arg]
                        dev_dir=Path(tempfile.mkdtemp(prefix="bench-growth-")))
    service = bootstrap(settings, live_updates=arguments.setup != "no-stream")
    delivered, stop = [0], threading.Event()
    reader = threading.Thread(target=read_feed, args=(service, delivered, stop), daemon=True)
    if arguments.setup == "reader":
        reader.start()
    print(f"setup {arguments.setup}: start {resident_mb():.0f} MB resident; load average {load_average()}")
    timings: list[float] = []
    try:
        for n in range(arguments.writes):
            started = time.perf_counter()
            transaction(service, n)
            timings.append(time.perf_counter() - started)
            if (n + 1) % REPORT_EVERY == 0:
                recent = timings[-REPORT_EVERY:]
                print(f"writes {n + 1}: transaction median {statistics.median(recent) * 1000:.1f} ms, "
                      f"max {max(recent) * 1000:.1f} ms; {resident_mb():.0f} MB resident; "
                      f"delivered {delivered[0]}", flush=True)
                if resident_mb() > RESIDENT_MAX_MB:
                    print(f"stopped: past {RESIDENT_MAX_MB} MB resident", flush=True)
                    break
    finally:
        stop.set()
        service.close()
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
