"""`python -m bench.fixed_cost [--iterations N] [--profile]`: the fixed cost of one authenticated request
in process (issue #12), against a bare Strawberry app with its parser and validation caches.

Both are ASGI callables driven directly in one process and one event loop, with no socket: (a) the whole
app as `create_app` builds it (production settings with a CORS allow-list, every middleware, the lifespan
run, the document preparer's caches warm) with an admin token whose verification is cached; (b)
`strawberry.asgi.GraphQL` over a one-field schema with `ParserCache` and `ValidationCache`. The same
`POST /graphql {"query":"{ __typename }"}` goes to both, alternately (the order swapped each round),
through one minimal driver (`call`), whose own cost is the same for both; medians. A second, separate
run times each layer (inclusive time through a wrapper put between layers, minus the next layer's) and
each phase of the GraphQL view, to say where the difference is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import pstats
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from app.auth import RemoteJwks, TokenVerifier
from app.bootstrap import bootstrap
from app.dev_keys import DEV_ISSUER, DevSigningKey, embedded_audiences
from app.http import create_app
from app.settings import Settings
from bench.cpu_usage import load_average
from bench.jwks_server import served_jwks
from bench.targets import Target
from data.clients import AwsConnection

BODY = b'{"query":"{ __typename }"}'
ANSWER = {"data": {"__typename": "Query"}}
ADMIN_GROUP = "admin"
ORIGIN = "https://app.example"
NOWHERE = "http://127.0.0.1:9"  # discard port: `{ __typename }` makes no AWS call
TARGET_RATIO = 1.8
_VIEW_PHASES = ("parse_http_body", "get_context", "execute_single", "process_result")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


async def call(app: ASGIApp, headers: list[tuple[bytes, bytes]], body: bytes = BODY) -> Answer:
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
    return Answer(start["status"], dict(start.get("headers", [])), b"".join(parts))


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
def service_app() -> Iterator[tuple[Starlette, str]]:
    """The service's app as deployed (aws mode, production, a CORS allow-list, tokens checked against a
    JWKS URL), and an admin token it accepts. No AWS call is made."""
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as folder:
        key = DevSigningKey.load_or_create(Path(folder))
        with served_jwks(key.jwks()) as jwks_url:
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


@dataclass(frozen=True)
class Layer:
    name: str
    service_us: float  # its own median time per request, the layers inside it excluded
    bare_us: float | None  # the same phase in the bare app; None where the bare app has no such layer


@dataclass
class FixedCostResult:
    iterations: int
    service_p50_us: float
    bare_p50_us: float
    service_p90_us: float
    bare_p90_us: float
    load_average: str
    layers: list[Layer] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.service_p50_us / self.bare_p50_us

    @property
    def met(self) -> bool:
        return self.ratio <= TARGET_RATIO


def _check(answer: Answer, *, service: bool) -> None:
    if answer.status != 200 or json.loads(answer.body) != ANSWER:
        raise RuntimeError(f"fixed cost: unexpected answer {answer.status} {answer.body[:300]!r}")
    if service and b"x-request-id" not in answer.headers:
        raise RuntimeError("fixed cost: the service's answer has no x-request-id")


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
            answer = await call(app, headers)
            elapsed = clock() - started
            _check(answer, service=name == "service")
            if round_number >= warm_up:
                samples[name].append(elapsed)
        order.reverse()
    return samples


class _Timed:
    """Between two layers: adds the time spent in (and under) the inner one to `totals[name]`."""

    def __init__(self, app: ASGIApp, name: str, totals: dict[str, int]) -> None:
        self.app = app
        self.name = name
        self.totals = totals
        totals.setdefault(name, 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter_ns()
        try:
            await self.app(scope, receive, send)
        finally:
            self.totals[self.name] += time.perf_counter_ns() - started


def _timed_method(owner: Any, name: str, totals: dict[str, int]) -> None:
    method: Callable[..., Awaitable[Any]] = getattr(owner, name)
    totals.setdefault(name, 0)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return await method(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter_ns() - started

    setattr(owner, name, timed)


def _layer_name(layer: object) -> str:
    return type(layer).__name__


def _instrument_service(app: Starlette, totals: dict[str, int]) -> tuple[ASGIApp, list[str]]:
    """Wrappers between the built app's layers (outermost first), around the route and the view's phases."""
    stack = app.middleware_stack
    assert stack is not None, "call the app once first: Starlette builds its stack on the first call"
    names = [_layer_name(stack)]
    outer = _Timed(stack, names[0], totals)
    layer: Any = stack
    while not isinstance(layer, Router):
        inner = layer.app
        names.append(_layer_name(inner))
        layer.app = _Timed(inner, names[-1], totals)
        layer = inner
    route = next(route for route in layer.routes if isinstance(route, Route) and route.path == "/graphql")
    names.append("Route /graphql")
    route_handle = route.handle
    totals.setdefault(names[-1], 0)

    async def timed_route(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter_ns()
        try:
            await route_handle(scope, receive, send)
        finally:
            totals["Route /graphql"] += time.perf_counter_ns() - started

    route.handle = timed_route  # type: ignore[method-assign]
    view = route.app
    names.append(_layer_name(view))
    route.app = _Timed(view, names[-1], totals)
    for phase in _VIEW_PHASES:
        _timed_method(view, phase, totals)
    return outer, names


def _own_times(names: list[str], totals: dict[str, int]) -> dict[str, float]:
    """Microseconds spent in each layer itself (its inclusive time less the next layer's), and in each
    phase of the view (the view's own time is what its phases leave)."""
    own: dict[str, float] = {}
    for index, name in enumerate(names):
        inner = totals[names[index + 1]] if index + 1 < len(names) else sum(totals[phase] for phase in _VIEW_PHASES)
        own[name] = (totals[name] - inner) / 1000
    own.update((phase, totals[phase] / 1000) for phase in _VIEW_PHASES)
    return own


async def _breakdown(service: Starlette, token: str, bare: GraphQL[Any, Any], requests: int) -> list[Layer]:
    """The median own time of each layer and phase, over `requests` requests of each app, alternated."""
    service_totals: dict[str, int] = {}
    service_entry, names = _instrument_service(service, service_totals)
    bare_totals: dict[str, int] = {}
    bare_entry = _Timed(bare, "GraphQL", bare_totals)
    for phase in _VIEW_PHASES:
        _timed_method(bare, phase, bare_totals)
    service_headers, bare_headers = headers_for(token), headers_for(None)
    service_samples: dict[str, list[float]] = {}
    bare_samples: dict[str, list[float]] = {}
    for _ in range(requests):
        for entry, headers, totals, samples, layers, is_service in (
            (service_entry, service_headers, service_totals, service_samples, names, True),
            (bare_entry, bare_headers, bare_totals, bare_samples, ["GraphQL"], False),
        ):
            totals.update(dict.fromkeys(totals, 0))
            _check(await call(entry, headers), service=is_service)
            for name, value in _own_times(layers, totals).items():
                samples.setdefault(name, []).append(value)
    service_us = {name: statistics.median(values) for name, values in service_samples.items()}
    bare_us = {name: statistics.median(values) for name, values in bare_samples.items()}
    view = names[-1]
    return [
        *(Layer(name, service_us[name], None) for name in names[:-1]),
        Layer(f"{view}: strawberry's run and the response", service_us[view], bare_us["GraphQL"]),
        *(Layer(f"{view}.{phase}", service_us[phase], bare_us[phase]) for phase in _VIEW_PHASES),
    ]


async def _measure(iterations: int, warm_up: int, breakdown_requests: int) -> FixedCostResult:
    bare = bare_app()
    with service_app() as (service, token):
        async with service.router.lifespan_context(service):
            load = load_average()
            samples = await _alternate({"service": (service, headers_for(token)), "bare": (bare, headers_for(None))},
                                       iterations, warm_up)
            layers = await _breakdown(service, token, bare, breakdown_requests) if breakdown_requests else []
    service_us = [value / 1000 for value in samples["service"]]
    bare_us = [value / 1000 for value in samples["bare"]]
    return FixedCostResult(
        iterations=iterations,
        service_p50_us=statistics.median(service_us),
        bare_p50_us=statistics.median(bare_us),
        service_p90_us=statistics.quantiles(service_us, n=10)[-1],
        bare_p90_us=statistics.quantiles(bare_us, n=10)[-1],
        load_average=f"{load} before / {load_average()} after",
        layers=layers,
    )


def measure(iterations: int = 3000, *, warm_up: int = 300, breakdown_requests: int = 1000) -> FixedCostResult:
    """The two apps timed alternately `iterations` times each (after `warm_up` untimed rounds), then
    the per-layer breakdown over `breakdown_requests` requests of each."""
    return asyncio.run(_measure(iterations, warm_up, breakdown_requests))


def profile(requests: int, top: int = 30) -> str:
    """cProfile of the service's app alone over `requests` requests: the costliest functions."""

    async def run() -> str:
        with service_app() as (service, token):
            async with service.router.lifespan_context(service):
                headers = headers_for(token)
                for _ in range(200):
                    await call(service, headers)
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(requests):
                    await call(service, headers)
                profiler.disable()
        report = pstats.Stats(profiler)
        buffer = _Buffer()
        report.stream = buffer  # type: ignore[attr-defined]
        report.sort_stats("tottime").print_stats(top)
        return buffer.text

    return asyncio.run(run())


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def render_lines(result: FixedCostResult) -> list[str]:
    """The section's lines (bench.report adds the heading)."""
    lines = [
        f"service {result.service_p50_us:.1f} µs, bare Strawberry {result.bare_p50_us:.1f} µs (p50 of "
        f"{result.iterations} each; p90 {result.service_p90_us:.1f} / {result.bare_p90_us:.1f}): "
        f"{result.ratio:.2f}x (target <= {TARGET_RATIO}x); load average {result.load_average}",
    ]
    if result.layers:
        from bench.report import table

        lines += ["", table(["layer (outermost first; its own time)", "service µs", "bare µs"],
                            [[layer.name, f"{layer.service_us:.1f}",
                              "—" if layer.bare_us is None else f"{layer.bare_us:.1f}"] for layer in result.layers])]
    return lines


def target(result: FixedCostResult) -> Target:
    return Target("in-process fixed cost, { __typename } with token, vs bare Strawberry + caches (p50)",
                  f"<= {TARGET_RATIO}x", f"{result.ratio:.2f}x ({result.service_p50_us:.0f} µs / "
                  f"{result.bare_p50_us:.0f} µs)", result.met)


def main() -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench.fixed_cost", description=__doc__)
    arguments.add_argument("--iterations", type=int, default=3000, help="timed requests to each app (default 3000)")
    arguments.add_argument("--profile", type=int, default=0, metavar="N",
                           help="instead: cProfile N requests to the service and print the costliest functions")
    parsed = arguments.parse_args()
    if parsed.profile:
        print(profile(parsed.profile))
        return
    print("\n".join(render_lines(measure(parsed.iterations, breakdown_requests=max(100, parsed.iterations // 3)))))


if __name__ == "__main__":
    main()
