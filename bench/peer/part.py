"""`python -m bench --section peer`: the side-by-side rounds and both profiles, as tables and as JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bench.cpu_usage import load_average
from bench.peer.profiles import Profile, profile_peer, profile_service
import json
import os

from bench.cpu_usage import children
from bench.floor import FloorPlan, floor_service
from bench.peer.side_by_side import (
    SIDES,
    PeerPlan,
    PeerRow,
    Server,
    SideBySide,
    replay_stats,
    request_of,
    run_rounds,
    scenarios,
    side_by_side,
    window,
)
from bench.report import table

PROFILE_SECONDS = 4


@dataclass(frozen=True)
class PeerResult:
    plan: PeerPlan
    rows: list[PeerRow]
    floor: list[PeerRow]  # bench.floor's bare app (as "service") against the peer
    profiles: list[Profile]
    replay: dict[str, int]  # recorded, replayed, missed (0, or the run fails)
    machine_busy_share: float
    load_average_before: str
    load_average_after: str


def measure(plan: PeerPlan, *, profiles: bool = True) -> PeerResult:
    before = load_average()
    with side_by_side() as both:
        rounds = run_rounds(both, plan)
        floor = floor_rounds(both, plan)
        found = ([*profile_service(both, PROFILE_SECONDS, gil_only=True), *profile_peer(both, PROFILE_SECONDS)]
                 if profiles else [])
        stats = replay_stats(both)
    return PeerResult(plan, rounds.rows, floor, found, stats, rounds.machine_busy_share, before, load_average())


def floor_rounds(both: SideBySide, plan: PeerPlan) -> list[PeerRow]:
    """The stack's floor against the peer: bench.floor's bare app on the same uvicorn, making the service's
    very DynamoDB calls (one thread-pool trip, stock boto3) and answering the service's answer, without
    GraphQL, token check or middleware; alternating rounds as the service's."""
    rows = []
    for scenario in scenarios():
        row = PeerRow(scenario.name)
        answer = json.dumps(both.answers[scenario.name], separators=(",", ":")).encode()
        before = set(children(os.getpid()))
        with floor_service(both.connection, FloorPlan(both.calls[scenario.name], answer)) as started:
            (pid,) = set(children(os.getpid())) - before
            servers = {"service": Server(started.port, pid), "peer": both.servers["peer"]}
            for number in range(plan.rounds + 1):
                for side in SIDES if number % 2 == 0 else SIDES[::-1]:
                    measured = window(servers[side], request_of(servers[side].port, both.token, scenario), plan.seconds)
                    if number > 0:
                        getattr(row, side).append(measured)
        rows.append(row)
    return rows


def _range(row: PeerRow, figure: str) -> str:
    low, high = row.spread(figure)
    return f"{row.ratio(figure):.2f}x ({low:.2f}-{high:.2f})"


def render(result: PeerResult) -> str:
    rows = result.rows
    parts = [
        f"## The service against the Node peer (bench/peer/server.mjs): {result.plan.rounds} rounds of "
        f"{result.plan.seconds:g} s windows, service / peer, medians of per-round ratios (lowest-highest round)",
        table(["operation", "p50 at c=1, ms", "ratio", "req/s at c=16", "ratio", "server CPU ms/request", "ratio"],
              [[r.operation, f"{r.median('service', 'p50_ms'):.2f} vs {r.median('peer', 'p50_ms'):.2f}",
                _range(r, "p50_ms"),
                f"{r.median('service', 'requests_per_second'):.0f} vs {r.median('peer', 'requests_per_second'):.0f}",
                _range(r, "requests_per_second"),
                f"{r.median('service', 'cpu_ms_per_request'):.2f} vs {r.median('peer', 'cpu_ms_per_request'):.2f}",
                _range(r, "cpu_ms_per_request")] for r in rows]),
        "",
        "The stack's floor (bench/floor.py: uvicorn, one thread-pool trip for the same boto3 calls, the same answer; "
        "no GraphQL, no token check) against the peer, floor / peer:",
        table(["operation", "p50 at c=1", "req/s at c=16", "server CPU per request"],
              [[r.operation, _range(r, "p50_ms"), _range(r, "requests_per_second"), _range(r, "cpu_ms_per_request")]
               for r in result.floor]),
        "",
        f"Replayed backend: {result.replay['recorded']} calls recorded, {result.replay['replayed']} replayed, "
        f"{result.replay['missed']} missed. Machine busy {result.machine_busy_share:.0%} of all cores during the "
        f"rounds; load average {result.load_average_before} before / {result.load_average_after} after.",
    ]
    for operation in dict.fromkeys(profile.operation for profile in result.profiles):
        found = {p.side: p for p in result.profiles if p.operation == operation}
        cpu = {side: next(r for r in rows if r.operation == operation).median(side, "cpu_ms_per_request")
               for side in found}
        parts += ["", f"### Where the CPU goes, {operation}: share of samples (ms of CPU per request)"]
        for side, profile in found.items():
            samples = "samples of the thread holding the GIL" if side == "service" else "samples"
            parts.append(table([f"{side} ({profile.samples} {samples})", "share", "ms/request"],
                               [[group, f"{share:.0%}", f"{share * cpu[side]:.2f}"]
                                for group, share in profile.shares.items()]))
    return "\n".join(parts) + "\n"


def to_json(result: PeerResult) -> dict[str, Any]:
    document = dataclasses.asdict(result)
    document["ratios"] = {row.operation: {figure: row.ratio(figure) for figure in
                                          ("p50_ms", "requests_per_second", "cpu_ms_per_request")} for row in result.rows}
    return document
