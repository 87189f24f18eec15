"""`python -m bench.workers [--seconds S] [--concurrency C] [--rounds R]`: throughput of
`shelcaster-channels serve --workers N` for N = 1 and 2, in aws mode against the replayed backend
(bench.replay_backend), with the CPU that every party spends per request.

The service runs as the container runs it (aws mode, tokens checked against a JWKS served here with
the dev key), with its AWS endpoint the replayed backend, so that the backend is not what limits it.
Both services (1 and 2 workers) run at once and are loaded in turn, R rounds, so that each pair of
figures is measured under the same load of the machine. The load (bench.raw_load: pre-built requests
on keep-alive connections) and the replayed backend run on the same machine as the workers, so they
take some of its cores; each window therefore reads, from /proc, the CPU seconds of every worker
process, of the supervisor, of the load generator (this process) and of the replayed backend, and how
busy the whole machine was. From them: the CPU per request of each party, and the ceiling the cores
allow, `cores / total CPU per request` (and no more than 1 core per worker process), so the figures
say whether the workers reach what this machine can give them. Each round also runs
bench.machine_scaling (a pure-Python loop in 1 process, then in 2): on a shared host, what two busy
processes get of the two cores moves from minute to minute, and that ratio bounds the workers' own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from app.dev_keys import DEV_AUDIENCE, DEV_ISSUER
from bench import machine_scaling
from bench.cpu_usage import (
    MachineCpu, accepted_connections, children, command_line, listens_on, load_average, process_cpu_seconds,
    socket_inodes,
)
from bench.fast_backend import scenarios
from bench.jwks_server import served_jwks
from bench.local_service import BENCH_ADMIN
from bench.machine_scaling import MachineScaling
from bench.replay_client import graphql_sender, replay_control, replayed_backend
from bench.raw_load import OpenConnections, request_bytes
from bench.service_process import PROJECT_ROOT, ServedService, served_service
from bench.targets import Target
from bench.workload import Prepared, prepare

TABLE = "bench-workers"
LIMIT = 1000
WARMUP_SECONDS = 1.0
MACHINE_SECONDS = 1.0  # each window of the machine's own 2-vs-1 probe, once a round


@dataclass(frozen=True)
class WorkerShare:
    pid: int
    connections: int
    requests: int
    cpu_seconds: float


@dataclass(frozen=True)
class WorkersThroughput:
    """One load window against one service."""

    workers: int
    operation: str
    concurrency: int
    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    shares: tuple[WorkerShare, ...]
    supervisor_cpu: float  # the parent uvicorn process with 2 workers (0 with 1: it is the worker)
    load_cpu: float  # this process: the load generator
    backend_cpu: float  # the replayed backend
    machine_busy: float  # CPU seconds the whole machine spent in the window (ours and everyone else's)
    cores: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def per_request_ms(self, cpu_seconds: float) -> float:
        return 1000 * cpu_seconds / self.requests

    @property
    def workers_cpu(self) -> float:
        return sum(share.cpu_seconds for share in self.shares) + self.supervisor_cpu

    @property
    def total_cpu(self) -> float:
        return self.workers_cpu + self.load_cpu + self.backend_cpu

    @property
    def others_cores(self) -> float:
        """Cores the rest of the machine (other programs) kept busy meanwhile, on average."""
        return max(0.0, self.machine_busy - self.total_cpu) / self.seconds

    @property
    def ceiling(self) -> float:
        """Requests/s the cores allow at this CPU per request, each worker process at most one core."""
        by_cores = self.cores * self.requests / self.total_cpu
        by_workers = self.workers * self.requests / self.workers_cpu
        return min(by_cores, by_workers)

    @property
    def ceiling_left(self) -> float:
        """The same, with only the cores that other programs left free."""
        by_cores = max(0.0, self.cores - self.others_cores) * self.requests / self.total_cpu
        return min(by_cores, self.workers * self.requests / self.workers_cpu)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningServe:
    service: ServedService
    pid: int  # the `serve` process: the worker with --workers 1, the supervisor with more
    workers: int

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (with several, uvicorn's spawned children, not the
        multiprocessing resource tracker it also starts)."""
        if self.workers == 1:
            return [self.pid]
        return [pid for pid in children(self.pid) if b"multiprocessing.spawn" in command_line(pid)]


@contextlib.contextmanager
def _serve(workers: int, served: ServedService, replay_url: str, jwks_url: str) -> Iterator[RunningServe]:
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("CHANNELS_", "AWS_"))}
    env.update({
        "CHANNELS_BACKEND": "aws", "CHANNELS_ENV": "production", "CHANNELS_TABLE": served.table,
        "CHANNELS_LIMIT": str(LIMIT), "CHANNELS_AUTH_ISSUER": DEV_ISSUER, "CHANNELS_AUTH_AUDIENCE": DEV_AUDIENCE,
        "CHANNELS_AUTH_JWKS_URL": jwks_url, "CHANNELS_AUTH_ADMIN_GROUP": served.admin_group,
        "AWS_ENDPOINT_URL": replay_url, "AWS_REGION": served.connection.region or "us-east-1",
        "AWS_ACCESS_KEY_ID": served.connection.access_key_id or "bench",
        "AWS_SECRET_ACCESS_KEY": served.connection.secret_access_key or "bench",
        **({"CHANNELS_KMS_KEY_ID": served.kms_key_id} if served.kms_key_id else {}),
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve --workers {workers} did not start") from None
                time.sleep(0.1)
        running = RunningServe(ServedService(url, port, served.connection, served.table, served.kms_key_id,
                                             served.admin_group, served.dev_key), process.pid, workers)
        while len(running.worker_pids()) < workers:  # /healthz answers once the first worker is up
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve --workers {workers} started {len(running.worker_pids())} workers")
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def _window(serve: RunningServe, backend_pid: int, body: bytes, token: str, concurrency: int,
            seconds: float, operation: str) -> WorkersThroughput:
    """Open the connections, warm up, then one measured window with every party's CPU read around it."""
    port = serve.service.port
    request = request_bytes(port, "/graphql", body,
                            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    workers = serve.worker_pids()

    async def load() -> WorkersThroughput:
        connections = await OpenConnections.open(port, request, concurrency)
        try:
            owner = _connection_owners(port, connections.client_ports(), workers)
            await connections.run(WARMUP_SECONDS)
            for connection in connections.connections:
                connection.latencies.clear()
            before = _cpu(serve.pid, workers, backend_pid)
            machine_before = MachineCpu.now()
            result = await connections.run(seconds)
            machine = MachineCpu.now() - machine_before
            after = _cpu(serve.pid, workers, backend_pid)
        finally:
            connections.close()
        spent = {pid: after[pid] - before[pid] for pid in after}
        shares = tuple(
            WorkerShare(pid, sum(1 for o in owner.values() if o == pid),
                        sum(n for client, n in result.requests_by_client_port.items() if owner.get(client) == pid),
                        spent[pid])
            for pid in workers
        )
        return WorkersThroughput(
            workers=serve.workers, operation=operation, concurrency=concurrency, seconds=result.seconds,
            requests=result.requests, p50_ms=result.latency.p50_ms, p99_ms=result.latency.p99_ms, shares=shares,
            supervisor_cpu=spent[serve.pid] if serve.workers > 1 else 0.0, load_cpu=spent[os.getpid()],
            backend_cpu=spent[backend_pid], machine_busy=machine.busy, cores=len(os.sched_getaffinity(0)),
        )

    return asyncio.run(load())


def _cpu(serve_pid: int, workers: list[int], backend_pid: int) -> dict[int, float]:
    return {pid: process_cpu_seconds(pid) for pid in {serve_pid, *workers, backend_pid, os.getpid()}}


def _connection_owners(port: int, client_ports: list[int], workers: list[int]) -> dict[int, int]:
    """Which worker process accepted each connection: by the socket inode it holds."""
    accepted = accepted_connections(port)
    holders = {inode: pid for pid in workers for inode in socket_inodes(pid)}
    return {client: holders[accepted[client]] for client in client_ports
            if client in accepted and accepted[client] in holders}


def _backend_pid(replay_url: str) -> int:
    port = int(replay_url.rpartition(":")[2])
    listening = [pid for pid in children(os.getpid()) if listens_on(pid, port)]
    if len(listening) != 1:
        raise RuntimeError(f"the replayed backend's process on port {port} not found: {listening}")
    return listening[0]


@dataclass(frozen=True)
class WorkersResult:
    """Every load window, and what the machine gave a pure-Python loop in 2 processes against 1 in
    each round (bench.machine_scaling): the ceiling of any 2-vs-1 ratio on these cores at that time."""

    windows: list[WorkersThroughput]
    machine: list[MachineScaling]


def measure(prepared: Prepared, *, seconds: float, concurrency: int, rounds: int) -> WorkersResult:
    served = prepared.served
    plans = scenarios(prepared)[:2]  # channel(id) and the full page
    windows, machine = [], []
    with replayed_backend(served.connection.endpoint_url or "") as replay_url, served_jwks(served.dev_key.jwks()) as jwks:
        backend_pid = _backend_pid(replay_url)
        with _serve(1, served, replay_url, jwks) as one, _serve(2, served, replay_url, jwks) as two:
            for scenario in plans:  # record what the service asks, then replay it for every run
                with graphql_sender(one.service.port, one.service.token(BENCH_ADMIN, admin=True), scenario) as send:
                    for _ in range(2):
                        send()
            replay_control(replay_url, "POST", "/__replay__/replay")
            token = served.token(BENCH_ADMIN, admin=True)
            for _ in range(rounds):
                for scenario in plans:
                    (workload,) = scenario.steps
                    for serve in (one, two):  # alternated, so both see the same load of the machine
                        windows.append(_window(serve, backend_pid, workload.body, token, concurrency, seconds,
                                               scenario.name))
                machine.append(machine_scaling.measure(min(seconds, MACHINE_SECONDS)))
        stats = replay_control(replay_url, "GET", "/__replay__/stats")
    if stats["missed"]:
        raise RuntimeError(f"the replayed backend missed {stats['missed']} calls")
    return WorkersResult(windows, machine)


WORKERS_TARGET = 1.7  # issue #12: throughput of 2 workers against 1, fast backend, 2 cores


def ratios(results: list[WorkersThroughput]) -> dict[str, float]:
    """Per operation, the median over the rounds of 2 workers' requests/s over 1 worker's."""
    found = {}
    for operation in dict.fromkeys(r.operation for r in results):
        one = [r for r in results if r.operation == operation and r.workers == 1]
        two = [r for r in results if r.operation == operation and r.workers == 2]
        found[operation] = statistics.median([b.requests_per_second / a.requests_per_second
                                    for a, b in zip(one, two, strict=True)])
    return found


def machine_ratio(result: WorkersResult) -> float:
    """The median over the rounds of what the machine gave 2 looping processes against 1."""
    return statistics.median(probe.ratio for probe in result.machine)


def targets(result: WorkersResult | None) -> list[Target]:
    if not result or not result.windows:
        return []
    machine = (f" (the machine's own 2 vs 1 meanwhile, a Python loop: {machine_ratio(result):.2f}x)"
               if result.machine else "")
    return [Target(name=f"throughput, 2 workers vs 1, {operation}, replayed backend, {result.windows[0].cores} cores",
                   target=f">= {WORKERS_TARGET}x", measured=f"{ratio:.2f}x{machine}", met=ratio >= WORKERS_TARGET)
            for operation, ratio in ratios(result.windows).items()]


def render(result: WorkersResult) -> str:
    """Every window, then per operation the medians and the 2-vs-1 ratios: measured, each against its
    ceiling with the cores other programs left ("of ceiling"), the ceilings on 2 free cores, and what
    the machine gave a Python loop in 2 processes against 1 in the same rounds."""
    results = result.windows
    lines = ["| operation | workers | req/s | p50 ms | p99 ms | requests per worker (connections) "
             "| CPU ms/request: workers, load, backend, total | ceiling req/s | ceiling left by others "
             "| machine busy, other programs (cores) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        shares = ", ".join(f"{s.requests} ({s.connections})" for s in r.shares)
        lines.append(
            f"| {r.operation} | {r.workers} | {r.requests_per_second:.1f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {shares} | {r.per_request_ms(r.workers_cpu):.2f}, {r.per_request_ms(r.load_cpu):.2f}, "
            f"{r.per_request_ms(r.backend_cpu):.2f}, {r.per_request_ms(r.total_cpu):.2f} | {r.ceiling:.0f} "
            f"| {r.ceiling_left:.0f} | {r.machine_busy / r.seconds:.2f}, {r.others_cores:.2f} |")
    lines += ["", "| operation | req/s 1 worker | req/s 2 workers | 2 vs 1 | other programs (cores) | of ceiling, 1 "
              "| of ceiling, 2 | 2 vs 1, ceiling-normalised | ceiling on free cores, 2 vs 1 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for operation in dict.fromkeys(r.operation for r in results):
        one = [r for r in results if r.operation == operation and r.workers == 1]
        two = [r for r in results if r.operation == operation and r.workers == 2]
        pairs = list(zip(one, two, strict=True))
        of_one = [a.requests_per_second / a.ceiling_left for a in one]
        of_two = [b.requests_per_second / b.ceiling_left for b in two]
        lines.append(
            f"| {operation} | {statistics.median([a.requests_per_second for a in one]):.1f} "
            f"| {statistics.median([b.requests_per_second for b in two]):.1f} "
            f"| {ratios(results)[operation]:.2f}x "
            f"| {statistics.median([r.others_cores for r in one + two]):.2f} "
            f"| {statistics.median(of_one):.0%} | {statistics.median(of_two):.0%} "
            f"| {statistics.median([b / a for a, b in zip(of_one, of_two, strict=True)]):.2f}x "
            f"| {statistics.median([b.ceiling / a.ceiling for a, b in pairs]):.2f}x |")
    if result.machine:
        rounds = ", ".join(f"{probe.ratio:.2f}x" for probe in result.machine)
        lines += ["", f"The machine's own 2 vs 1 (bench.machine_scaling: a pure-Python loop for "
                      f"{result.machine[0].seconds:g} s in 1 process, then in 2 at once, once a round): "
                      f"{machine_ratio(result):.2f}x, the median of {rounds}. On two free cores it is 2.0x; "
                      "below that, the host's other tenants took part of the cores, and no 2-vs-1 ratio "
                      "measured meanwhile can exceed it by much."]
    return "\n".join(lines)


def main() -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    arguments.add_argument("--seconds", type=float, default=3.0)
    arguments.add_argument("--concurrency", type=int, default=16)
    arguments.add_argument("--rounds", type=int, default=5)
    parsed = arguments.parse_args()
    before = load_average()
    with served_service(TABLE, LIMIT) as served:
        results = measure(prepare(served, LIMIT), seconds=parsed.seconds, concurrency=parsed.concurrency,
                          rounds=parsed.rounds)
    after = load_average()
    print(f"load average before {before}, after {after}; {len(os.sched_getaffinity(0))} CPUs")
    print(render(results))


if __name__ == "__main__":
    main()
