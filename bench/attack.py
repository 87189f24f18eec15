"""Part 6: bounded work under attack (issue #9, docs/security.md).

a. Parse + validation of the worst documents the limits allow, and of the attacks past them, at
   growing sizes: the worker thread's whole job (`DocumentPreparer._parse_and_validate`) with the
   production bounds, median of several runs, in ms and ms per KB.
b. `/healthz` while 8 clients send the worst allowed documents to the served service (uvicorn, one
   worker) as fast as it answers, each text new (so the cache does not help), anonymously (the
   attacker needs no token: parse and validation come before any auth decision).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from graphql import GraphQLError, GraphQLSchema, specified_rules
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule

from bench.report import Part, Target, latency, table
from schema.prepared_documents import DocumentBounds, DocumentPreparer
from schema.schema import SchemaLimits, build_schema

CLIENTS = 8
PROBE_INTERVAL_SECONDS = 0.02
TARGET_MS = 50.0


def _spread_fragments(count: int) -> str:
    return f"query {{ {' '.join(f'...M{n}' for n in range(count))} }} " + " ".join(
        f"fragment M{n} on Query {{ myChannel {{ channelId }} }}" for n in range(count))


def _fragment_bomb(levels: int) -> str:
    fragments = [f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} fragment F0 on Query {{ __typename }} " + " ".join(fragments)


# name → (document of a size, sizes): the sizes reach each limit and pass it, inside the body limit.
SHAPES: dict[str, tuple[Callable[[int], str], tuple[int, ...]]] = {
    "repeated fields (x n)": (lambda n: "query { " + "myChannel { channelId } " * n + "}", (10, 25, 50, 100, 400)),
    "fragments, each spread once (n)": (_spread_fragments, (10, 25, 50, 100, 150)),
    "inline fragments (n)": (lambda n: "query { " + "... on Query { myChannel { channelId } } " * n + "}",
                             (10, 25, 50, 100, 300)),
    "fragment bomb (n levels)": (_fragment_bomb, (10, 30, 100, 150)),
    "deep nesting (n levels)": (lambda n: "{ myChannel { " + "channel { assignments { " * n + "hostUserId"
                                + " } }" * n + " } }", (4, 50, 300)),
    "directives on one field (n)": (lambda n: "query { capacity " + "@include(if: true) " * n + "{ used } }",
                                    (10, 100, 400)),
    "unknown field name (n KB)": (lambda n: "{ " + "x" * (n * 1024) + " }", (1, 16, 60)),
}
# The worst documents inside every limit (100 fields): what part b sends.
WORST_ALLOWED = tuple(SHAPES[name][0](50) for name in list(SHAPES)[:3])


def _production_preparer() -> tuple[DocumentPreparer, GraphQLSchema, tuple[type[ASTValidationRule], ...]]:
    """The preparer as production builds it (default limits, introspection refused, no suggestion)."""
    limits = SchemaLimits(hide_schema=True)
    graphql_schema: GraphQLSchema = build_schema(limits)._schema
    bounds = DocumentBounds(
        max_depth=limits.max_depth, max_aliases=limits.max_aliases, max_fields=limits.max_fields,
        max_tokens=limits.max_tokens, hide_suggestions=True, cache_size=1, cache_bytes=1,
        budget_seconds=limits.budget_seconds,
    )
    return DocumentPreparer(bounds), graphql_schema, (*specified_rules, NoSchemaIntrospectionCustomRule)


def time_documents(repeats: int) -> list[dict[str, Any]]:
    preparer, graphql_schema, rules = _production_preparer()
    timings = []
    for shape, (build, sizes) in SHAPES.items():
        for size in sizes:
            text = build(size)
            runs, outcome = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                outcome = preparer._parse_and_validate(text, graphql_schema, rules)
                runs.append(time.perf_counter() - started)
            assert outcome is not None
            ms, kilobytes = statistics.median(runs) * 1000, len(text.encode()) / 1024
            timings.append({"document": shape, "n": size, "KB": f"{kilobytes:.1f}", "outcome": _outcome(outcome.errors),
                            "ms": ms, "ms per KB": ms / kilobytes})
    return timings


def _outcome(errors: tuple[GraphQLError, ...]) -> str:
    if not errors:
        return "answered"
    first = errors[0]
    return f"{(first.extensions or {}).get('code')}: {first.message[:48]}"


def load(url: str, seconds: float) -> dict[str, Any]:
    return asyncio.run(_load(url, seconds))


async def _load(url: str, seconds: float) -> dict[str, Any]:
    idle = await asyncio.to_thread(_probe, url, time.perf_counter() + 1.0)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    serial = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def attacker() -> None:
            while time.perf_counter() < deadline:
                number = next(serial)
                # A comment makes each text new: the cache never answers for the attacker.
                text = f"# attack {number}\n" + WORST_ALLOWED[number % len(WORST_ALLOWED)]
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": text})
                latencies.append(time.perf_counter() - started)
                codes = [error["extensions"]["code"] for error in response.json().get("errors", [])]
                outcomes[f"{response.status_code} {codes[0] if codes else 'data'}"] += 1

        # The probe has a thread and a connection of its own: the attackers' answers, parsed on this
        # loop, do not delay its timings.
        probes = asyncio.create_task(asyncio.to_thread(_probe, url, deadline))
        started = time.perf_counter()
        await asyncio.gather(*(attacker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
        healthz = await probes
    return {"seconds": elapsed, "outcomes": dict(outcomes), "attack documents": latency(latencies),
            "GET /healthz": {**latency(healthz), "max_ms": max(healthz) * 1000},
            "GET /healthz, 1 s before the attack": latency(idle)}


def _probe(url: str, deadline: float) -> list[float]:
    latencies = []
    with httpx.Client(base_url=url, timeout=60) as client:
        client.get("/healthz")
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"/healthz under attack: {response.status_code}")
            time.sleep(PROBE_INTERVAL_SECONDS)
    return latencies


def measure(repeats: int, seconds: float) -> Part:
    """Part a in this process; part b against the service served over bench.replay_backend's moto."""
    from bench.processes import served_service
    from bench.replay_backend import replay_backend

    documents = time_documents(repeats)
    slowest = max(documents, key=lambda timing: timing["ms"])
    targets = [Target("every document refused or answered (parse + validation)", f"< {TARGET_MS:.0f} ms",
                      f"{slowest['ms']:.1f} ms at worst ({slowest['document']}, {slowest['n']})",
                      slowest["ms"] < TARGET_MS)]
    with replay_backend() as backend, served_service("bench-attack", backend.recorder, limit=20) as served:
        under = load(f"http://127.0.0.1:{served.port}", seconds)
    p99 = under["GET /healthz"]["p99_ms"]
    targets.append(Target(f"/healthz p99 while {CLIENTS} clients send the worst allowed documents",
                          f"< {TARGET_MS:.0f} ms", f"{p99:.1f} ms", p99 < TARGET_MS))
    notes = ["", f"/healthz while {CLIENTS} clients send the worst allowed documents, each text new, for "
             f"{under['seconds']:.1f} s (anonymous; ms)",
             table(["", "samples", "p50", "p99", "mean"], [[name, *(under[name][key] for key in
                   ("samples", "p50_ms", "p99_ms", "mean_ms"))] for name in ("attack documents", "GET /healthz",
                   "GET /healthz, 1 s before the attack")]),
             f"/healthz max {under['GET /healthz']['max_ms']:.1f} ms; answers: "
             + ", ".join(f"{key} x{count}" for key, count in sorted(under["outcomes"].items()))]
    return Part("6. Bounded work: parse + validation of attack documents (production bounds; median ms)",
                documents, targets, notes, {"load": under})
