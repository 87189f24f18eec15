"""`python -m bench --section peer` (issue 30; docs/performance.md, "Against a Node peer"): the service
beside the Node peer (bench/peer/server.mjs) on one replayed backend, which fails the run on any request
of the peer's the service did not make; answers checked equal first. Per operation, alternating rounds
(the first warms up) of one connection (p50) then 16 (throughput, server CPU per request from /proc),
medians of per-round ratios; then the floor beside the peer, then where each side's CPU goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.added import Replayed, answer_of, replayed, requests
from bench.load import load_window, machine_busy_ticks, request_bytes
from bench.peer.profiles import profile_peer, profile_service
from bench.processes import Server, floor_service, node_peer
from bench.report import Part, load_average
from bench.scenarios import Request

SIDES = ("service", "peer")
FIGURES = ("p50_ms", "requests_per_second", "cpu_ms_per_request")
PROFILE_SECONDS = 4


@dataclass(frozen=True)
class PeerPlan:
    rounds: int  # counted rounds (one more warms up)
    seconds: float  # each load window


FULL, QUICK = PeerPlan(rounds=5, seconds=3.0), PeerPlan(rounds=1, seconds=0.5)


@dataclass(frozen=True)
class SideBySide:
    run: Replayed
    servers: dict[str, Server]
    token: str
    jwks_url: str


@contextlib.contextmanager
def side_by_side() -> Iterator[SideBySide]:
    """The replayed service and the peer on the same backend, their answers checked equal."""
    with replayed("bench-peer") as run:
        token = run.service.token()
        jwks_url = f"http://127.0.0.1:{run.service.port}/.well-known/jwks.json"  # the embedded service's dev key
        with node_peer(run.backend.recorder, run.table, jwks_url, run.service.admin_group) as peer:
            for request in requests():
                ours, theirs = json.loads(run.answers[request.name]), answer_of(peer, token, request)
                if theirs != ours:
                    raise RuntimeError(f"{request.name}: the peer answered {json.dumps(theirs)[:300]}, "
                                       f"the service {json.dumps(ours)[:300]}")
            yield SideBySide(run, {"service": run.service, "peer": peer}, token, jwks_url)


def request_of(server: Server, token: str, request: Request) -> bytes:
    return request_bytes(server.port, "/graphql", request.body,
                         {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})


def window(server: Server, request: bytes, seconds: float) -> dict[str, float]:
    p50_ms = asyncio.run(load_window(server, request, 1, seconds))[0]
    _, per_second, cpu_ms = asyncio.run(load_window(server, request, 16, seconds))
    return dict(zip(FIGURES, (p50_ms, per_second, cpu_ms), strict=True))


def rounds(both: SideBySide, servers: dict[str, Server], plan: PeerPlan, request: Request) -> dict[str, list[dict]]:
    """Each side's windows, alternated (the order flips every round), the warm-up round left out."""
    windows: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    for number in range(plan.rounds + 1):
        for side in SIDES if number % 2 == 0 else SIDES[::-1]:
            measured = window(servers[side], request_of(servers[side], both.token, request), plan.seconds)
            if number > 0:
                windows[side].append(measured)
    return windows


def ratio_row(operation: str, windows: dict[str, list[dict[str, float]]], ratios: dict[str, Any]) -> dict[str, Any]:
    """The medians of each side and of the per-round ratios (kept in `ratios` too, as numbers)."""
    row: dict[str, Any] = {"operation": operation}
    for figure in FIGURES:
        each = [s[figure] / p[figure] for s, p in zip(windows["service"], windows["peer"], strict=True)]
        ratios.setdefault(operation, {})[figure] = statistics.median(each)
        row[figure] = " vs ".join(f"{statistics.median(w[figure] for w in windows[side]):.2f}" for side in SIDES)
        row[f"ratio {figure}"] = f"{statistics.median(each):.2f}x ({min(each):.2f}-{max(each):.2f})"
    return row


def measure(plan: PeerPlan, *, profiles: bool = True) -> list[Part]:
    before = load_average()
    busy_before, total_before = machine_busy_ticks()
    rows: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    profiled: list[Part] = []
    cpu: dict[str, dict[str, float]] = {}
    ratios: dict[str, Any] = {}
    floor_ratios: dict[str, Any] = {}
    with side_by_side() as both:
        for request in requests():
            windows = rounds(both, both.servers, plan, request)
            rows.append(ratio_row(request.name, windows, ratios))
            cpu[request.name] = {side: statistics.median(w["cpu_ms_per_request"] for w in windows[side]) for side in SIDES}
            with floor_service(both.run.backend.recorder, both.run.calls[request.name],
                               both.run.answers[request.name]) as floor:
                floor_windows = rounds(both, {**both.servers, "service": floor}, plan, request)
                floors.append(ratio_row(request.name, floor_windows, floor_ratios))
            if profiles:
                peer_of = functools.partial(node_peer, both.run.backend.recorder, both.run.table, both.jwks_url,
                                            both.run.service.admin_group)
                for side, shares in (
                        ("service", profile_service(both.run.service, request_of(both.run.service, both.token, request),
                                                    PROFILE_SECONDS)),
                        ("peer", profile_peer(peer_of, lambda peer: request_of(peer, both.token, request),
                                              PROFILE_SECONDS))):
                    gil = " of the thread holding the GIL" if side == "service" else ""
                    profiled.append(Part(f"Where the CPU goes, {request.name}, {side} ({shares.pop('samples'):.0f} "
                                         f"samples{gil}; ms of CPU per request)",
                                         [{"group": group, "share": f"{share:.0%}",
                                           "ms/request": share * cpu[request.name][side]}
                                          for group, share in shares.items()]))
        replay = both.run.backend.stats()
    busy, total = (now - then for now, then in zip(machine_busy_ticks(), (busy_before, total_before), strict=True))
    note = (f"Replayed backend: {replay['recorded']} calls recorded, {replay['replayed']} replayed, {replay['missed']} "
            f"missed. Machine busy {busy / total:.0%} of all cores; load average {before} before / {load_average()} after.")
    return [Part(f"The service against the Node peer: {plan.rounds} rounds of {plan.seconds:g} s windows, service vs "
                 "peer (p50 at c=1, req/s at c=16, server CPU ms/request), medians of per-round ratios (lowest-highest)",
                 rows, notes=[note], facts={"replay": replay, "ratios": ratios}),
            Part("The stack's floor (bench.processes: uvicorn, one thread-pool trip for the same boto3 calls, the same "
                 "answer; no GraphQL, no token check) against the peer, floor vs peer", floors,
                 facts={"ratios": floor_ratios}), *profiled]
