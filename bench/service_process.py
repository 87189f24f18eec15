"""The service as `make run` serves it (uvicorn, one worker, embedded backend), in a process of its own.

The benchmark's HTTP clients then run on the other core instead of competing for this process's GIL.
The child prints one JSON line (its URL, the emulator's endpoint, the KMS key of stream keys) and
serves until it is sent SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from embedded.dev_keys import DevSigningKey
from data.clients import AwsConnection

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ServedService:
    url: str
    port: int
    connection: AwsConnection
    table: str
    kms_key_id: str | None
    admin_group: str
    dev_key: DevSigningKey

    def token(self, user_id: str, *, admin: bool = False) -> str:
        return self.dev_key.mint(user_id, admin=admin, admin_group=self.admin_group)


@contextlib.contextmanager
def served_service(table: str, limit: int, *, backend: AwsConnection | None = None,
                   kms_key_id: str | None = None) -> Iterator[ServedService]:
    """Start the child, wait until it answers /healthz, and stop it (SIGTERM) on the way out.

    By default the child starts its own emulator and provisions `table`; with `backend` it uses that
    endpoint instead (a table already provisioned there, stream keys sealed with `kms_key_id`)."""
    with tempfile.TemporaryDirectory(prefix="bench-served-") as folder:
        dev_dir = Path(folder) / "dev"
        dev_key = DevSigningKey.load_or_create(dev_dir)  # the child loads the same key
        log_path = Path(folder) / "service.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.service_process", "--table", table, "--limit", str(limit),
                 "--dev-dir", str(dev_dir),
                 *(["--backend", json.dumps(dataclasses.asdict(backend))] if backend is not None else []),
                 *(["--kms-key-id", kms_key_id] if kms_key_id else [])],
                cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log,
            )
        try:
            assert process.stdout is not None
            hello = _read_hello(process, process.stdout, log_path)
            served = ServedService(
                url=hello["url"],
                port=hello["port"],
                connection=AwsConnection(**hello["aws"]),
                table=table,
                kms_key_id=hello["kms_key_id"],
                admin_group=hello["admin_group"],
                dev_key=dev_key,
            )
            _wait_until_healthy(served.url, process, log_path)
            yield served
        finally:
            _stop(process)


@contextlib.contextmanager
def announced_child(module: str, *arguments: str) -> Iterator[dict[str, Any]]:
    """`python -m module arguments...` in the project, yielding the one JSON line it prints first (where
    it listens); terminated on the way out."""
    process = subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=PROJECT_ROOT, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{module} exited ({process.wait(timeout=10)})")
        yield dict(json.loads(line))
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _read_hello(process: subprocess.Popen[bytes], stdout: IO[bytes], log_path: Path) -> dict[str, Any]:
    line = stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise RuntimeError(f"the served service exited ({process.returncode}): {log_path.read_text()[-2000:]}")
    return dict(json.loads(line))


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the served service exited ({process.returncode}): {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the served service did not answer /healthz within {STARTUP_TIMEOUT_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def main() -> None:
    import uvicorn

    from app.bootstrap import bootstrap
    from commands.serve import bind_port
    from app.http import create_app
    from bench.local_service import embedded_settings

    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--table", required=True)
    arguments.add_argument("--limit", type=int, required=True)
    arguments.add_argument("--dev-dir", type=Path, required=True)
    arguments.add_argument("--backend", type=json.loads, default=None, help="an AwsConnection as JSON")
    arguments.add_argument("--kms-key-id", default=None)
    parsed = arguments.parse_args()

    settings = embedded_settings(parsed.table, parsed.limit, parsed.dev_dir)
    if parsed.kms_key_id:
        settings = settings.model_copy(update={"kms_key_id": parsed.kms_key_id})
    backend = AwsConnection(**parsed.backend) if parsed.backend else None
    service = bootstrap(settings, connection=backend, live_updates=False)  # measures requests, not the feed
    try:
        connection = backend or (service.embedded.connection if service.embedded is not None else None)
        assert connection is not None
        listener = bind_port("127.0.0.1", 0)  # as `serve` binds: its connections get TCP_NODELAY
        port = listener.getsockname()[1]
        cipher = service.backend.stream_keys
        hello = {
            "url": f"http://127.0.0.1:{port}",
            "port": port,
            "aws": dataclasses.asdict(connection),
            "kms_key_id": cipher.kms_key_id if cipher is not None else None,
            "admin_group": service.settings.auth_admin_group,
            "pid": os.getpid(),
        }
        print(json.dumps(hello), flush=True)
        # One worker, as the issue asks; the app's lifespan sizes the thread pool (app.http).
        config = uvicorn.Config(create_app(service), log_level="warning", access_log=False, lifespan="on")
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        service.close()


if __name__ == "__main__":
    main()
