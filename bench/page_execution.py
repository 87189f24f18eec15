"""Part 3c: the full-field 20-channel page executed by the service's schema against graphql-core alone.

(a) The service: `schema.execute` of `queries.PAGE` with a prebuilt context (fresh DataLoaders each
time), its reads answered from memory (bench.in_process.MemoryTable), its parser and validation
caches warm. (b) graphql-core alone, the floor of this stack: `graphql.execute` of the same parsed
document on `graphql.build_schema(<the service's SDL>)`, with the service's own answer as plain dicts
for root value, graphql-core's default resolvers and the SDL's DateTime as a pass-through scalar (its
values already formatted strings). Both answer the same data (checked). The two alternate in one loop,
so that both see the same machine; the ratio is of the medians.

`python -m bench.page_execution [--iterations N] [--profile]` runs this part alone on an in-process
embedded backend; `--profile` prints where the service's execution spends its time (cProfile).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import time
from dataclasses import dataclass
from typing import Any

import graphql
from anyio import to_thread

from bench import queries
from bench.in_process import context_for
from bench.stats import Latency
from bench.targets import Target
from bench.workload import ADMIN
from schema.schema import ChannelsSchema, build_schema, export_sdl
from services.backend import ChannelsBackend

WARMUP = 20
PAGE_SIZE = 20
RATIO_TARGET = 1.5
VARIABLES: dict[str, Any] = {"first": PAGE_SIZE}


@dataclass(frozen=True)
class PageExecution:
    operation: str
    fields: int  # leaf and object fields in the answer (what both executors resolve)
    service: Latency  # schema.execute, whole (cached parse and validation, extensions, execution)
    service_execute_p50_ms: float  # of which the execution phase (what the extensions see of it)
    graphql_core: Latency  # graphql.execute alone, default resolvers over plain dicts
    ratio_p50: float
    # One empty trip to anyio's thread pool, timed in the same loop: the service's page makes one (its
    # blocking reads) and graphql-core alone none; its wake-ups are what moves most with the machine.
    thread_trip_p50_ms: float = 0.0

    @property
    def met(self) -> bool:
        return self.ratio_p50 <= RATIO_TARGET


def count_fields(value: object) -> int:
    """Fields in a GraphQL answer: every key of every object, lists walked."""
    if isinstance(value, dict):
        return sum(1 + count_fields(inner) for inner in value.values())
    if isinstance(value, list):
        return sum(count_fields(inner) for inner in value)
    return 0


def measure(backend: ChannelsBackend, iterations: int) -> PageExecution:
    """Both executions of queries.PAGE as the admin, alternated, over `backend` (reads from memory)."""
    return asyncio.run(_measure(backend, iterations))


async def _measure(backend: ChannelsBackend, iterations: int) -> PageExecution:
    schema = build_schema()
    bare = graphql.build_schema(export_sdl())
    document = graphql.parse(queries.PAGE)
    if errors := graphql.validate(bare, document):
        raise RuntimeError(f"page execution: the page does not validate on the bare schema: {errors}")
    expected = await _service_answer(schema, backend)
    root = expected  # the answer as plain dicts: graphql-core's default resolvers read each key

    def bare_execute() -> None:
        result = graphql.execute(bare, document, root_value=root, variable_values=VARIABLES)
        assert isinstance(result, graphql.ExecutionResult)  # no async resolver: a result, not an awaitable
        if result.errors or result.data != expected:
            raise RuntimeError(f"page execution: graphql-core alone answered otherwise: {result.errors}")

    service_times, bare_times, trip_times = [], [], []
    for number in range(WARMUP + iterations):
        context = context_for(backend, ADMIN)
        started = time.perf_counter()
        result = await schema.execute(queries.PAGE, VARIABLES, context_value=context)
        service_elapsed = time.perf_counter() - started
        if result.errors or result.data != expected:
            raise RuntimeError(f"page execution: the service answered otherwise: {result.errors}")
        started = time.perf_counter()
        bare_execute()
        bare_elapsed = time.perf_counter() - started
        started = time.perf_counter()
        await to_thread.run_sync(_nothing)
        trip_elapsed = time.perf_counter() - started
        if number >= WARMUP:
            service_times.append(service_elapsed)
            bare_times.append(bare_elapsed)
            trip_times.append(trip_elapsed)
    service, alone = Latency.of(service_times), Latency.of(bare_times)
    return PageExecution(
        operation=f"channels(first: {PAGE_SIZE}), every field",
        fields=count_fields(expected),
        service=service,
        service_execute_p50_ms=await _execute_phase_p50(backend, iterations),
        graphql_core=alone,
        ratio_p50=service.p50_ms / alone.p50_ms,
        thread_trip_p50_ms=Latency.of(trip_times).p50_ms,
    )


def _nothing() -> None:
    return None


async def _service_answer(schema: ChannelsSchema, backend: ChannelsBackend) -> dict[str, Any]:
    result = await schema.execute(queries.PAGE, VARIABLES, context_value=context_for(backend, ADMIN))
    if result.errors or result.data is None:
        raise RuntimeError(f"page execution: {result.errors}")
    data: dict[str, Any] = result.data
    if len(data["channels"]["edges"]) != PAGE_SIZE:
        raise RuntimeError(f"page execution: the page has {len(data['channels']['edges'])} channels, not {PAGE_SIZE}")
    return data


async def _execute_phase_p50(backend: ChannelsBackend, iterations: int) -> float:
    """The execution phase alone (bench.in_process.PhaseTimer), median, ms."""
    from bench.in_process import timed

    sink: list[dict[str, float]] = []
    schema = timed(build_schema(), sink)
    for _ in range(WARMUP + iterations):
        await schema.execute(queries.PAGE, VARIABLES, context_value=context_for(backend, ADMIN))
    measured = sorted(sample["execute"] for sample in sink[WARMUP:])
    return measured[len(measured) // 2] * 1000


def profile(backend: ChannelsBackend, executions: int = 200, lines: int = 30) -> str:
    """Where the service's execution of the page spends its time: cProfile, by own time."""

    async def run() -> None:
        schema = build_schema()
        for _ in range(WARMUP):
            await schema.execute(queries.PAGE, VARIABLES, context_value=context_for(backend, ADMIN))
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(executions):
            await schema.execute(queries.PAGE, VARIABLES, context_value=context_for(backend, ADMIN))
        profiler.disable()
        stats.append(profiler)

    stats: list[cProfile.Profile] = []
    asyncio.run(run())
    out = io.StringIO()
    printed = pstats.Stats(stats[0], stream=out)
    printed.sort_stats("tottime").print_stats(lines)
    printed.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def target(result: PageExecution) -> Target:
    return Target(
        name=f"page execution in process, {result.operation}, service / graphql-core alone (p50)",
        target=f"<= {RATIO_TARGET}x",
        measured=f"{result.ratio_p50:.2f}x ({result.service.p50_ms:.2f} ms / {result.graphql_core.p50_ms:.2f} ms)",
        met=result.met,
    )


def standalone(iterations: int) -> tuple[ChannelsBackend, PageExecution]:
    """This part on its own: an embedded backend in this process, seeded as part 1 seeds it, its page's
    reads recorded once and then answered from memory."""
    import uuid

    from bench.in_process import RecordingTable, backend_over, in_memory
    from bench.local_service import local_service
    from bench.round_trips import seeded_channels
    from bench.seed import set_capacity_counter, write_channels
    from bench.workload import Workload, execute

    with local_service(f"bench-page-{uuid.uuid4().hex[:8]}", limit=1000) as local:
        channels = seeded_channels(local.seal)
        write_channels(local.service.table, channels)
        set_capacity_counter(local.service.table, channels)
        cipher = local.service.backend.stream_keys
        recorded = RecordingTable(local.service.clients.dynamodb, local.service.table.name)
        backend = backend_over(recorded, local.service.clients, cipher.kms_key_id if cipher else None, 1000)
        execute(backend, Workload("page", queries.PAGE, VARIABLES))  # records the reads, caches the data key
        memory = in_memory(backend, recorded)
        return memory, measure(memory, iterations)


def main() -> None:
    import argparse

    arguments = argparse.ArgumentParser(prog="python -m bench.page_execution", description=__doc__)
    arguments.add_argument("--iterations", type=int, default=300)
    arguments.add_argument("--profile", action="store_true", help="also print cProfile's view of the service's run")
    parsed = arguments.parse_args()
    backend, result = standalone(parsed.iterations)
    print(render(result))
    if parsed.profile:
        print(profile(backend))


def render(result: PageExecution) -> str:
    from bench.report import table

    return table(
        ["request", "fields", "service p50", "of which execute", "p99", "graphql-core alone p50", "p99", "ratio p50",
         "thread-pool trip p50 (beside)"],
        [[result.operation, result.fields, f"{result.service.p50_ms:.2f}", f"{result.service_execute_p50_ms:.2f}",
          f"{result.service.p99_ms:.2f}", f"{result.graphql_core.p50_ms:.2f}", f"{result.graphql_core.p99_ms:.2f}",
          f"{result.ratio_p50:.2f}x", f"{result.thread_trip_p50_ms:.3f}"]],
    )


if __name__ == "__main__":
    main()
