"""Part 3b (`python -m bench --section replayed`): what the service adds over the same DynamoDB calls
made directly, on a replayed backend that costs next to nothing (docs/performance.md, "The service's own
cost on a fast backend"). Each request is sent twice while the backend records; the DynamoDB calls it
logged for the second (steady state) are the direct calls, sent through stock boto3 to the replaying
backend, alternately with the request over HTTP; p50s. The floor is timed the same way.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench import scenarios as s
from bench.processes import Server, direct_calls, floor_service, graphql_client, served_service, stock_dynamodb
from bench.replay_backend import Backend, replay_backend
from bench.report import Part, Target, latency

WARMUP = 5  # untimed samples of each kind before the timed ones
# Issue #12's targets: what the service adds over the same calls made directly (p50 ms).
ADDED_TARGETS_MS = {"channel(id)": 1.5, "channels(first: 20), every field": 5.0}


def requests() -> list[s.Request]:
    known = s.seeded_channels()[-2]
    return [s.Request("channel(id)", s.CHANNEL, {"id": known.id}),
            s.Request("channels(first: 20), every field", s.PAGE, {"first": 20})]


@dataclass(frozen=True)
class Replayed:
    """The seeded service over a replaying backend, with what it answered and called for each request."""

    backend: Backend
    service: Server
    table: str
    answers: dict[str, bytes]
    calls: dict[str, list[dict[str, Any]]]  # each request's DynamoDB calls, steady state


@contextlib.contextmanager
def replayed(table: str) -> Iterator[Replayed]:
    """Seed, record each request's calls (the second of two), switch the backend to replaying; on the way
    out, fail if anything asked of it was not recorded."""
    with replay_backend() as backend, served_service(table, backend.recorder) as service:
        s.seed(backend.emulator, table, service.kms_key_id, s.seeded_channels)
        answers, calls = {}, {}
        with graphql_client(service.port, service.token()) as post:
            for request in requests():
                post(request.body)
                before = backend.stats()["recorded"]
                answers[request.name] = post(request.body)
                calls[request.name] = [call for call in backend.calls(before) if call["service"] == "dynamodb"]
        backend.replay()
        yield Replayed(backend, service, table, answers, calls)
        stats = backend.stats()
        if stats["missed"]:
            raise RuntimeError(f"the replayed backend missed {stats['missed']} calls: a request not recorded")


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def compare(server: Server, request: s.Request, direct: Callable[[], None], iterations: int) -> dict[str, Any]:
    """p50/p99 of the request over HTTP and of its direct calls, alternated; ms."""
    over_http, direct_times = [], []
    with graphql_client(server.port, server.token() if server.dev_key else "") as post:
        for number in range(WARMUP + iterations):
            http_seconds, direct_seconds = _timed(lambda: post(request.body)), _timed(direct)
            if number >= WARMUP:
                over_http.append(http_seconds)
                direct_times.append(direct_seconds)
    return {"http": latency(over_http), "direct": latency(direct_times)}


def measure(iterations: int) -> Part:
    rows, targets = [], []
    with replayed("bench-replayed") as run:
        client = stock_dynamodb(run.backend.recorder)
        for request in requests():
            calls = run.calls[request.name]
            direct = direct_calls(client, calls)
            service = compare(run.service, request, direct, iterations)
            with floor_service(run.backend.recorder, calls, run.answers[request.name]) as floor_server:
                floor = compare(floor_server, request, direct, iterations)
            added, floor_added = (m["http"]["p50_ms"] - m["direct"]["p50_ms"] for m in (service, floor))
            rows.append({"request": request.name, "calls": [call["operation"] for call in calls],
                         "HTTP": service["http"]["p50_ms"], "direct": service["direct"]["p50_ms"], "added": added,
                         "ratio": f"{service['http']['p50_ms'] / service['direct']['p50_ms']:.2f}x",
                         "p99 added": service["http"]["p99_ms"] - service["direct"]["p99_ms"],
                         "floor added": floor_added, "samples": service["http"]["samples"]})
            wanted = ADDED_TARGETS_MS[request.name]
            targets.append(Target(
                f"{request.name} over HTTP, added over direct boto3, replayed backend (p50)", f"<= +{wanted} ms",
                f"+{added:.2f} ms ({service['http']['p50_ms']:.2f} / {service['direct']['p50_ms']:.2f} ms; "
                f"the stack's floor +{floor_added:.2f} ms)", added <= wanted))
        client.close()
        stats = run.backend.stats()
    note = (f"Replayed backend: {stats['recorded']} calls recorded from moto, {stats['replayed']} replayed, "
            f"{stats['missed']} missed. Floor: bench.processes' bare ASGI app on the same uvicorn, making the same "
            "calls in one thread-pool trip and answering the service's bytes.")
    return Part("3b. What the service adds over the same DynamoDB calls made directly, replayed backend (p50 ms)",
                rows, targets, [note], {"replay": stats})


def answer_of(server: Server, token: str, request: s.Request) -> Any:
    """The answer to `request` (sent twice: the second with every cache as warm as under load)."""
    with graphql_client(server.port, token) as post:
        post(request.body)
        return json.loads(post(request.body))
