"""Part 3c (`python -m bench --section fixed`): the fixed cost of one authenticated request in process
(issue #12; docs/performance.md, "Fixed cost per request"): the whole app as `create_app` builds it
(production, CORS allow-list, lifespan run, caches warm, an admin token whose verification is cached)
against `strawberry.asgi.GraphQL` over a one-field schema with `ParserCache` and `ValidationCache`. The
same `POST /graphql {"query":"{ __typename }"}` goes to both through one minimal ASGI driver (`call`),
alternately (the order swapped each round), so each service sample has a bare one taken at the same
moment and the ratio holds on a shared machine; medians.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Scope
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from app.auth import RemoteJwks, TokenVerifier
from app.bootstrap import bootstrap
from embedded.dev_keys import DEV_ISSUER, DevSigningKey, embedded_audiences
from app.http import create_app
from app.settings import Settings
from bench.report import Part, Target, load_average
from data.clients import AwsConnection

BODY = b'{"query":"{ __typename }"}'
ANSWER = {"data": {"__typename": "Query"}}
ADMIN_GROUP = "admin"
ORIGIN = "https://app.example"
NOWHERE = "http://127.0.0.1:9"  # discard port: `{ __typename }` makes no AWS call
TARGET_RATIO = 1.8


async def call(app: ASGIApp, headers: list[tuple[bytes, bytes]], body: bytes = BODY) -> tuple[Message, bytes]:
    """One `POST /graphql` through `app`, as a server would hand it over (no socket)."""
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000), "state": {},
    }
    delivered = False
    start: Message = {}
    parts: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        else:
            parts.append(message.get("body", b""))

    await app(scope, receive, send)
    return start, b"".join(parts)


def headers_for(token: str | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"channels.test"), (b"content-type", b"application/json"),
               (b"content-length", str(len(BODY)).encode()), (b"accept", b"application/json")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return headers


@strawberry.type(name="Query")
class _BareQuery:
    @strawberry.field
    def hello(self) -> str:
        return "hello"


def bare_app() -> GraphQL[Any, Any]:
    """Strawberry alone: its ASGI view over a trivial schema, with its own parser and validation caches."""
    schema = strawberry.Schema(query=_BareQuery, extensions=[ParserCache, ValidationCache])
    return GraphQL(schema, graphql_ide=None)


@contextlib.contextmanager
def served_jwks(folder: str, document: dict[str, Any]) -> Iterator[str]:
    """`document` at a JWKS URL on loopback, served from a thread of this process."""
    (Path(folder) / "jwks.json").write_text(json.dumps(document))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def service_app() -> Iterator[tuple[Starlette, str]]:
    """The service's app as deployed (aws mode, production, a CORS allow-list, tokens checked against a
    JWKS URL), and an admin token it accepts. No AWS call is made."""
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as folder:
        key = DevSigningKey.load_or_create(Path(folder))
        with served_jwks(folder, key.jwks()) as jwks_url:
            audiences = embedded_audiences(frozenset())
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None, backend="aws", env="production", table="bench-fixed-cost",
                auth_issuer=DEV_ISSUER, auth_audience=",".join(sorted(audiences)), auth_jwks_url=jwks_url,
                auth_admin_group=ADMIN_GROUP, cors_origins=ORIGIN, dev_dir=Path(folder),
            )
            verifier = TokenVerifier(issuer=DEV_ISSUER, audiences=audiences, admin_group=ADMIN_GROUP,
                                     keys=RemoteJwks(jwks_url))
            connection = AwsConnection(region="us-east-1", endpoint_url=NOWHERE, access_key_id="bench",
                                       secret_access_key="bench")
            service = bootstrap(settings, connection=connection, verifier=verifier)
            try:
                yield create_app(service), key.mint("bench-admin", admin=True, admin_group=ADMIN_GROUP)
            finally:
                service.close()


async def _alternate(apps: dict[str, tuple[ASGIApp, list[tuple[bytes, bytes]]]], iterations: int,
                     warm_up: int) -> dict[str, list[int]]:
    """Nanoseconds per request of each app, the apps alternated and their order swapped every round."""
    samples: dict[str, list[int]] = {name: [] for name in apps}
    order = list(apps)
    clock = time.perf_counter_ns
    for round_number in range(warm_up + iterations):
        for name in order:
            app, headers = apps[name]
            started = clock()
            start, body = await call(app, headers)
            elapsed = clock() - started
            if start["status"] != 200 or json.loads(body) != ANSWER:
                raise RuntimeError(f"fixed cost: unexpected answer {start['status']} {body[:300]!r}")
            if name == "service" and b"x-request-id" not in dict(start["headers"]):
                raise RuntimeError("fixed cost: the service's answer has no x-request-id")
            if round_number >= warm_up:
                samples[name].append(elapsed)
        order.reverse()
    return samples


async def _measure(iterations: int, warm_up: int) -> Part:
    bare = bare_app()
    with service_app() as (service, token):
        async with service.router.lifespan_context(service):
            before = load_average()
            samples = await _alternate({"service": (service, headers_for(token)), "bare": (bare, headers_for(None))},
                                       iterations, warm_up)
    p50 = {name: statistics.median(values) / 1000 for name, values in samples.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] / 1000 for name, values in samples.items()}
    ratio = p50["service"] / p50["bare"]
    row = {"service p50 µs": p50["service"], "bare Strawberry p50 µs": p50["bare"], "ratio": f"{ratio:.2f}x",
           "service p90 µs": p90["service"], "bare p90 µs": p90["bare"], "requests each": iterations,
           "load average": f"{before} before / {load_average()} after"}
    target = Target("in-process fixed cost, { __typename } with token, vs bare Strawberry + caches (p50)",
                    f"<= {TARGET_RATIO}x", f"{ratio:.2f}x ({p50['service']:.0f} µs / {p50['bare']:.0f} µs)",
                    ratio <= TARGET_RATIO)
    return Part("3c. Fixed cost of an authenticated `{ __typename }` in process, against bare Strawberry with its "
                "parser and validation caches (µs)", [row], [target])


def measure(iterations: int = 3000, *, warm_up: int = 300) -> Part:
    """The two apps timed alternately `iterations` times each, after `warm_up` untimed rounds."""
    return asyncio.run(_measure(iterations, warm_up))
