"""The service beside the Node peer (issue 30): same documents, same table, same backend, alternating rounds.

Both servers read one replayed backend (bench.replay_backend): the service's DynamoDB and KMS calls are
recorded from the moto the benchmark seeded, then the backend switches to replaying and both servers are
served from the recording. A replayed call costs the backend a dictionary lookup, the same for both
sides, and any request of the peer's that is not one the service made misses and fails the run: the
peer's DynamoDB requests are the service's. Before any timing, each side's answer to each document must
be the other's (equal JSON).

Each round loads each side in turn (the order flips every round) with bench.raw_load, per operation:
one connection (p50 latency), then 16 (throughput, and the server's CPU per request from /proc over
that window). The figures are medians of the per-round ratios (service / peer), which cancel most of a
shared machine's drift; the first round warms both (V8's JIT, caches) and is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench import queries
from bench.calls import AwsCall
from bench.cpu_usage import MachineCpu, children, process_cpu_seconds
from bench.fast_backend import record_direct_calls
from bench.jwks_server import served_jwks
from bench.local_service import BENCH_ADMIN
from bench.peer.peer_process import node_peer
from bench.raw_load import OpenConnections, request_bytes
from bench.replay_client import Scenario, graphql_sender, replay_control, replayed_backend
from bench.round_trips import seeded_channels
from bench.service_process import served_service
from bench.workload import Workload, prepare
from data.clients import AwsConnection

TABLE = "bench-peer"
LIMIT = 1000
SIDES = ("service", "peer")
LATENCY_CONNECTIONS = 1
THROUGHPUT_CONNECTIONS = 16


@dataclass(frozen=True)
class PeerPlan:
    rounds: int  # counted rounds (one more warms up)
    seconds: float  # each load window

    @classmethod
    def full(cls) -> PeerPlan:
        return cls(rounds=5, seconds=3.0)

    @classmethod
    def quick(cls) -> PeerPlan:
        return cls(rounds=1, seconds=0.5)


@dataclass(frozen=True)
class Window:
    """One side, one operation, one round."""

    p50_ms: float  # one connection
    requests_per_second: float  # 16 connections
    cpu_ms_per_request: float  # the server process's CPU over the 16-connection window


@dataclass
class PeerRow:
    operation: str
    service: list[Window] = field(default_factory=list)
    peer: list[Window] = field(default_factory=list)

    def ratio(self, figure: str) -> float:
        """The median over rounds of service / peer for one of Window's figures."""
        return statistics.median(getattr(s, figure) / getattr(p, figure)
                                 for s, p in zip(self.service, self.peer, strict=True))

    def spread(self, figure: str) -> tuple[float, float]:
        ratios = [getattr(s, figure) / getattr(p, figure) for s, p in zip(self.service, self.peer, strict=True)]
        return min(ratios), max(ratios)

    def median(self, side: str, figure: str) -> float:
        return statistics.median(getattr(window, figure) for window in getattr(self, side))


def scenarios() -> list[Scenario]:
    known = seeded_channels(None)[-2]
    return [
        Scenario("channel(id)", (Workload("channel(id)", queries.CHANNEL, {"id": known.id}),)),
        Scenario("channels(first: 20) with stats and hosts",
                 (Workload("channels(first: 20)", queries.PAGE, {"first": 20}),)),
    ]


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@dataclass(frozen=True)
class SideBySide:
    """Both servers over one replayed backend, every answer checked equal; what the rounds load."""

    servers: dict[str, Server]
    token: str
    replay_url: str
    connection: AwsConnection  # the replayed backend's
    table: str
    jwks_url: str
    admin_group: str
    kms_key_id: str | None  # of the stream keys sealed in the table
    answers: dict[str, object]  # each scenario's answer, the same from both
    calls: dict[str, list[AwsCall]]  # each scenario's DynamoDB calls, as the service makes them


@contextlib.contextmanager
def side_by_side() -> Iterator[SideBySide]:
    """Seed moto, record the service's calls through the replayed backend, switch it to replaying, start
    the peer on it and check that both answer every scenario alike."""
    with served_service(TABLE, LIMIT) as seeded:
        prepared = prepare(seeded, LIMIT)
        calls = {scenario.name: record_direct_calls(prepared.backend, prepared, scenario) for scenario in scenarios()}
        with replayed_backend(seeded.connection.endpoint_url or "") as replay_url:
            connection = dataclasses.replace(seeded.connection, endpoint_url=replay_url)
            before = set(children(os.getpid()))
            with served_service(seeded.table, LIMIT, backend=connection, kms_key_id=seeded.kms_key_id) as service:
                (service_pid,) = set(children(os.getpid())) - before
                token = service.token(BENCH_ADMIN, admin=True)
                answers = {scenario.name: answer_of(service.port, token, scenario) for scenario in scenarios()}
                replay_control(replay_url, "POST", "/__replay__/replay")
                with served_jwks(service.dev_key.jwks()) as jwks_url, \
                        node_peer(connection, seeded.table, jwks_url, service.admin_group) as peer:
                    for scenario in scenarios():
                        theirs = answer_of(peer.port, token, scenario)
                        if theirs != answers[scenario.name]:
                            raise RuntimeError(f"{scenario.name}: the peer answered {json.dumps(theirs)[:300]}, "
                                               f"the service {json.dumps(answers[scenario.name])[:300]}")
                    yield SideBySide({"service": Server(service.port, service_pid), "peer": Server(peer.port, peer.pid)},
                                     token, replay_url, connection, seeded.table, jwks_url, service.admin_group,
                                     seeded.kms_key_id, answers, calls)


def answer_of(port: int, token: str, scenario: Scenario) -> object:
    answers: list[bytes] = []
    with graphql_sender(port, token, scenario, answers) as send:
        send()
        send()  # the second: every cache as warm as under load
    return json.loads(answers[-1])


def request_of(port: int, token: str, scenario: Scenario) -> bytes:
    (step,) = scenario.steps
    return request_bytes(port, "/graphql", step.body, {"Content-Type": "application/json",
                                                       "Authorization": f"Bearer {token}"})


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds of the server and of its children (the service validates new documents in one)."""
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(child) for child in children(pid))


async def load_window(server: Server, request: bytes, connections: int, seconds: float) -> tuple[float, float, float]:
    """p50 ms, requests per second and the server's CPU ms per request of one window."""
    opened = await OpenConnections.open(server.port, request, connections)
    try:
        cpu_before = server_cpu_seconds(server.pid)
        load = await opened.run(seconds)
        cpu = server_cpu_seconds(server.pid) - cpu_before
    finally:
        opened.close()
    return load.latency.p50_ms, load.requests_per_second, cpu * 1000 / load.requests


def window(server: Server, request: bytes, seconds: float) -> Window:
    p50_ms, _, _ = asyncio.run(load_window(server, request, LATENCY_CONNECTIONS, seconds))
    _, per_second, cpu_ms = asyncio.run(load_window(server, request, THROUGHPUT_CONNECTIONS, seconds))
    return Window(p50_ms, per_second, cpu_ms)


@dataclass(frozen=True)
class Rounds:
    rows: list[PeerRow]
    machine_busy_share: float  # of all cores, during the rounds (the load generator and backend included)


def run_rounds(both: SideBySide, plan: PeerPlan) -> Rounds:
    rows = [PeerRow(scenario.name) for scenario in scenarios()]
    requests = {side: [request_of(both.servers[side].port, both.token, scenario) for scenario in scenarios()]
                for side in SIDES}
    machine_before = MachineCpu.now()
    for number in range(plan.rounds + 1):
        order = SIDES if number % 2 == 0 else SIDES[::-1]
        for index, row in enumerate(rows):
            for side in order:
                measured = window(both.servers[side], requests[side][index], plan.seconds)
                if number > 0:  # round 0 warms up
                    getattr(row, side).append(measured)
    machine = MachineCpu.now() - machine_before
    return Rounds(rows, machine.busy / machine.total)


def replay_stats(both: SideBySide) -> dict[str, int]:
    """The replayed backend's counts; fails the run if the peer sent a request the service did not."""
    stats = replay_control(both.replay_url, "GET", "/__replay__/stats")
    if stats["missed"]:
        raise RuntimeError(f"the replayed backend missed {stats['missed']} calls: a request the service did not make")
    return {key: int(stats[key]) for key in ("recorded", "replayed", "missed")}
