"""`python -m bench.peer.server_costs --granian-path DIR`: the service under granian (a Rust ASGI server)
against the service under uvicorn (as `serve` runs it), one of issue 30's candidates, measured in isolation.

Both processes serve the same app (app.http.create_app, one worker, uvloop) over the replayed backend of the
side-by-side run, and are loaded in alternating rounds as the peer is (bench/peer/side_by_side.py). granian
is not a dependency of the project: DIR holds it (`pip install --target DIR granian==2.8.9`), and only the
granian child puts DIR on its path. Prints the medians of the per-round ratios, granian / uvicorn.

`python -m bench.peer.server_costs --serve ...` is the granian child itself (granian's embedded server in
this process, so that its CPU is this process's).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from embedded.dev_keys import DevSigningKey
from bench.local_service import BENCH_ADMIN
from bench.peer.side_by_side import Server, request_of, scenarios, side_by_side, window
from bench.report import table
from bench.service_process import PROJECT_ROOT
from data.clients import AwsConnection


@contextlib.contextmanager
def granian_service(connection: AwsConnection, table_name: str, kms_key_id: str | None, dev_dir: Path,
                    granian_path: str) -> Iterator[Server]:
    with socket.socket() as probe:  # a free port: granian binds its own socket
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), granian_path])}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.peer.server_costs", "--serve", "--port", str(port), "--table", table_name,
         "--dev-dir", str(dev_dir), "--backend", json.dumps(dataclasses.asdict(connection)),
         *(["--kms-key-id", kms_key_id] if kms_key_id else [])], cwd=PROJECT_ROOT, env=environment)
    try:
        for _ in range(600):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None:
                raise RuntimeError(f"the granian child exited ({process.returncode})")
            time.sleep(0.1)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)


def serve(parsed: argparse.Namespace) -> None:
    from granian.constants import Interfaces  # granian from --granian-path
    from granian.log import LogLevels
    from granian.server.embed import Server as Granian

    from app.bootstrap import bootstrap
    from app.http import create_app
    from bench.local_service import embedded_settings

    settings = embedded_settings(parsed.table, 1000, parsed.dev_dir)
    if parsed.kms_key_id:
        settings = settings.model_copy(update={"kms_key_id": parsed.kms_key_id})
    service = bootstrap(settings, connection=AwsConnection(**json.loads(parsed.backend)))
    import uvloop

    async def run() -> None:
        server = Granian(create_app(service), port=parsed.port, interface=Interfaces.ASGI, log_level=LogLevels.warning)
        await server.serve()

    uvloop.run(run())


def compare(granian_path: str, rounds: int, seconds: float) -> None:
    with side_by_side() as both, tempfile.TemporaryDirectory(prefix="bench-granian-") as folder:
        # The child's dev key must sign like the uvicorn service's: both verify the bench's one token.
        uvicorn = both.servers["service"]
        dev_dir = Path(folder)
        DevSigningKey.load_or_create(dev_dir)
        with granian_service(both.connection, both.table, both.kms_key_id, dev_dir, granian_path) as granian:
            servers = {"uvicorn": uvicorn, "granian": granian}
            tokens = {"uvicorn": both.token,
                      "granian": DevSigningKey.load_or_create(dev_dir).mint(BENCH_ADMIN, admin=True,
                                                                             admin_group=both.admin_group)}
            found: dict[str, dict[str, list]] = {s.name: {"uvicorn": [], "granian": []} for s in scenarios()}
            for number in range(rounds + 1):
                for scenario in scenarios():
                    for side in ("uvicorn", "granian") if number % 2 == 0 else ("granian", "uvicorn"):
                        request = request_of(servers[side].port, tokens[side], scenario)
                        measured = window(servers[side], request, seconds)
                        if number > 0:
                            found[scenario.name][side].append(measured)
    rows = []
    for name, sides in found.items():
        def ratio(figure: str) -> str:
            values = [getattr(g, figure) / getattr(u, figure) for g, u in zip(sides["granian"], sides["uvicorn"])]
            return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"
        rows.append([name, ratio("p50_ms"), ratio("requests_per_second"), ratio("cpu_ms_per_request")])
    print(f"granian / uvicorn, the same app over the replayed backend: medians of {rounds} alternating rounds "
          f"of {seconds:g} s windows (lowest-highest round)")
    print(table(["operation", "p50 at c=1", "req/s at c=16", "server CPU per request"], rows))


def main() -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench.peer.server_costs", description=__doc__)
    arguments.add_argument("--granian-path", default="")
    arguments.add_argument("--rounds", type=int, default=5)
    arguments.add_argument("--seconds", type=float, default=3.0)
    arguments.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments.add_argument("--port", type=int)
    arguments.add_argument("--table")
    arguments.add_argument("--dev-dir", type=Path)
    arguments.add_argument("--backend")
    arguments.add_argument("--kms-key-id")
    parsed = arguments.parse_args()
    if parsed.serve:
        serve(parsed)
    else:
        compare(parsed.granian_path, parsed.rounds, parsed.seconds)


if __name__ == "__main__":
    main()
