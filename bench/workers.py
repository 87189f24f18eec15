"""`python -m bench.workers [--seconds S] [--concurrency C]`: throughput of `shelcaster-channels serve
--workers N` for N = 1 and 2, in aws mode against the replayed backend (bench.replay_backend).

The service runs as the container runs it (aws mode, tokens checked against a JWKS served here with
the dev key), with its AWS endpoint the replayed backend, so that the backend is not what limits it.
The load (bench.throughput's httpx clients) and the replayed backend run on the same machine, so on 2
cores they take their share of the CPUs that the workers would use: the figures say so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from app.dev_keys import DEV_AUDIENCE, DEV_ISSUER
from bench import throughput
from bench.fast_backend import _control, _replay_backend, _sender, scenarios
from bench.jwks_server import served_jwks
from bench.local_service import BENCH_ADMIN
from bench.service_process import PROJECT_ROOT, ServedService, served_service
from bench.workload import Prepared, prepare

TABLE = "bench-workers"
LIMIT = 1000


@dataclass(frozen=True)
class WorkersThroughput:
    workers: int
    operation: str
    concurrency: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serve(workers: int, served: ServedService, replay_url: str, jwks_url: str) -> Iterator[ServedService]:
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
        yield ServedService(url, port, served.connection, served.table, served.kms_key_id, served.admin_group,
                            served.dev_key)
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(prepared: Prepared, *, seconds: float, concurrency: int) -> list[WorkersThroughput]:
    served = prepared.served
    plans = scenarios(prepared)[:2]  # channel(id) and the full page
    results = []
    with _replay_backend(served.connection.endpoint_url or "") as replay_url, served_jwks(served.dev_key.jwks()) as jwks:
        for workers in (1, 2):
            with _serve(workers, served, replay_url, jwks) as service:
                if workers == 1:  # record what the service asks, then replay it for every run
                    for scenario in plans:
                        with _sender(service, scenario) as send:
                            for _ in range(2):
                                send()
                    _control(replay_url, "POST", "/__replay__/replay")
                token = served.token(BENCH_ADMIN, admin=True)
                for scenario in plans:
                    (workload,) = scenario.steps
                    load = asyncio.run(throughput._load(service.url, token, workload, concurrency, seconds))
                    results.append(WorkersThroughput(workers, scenario.name, concurrency, load.requests_per_second,
                                                     load.latency.p50_ms, load.latency.p99_ms))
        stats = _control(replay_url, "GET", "/__replay__/stats")
    if stats["missed"]:
        raise RuntimeError(f"the replayed backend missed {stats['missed']} calls")
    return results


def main() -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    arguments.add_argument("--seconds", type=float, default=8.0)
    arguments.add_argument("--concurrency", type=int, default=16)
    parsed = arguments.parse_args()
    with served_service(TABLE, LIMIT) as served:
        results = measure(prepare(served, LIMIT), seconds=parsed.seconds, concurrency=parsed.concurrency)
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}, {os.cpu_count()} CPUs")
    for result in results:
        print(f"| {result.operation} | {result.workers} | {result.concurrency} | {result.requests_per_second:.1f} "
              f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} |")


if __name__ == "__main__":
    main()
