"""Part 4: requests per second and latency with 1, 16 and 64 concurrent clients (httpx.AsyncClient)
against the one uvicorn worker, and the backend's own ceiling for the same DynamoDB work.

The embedded emulator serialises its requests (app.embedded.SerializedWsgi) and runs in the service's
process, so it is the expected bottleneck; its ceiling is measured by sending the recorded calls
straight to it from 16 threads of this process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from bench.calls import AwsCall
from bench.local_service import BENCH_ADMIN
from bench.stats import Latency
from bench.workload import Prepared, Workload, replay

CEILING_THREADS = 16
PROBE_INTERVAL_SECONDS = 0.05
SATURATED = 0.9  # a level within 10% of the best throughput counts as saturated


@dataclass(frozen=True)
class Throughput:
    operation: str
    concurrency: int
    requests: int
    seconds: float
    requests_per_second: float
    latency: Latency
    # GET /healthz (no AWS call) sent every 50 ms on a connection of its own during the load: if boto3
    # blocked the event loop, this would wait as long as the GraphQL requests do.
    healthz: Latency
    # Requests sent again because uvicorn had closed their keep-alive connection as idle (5 s) just as
    # they were sent on it: the warm-up opens every connection at once, and at 64 clients of the
    # embedded backend the first to be answered waits seconds for the last.
    resent: int = 0


@dataclass(frozen=True)
class BackendCeiling:
    operation: str
    threads: int
    requests: int
    seconds: float
    requests_per_second: float
    latency: Latency


@dataclass(frozen=True)
class ThroughputResult:
    levels: list[Throughput]
    ceilings: list[BackendCeiling]
    saturated_at: dict[str, int]  # per operation: the lowest concurrency within 10% of the best


def measure(prepared: Prepared, *, levels: tuple[int, ...], seconds: float) -> ThroughputResult:
    token = prepared.served.token(BENCH_ADMIN, admin=True)
    results = [
        asyncio.run(_load(prepared.served.url, token, workload, concurrency, seconds))
        for workload in prepared.workloads
        for concurrency in levels
    ]
    ceilings = [_ceiling(prepared.direct, workload.name, prepared.calls[workload.name], seconds)
                for workload in prepared.workloads]
    saturated_at = {}
    for workload in prepared.workloads:
        own = [result for result in results if result.operation == workload.name]
        best = max(result.requests_per_second for result in own)
        saturated_at[workload.name] = min(
            result.concurrency for result in own if result.requests_per_second >= SATURATED * best
        )
    return ThroughputResult(results, ceilings, saturated_at)


async def _load(url: str, token: str, workload: Workload, concurrency: int, seconds: float) -> Throughput:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:

        resent = [0]

        async def send() -> float:
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", content=workload.body)
            except (httpx.ReadError, httpx.RemoteProtocolError):  # closed as idle: once, on a new connection
                resent[0] += 1
                started = time.perf_counter()
                response = await client.post("/graphql", content=workload.body)
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or b'"errors"' in response.content:
                raise RuntimeError(f"{workload.name} under load: {response.status_code} {response.content[:300]!r}")
            return elapsed

        await asyncio.gather(*(send() for _ in range(concurrency)))  # opens every connection first
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                latencies.append(await send())

        async with httpx.AsyncClient(base_url=url, timeout=120) as probe_client:
            probes = asyncio.create_task(_probe(probe_client, deadline))
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            healthz = await probes
    return Throughput(
        operation=workload.name,
        concurrency=concurrency,
        requests=len(latencies),
        seconds=elapsed,
        requests_per_second=len(latencies) / elapsed,
        latency=Latency.of(latencies),
        healthz=Latency.of(healthz),
        resent=resent[0],
    )


async def _probe(client: httpx.AsyncClient, deadline: float) -> list[float]:
    latencies = []
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await client.get("/healthz")
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"/healthz under load: {response.status_code}")
        await asyncio.sleep(PROBE_INTERVAL_SECONDS)
    return latencies


def _ceiling(direct_client: Any, operation: str, calls: list[AwsCall], seconds: float) -> BackendCeiling:
    send = replay(direct_client, calls)
    send()
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            send()
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)

    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        for future in [pool.submit(worker) for _ in range(CEILING_THREADS)]:
            future.result()
    elapsed = time.perf_counter() - started
    return BackendCeiling(
        operation=operation,
        threads=CEILING_THREADS,
        requests=len(latencies),
        seconds=elapsed,
        requests_per_second=len(latencies) / elapsed,
        latency=Latency.of(latencies),
    )
