"""Part 3: what the service adds to its backend's work, and what GraphQL execution alone costs.

Each request is timed end to end over HTTP (a keep-alive connection to uvicorn on loopback), and
against the very DynamoDB calls the service makes for it (recorded, then replayed with boto3 against
the same emulator), alternately in one loop so that both see the same machine.
"""

from __future__ import annotations

import asyncio
import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import page_execution, queries
from bench.calls import AwsCall
from bench.in_process import context_for, in_memory, timed
from bench.local_service import BENCH_ADMIN
from bench.page_execution import PageExecution
from bench.service_process import ServedService
from bench.stats import Latency, percentile
from bench.targets import Target
from bench.workload import ADMIN, Prepared, Workload, replay
from schema.schema import build_schema
from services.backend import ChannelsBackend

WARMUP = 5
PAGE_RATIO_TARGET = 1.3
GRAPHQL_TARGET_MS = 1.0


@dataclass(frozen=True)
class Overhead:
    operation: str
    http: Latency
    direct: Latency
    direct_calls: list[str]
    ratio_p50: float
    ratio_p99: float

    @classmethod
    def of(cls, operation: str, http_times: list[float], direct_times: list[float], calls: list[AwsCall]) -> Overhead:
        http_latency, direct_latency = Latency.of(http_times), Latency.of(direct_times)
        return cls(
            operation=operation,
            http=http_latency,
            direct=direct_latency,
            direct_calls=[call.operation for call in calls],
            ratio_p50=http_latency.p50_ms / direct_latency.p50_ms,
            ratio_p99=http_latency.p99_ms / direct_latency.p99_ms,
        )


@dataclass(frozen=True)
class GraphQLExecution:
    operation: str
    latency: Latency
    phases_p50_ms: dict[str, float]  # parse, validate, execute (what the extensions see of each)


@dataclass(frozen=True)
class LatencyResult:
    overhead: list[Overhead]
    graphql: list[GraphQLExecution]
    page: PageExecution  # the full page, the service's schema against graphql-core alone (bench.page_execution)


# Not a request the UIs make: the same page (the same Query, so MemoryTable has its answer) with three
# fields a channel, to show what execution costs per field.
SLIM_PAGE = Workload("channels(first: 20) { id name state }", queries.SLIM_PAGE, {"first": 20})


def measure(prepared: Prepared, *, iterations: int, graphql_iterations: int) -> LatencyResult:
    overhead = [
        _compare(prepared.served, prepared.direct, workload, prepared.calls[workload.name], iterations)
        for workload in prepared.workloads
    ]
    memory = in_memory(prepared.backend, prepared.recorded)
    graphql = [_time_graphql(memory, workload, graphql_iterations) for workload in [*prepared.workloads, SLIM_PAGE]]
    return LatencyResult(overhead, graphql, page_execution.measure(memory, graphql_iterations))


def _compare(served: ServedService, direct_client: Any, workload: Workload, calls: list[AwsCall],
             iterations: int) -> Overhead:
    direct = replay(direct_client, calls)
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {served.token(BENCH_ADMIN, admin=True)}"}

    def over_http() -> None:
        connection.request("POST", "/graphql", workload.body, headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or b'"errors"' in body:
            raise RuntimeError(f"{workload.name} over HTTP: {response.status} {body[:500]!r}")

    try:
        for _ in range(WARMUP):
            over_http()
            direct()
        http_times, direct_times = [], []
        for _ in range(iterations):
            http_times.append(_timed(over_http))
            direct_times.append(_timed(direct))
    finally:
        connection.close()
    return Overhead.of(workload.name, http_times, direct_times, calls)


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _time_graphql(backend: ChannelsBackend, workload: Workload, iterations: int) -> GraphQLExecution:
    """The service's schema (build_schema, its parser and validation caches included), timed."""
    phases: list[dict[str, float]] = []
    schema = timed(build_schema(), phases)

    async def loop() -> list[float]:
        contexts = [context_for(backend, ADMIN) for _ in range(iterations + WARMUP)]
        times = []
        for number, context in enumerate(contexts):
            started = time.perf_counter()
            result = await schema.execute(workload.query, workload.variables, context_value=context)
            elapsed = time.perf_counter() - started
            if result.errors:
                raise RuntimeError(f"{workload.name} in process: {result.errors}")
            if number >= WARMUP:
                times.append(elapsed)
        return times

    latency = Latency.of(asyncio.run(loop()))
    measured = phases[WARMUP:]
    return GraphQLExecution(
        operation=workload.name,
        latency=latency,
        phases_p50_ms={
            phase: percentile([sample[phase] for sample in measured], 0.5) * 1000
            for phase in ("parse", "validate", "execute")
        },
    )


def targets(result: LatencyResult) -> list[Target]:
    found = []
    page = result.overhead[0]
    found.append(Target(
        name=f"overhead: {page.operation} over HTTP / the same DynamoDB calls direct (p50)",
        target=f"<= {PAGE_RATIO_TARGET}x",
        measured=f"{page.ratio_p50:.2f}x ({page.http.p50_ms:.1f} ms / {page.direct.p50_ms:.1f} ms)",
        met=page.ratio_p50 <= PAGE_RATIO_TARGET,
    ))
    for execution in result.graphql:
        if execution.operation == page.operation:
            found.append(Target(
                name=f"GraphQL execution in process, {execution.operation} (p50)",
                target=f"<= {GRAPHQL_TARGET_MS} ms",
                measured=f"{execution.latency.p50_ms:.2f} ms (p99 {execution.latency.p99_ms:.2f} ms)",
                met=execution.latency.p50_ms <= GRAPHQL_TARGET_MS,
            ))
    found.append(page_execution.target(result.page))
    return found
