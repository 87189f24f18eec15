"""Where each side's CPU goes under load: py-spy on the service, `node --cpu-prof` on the peer.

Each sample is given to the library of its innermost frame that belongs to one of the groups below (a
`json.loads` called by botocore's parser counts as botocore); samples in neither group are "other".
The service is sampled by py-spy during a 16-connection window. With `gil_only` (what the benchmark
reports) only the thread holding the GIL is sampled: py-spy counts a thread waiting for the GIL as
active, which gave the thread-pool hop 4-26% of all threads' samples from one window to the next (2-9%
of the GIL holder's). The peer is a fresh process started with `--cpu-prof`, loaded for a warm-up
window and then the measured one, of which only the last window's samples are counted.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.peer.peer_process import node_peer
from bench.peer.side_by_side import THROUGHPUT_CONNECTIONS, Server, SideBySide, load_window, request_of, scenarios

# (group, fragments of a frame's file path); the first group a frame's path matches is its group.
PYTHON_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWS SDK (botocore, urllib3, http.client; aiodynamo, aiohttp)",
     ("/botocore/", "/boto3/", "/urllib3/", "/http/client.py", "/aiodynamo/", "/aiohttp/", "/yarl/", "/multidict/")),
    ("GraphQL (graphql-core, strawberry)", ("/graphql/", "/strawberry/")),
    ("HTTP server (uvicorn, starlette, httptools)", ("/uvicorn/", "/starlette/", "/httptools/")),
    ("token verification (pyjwt, cryptography)", ("/jwt/", "/cryptography/")),
    ("thread-pool hop (anyio, concurrent.futures, threading)",
     ("/anyio/", "/concurrent/futures/", "/threading.py", "/queue.py")),
    ("event loop (asyncio, uvloop)", ("/asyncio/", "/uvloop/")),
    ("the service's HTTP layer (app/: middleware, token check, the GraphQL view)", ("/app/",)),
    ("the service's resolvers and records (schema, resolvers, data, domain, services)",
     ("/schema/", "/resolvers/", "/data/", "/domain/", "/services/")),
)
NODE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWS SDK (@aws-sdk, @smithy)", ("/@aws-sdk/", "/@smithy/", "/@aws-crypto/")),
    ("GraphQL (graphql-js, yoga, envelop, whatwg-node)",
     ("/graphql/", "/graphql-yoga/", "/@graphql-yoga/", "/@envelop/", "/@graphql-tools/", "/@whatwg-node/")),
    ("token verification (jose)", ("/jose/",)),
    ("DataLoader", ("/dataloader/",)),
    ("HTTP server (node:http, net, streams)", ("node:_http", "node:http", "node:net", "node:internal/http",
                                                "node:internal/streams", "node:stream", "node:internal/stream")),
    ("the peer's own code (server.mjs)", ("/server.mjs",)),
)
GC = "garbage collector (V8)"
NATIVE = "V8 and native code, no JavaScript frame"
PY_SPY_RATE = 250  # samples per second


@dataclass(frozen=True)
class Profile:
    side: str
    operation: str
    samples: int
    shares: dict[str, float]  # group -> share of the samples


def _group(path: str, groups: Sequence[tuple[str, tuple[str, ...]]]) -> str | None:
    for name, fragments in groups:
        if any(fragment in path for fragment in fragments):
            return name
    return None


def python_shares(collapsed: str) -> tuple[int, Counter[str]]:
    """py-spy's raw output (`frame;frame;... count`, outermost first, frames `name (file:line)`)."""
    counted: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        group = "other"
        for frame in reversed(stack.split(";")):
            path = frame.rpartition(" (")[2]
            found = _group("/" + path.lstrip("/"), PYTHON_GROUPS)
            if found is not None:
                group = found
                break
        counted[group] += int(count)
    return sum(counted.values()), counted


def node_shares(profile: dict, last_seconds: float) -> tuple[int, Counter[str]]:
    """A .cpuprofile's samples of its last `last_seconds`, idle ones left out."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    times, now = [], 0
    for delta in profile["timeDeltas"]:
        now += delta
        times.append(now)
    start = now - last_seconds * 1_000_000
    counted: Counter[str] = Counter()
    for sample, at in zip(profile["samples"], times, strict=True):
        if at < start:
            continue
        leaf = nodes[sample]["callFrame"]
        if leaf["functionName"] == "(idle)":
            continue
        group = GC if leaf["functionName"] == "(garbage collector)" else None
        current: int | None = sample
        while group is None and current is not None:
            frame = nodes[current]["callFrame"]
            group = _group(frame["url"], NODE_GROUPS) if frame["url"] else None
            current = parent.get(current)
        counted[group or (NATIVE if leaf["functionName"] == "(program)" else "other")] += 1
    return sum(counted.values()), counted


def _shares(side: str, operation: str, total: int, counted: Counter[str]) -> Profile:
    return Profile(side, operation, total, {name: count / total for name, count in counted.most_common()})


def profile_service(both: SideBySide, seconds: float, *, gil_only: bool = False) -> list[Profile]:
    found = []
    server = both.servers["service"]
    for scenario in scenarios():
        request = request_of(server.port, both.token, scenario)
        with tempfile.TemporaryDirectory(prefix="bench-py-spy-") as folder:
            output = Path(folder) / "service.txt"
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.pid),
                                    "--rate", str(PY_SPY_RATE), "--duration", str(int(seconds)), "--format", "raw",
                                    "--nonblocking", *(["--gil"] if gil_only else []), "--output", str(output)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            asyncio.run(load_window(server, request, THROUGHPUT_CONNECTIONS, seconds + 1))
            _, error = spy.communicate(timeout=60)
            if spy.returncode != 0:
                raise RuntimeError(f"py-spy failed ({spy.returncode}): {error.decode()[-500:]}")
            found.append(_shares("service", scenario.name, *python_shares(output.read_text())))
    return found


def profile_peer(both: SideBySide, seconds: float) -> list[Profile]:
    found = []
    for scenario in scenarios():
        with tempfile.TemporaryDirectory(prefix="bench-cpu-prof-") as folder:
            with node_peer(both.connection, both.table, both.jwks_url, both.admin_group,
                           ("--cpu-prof", f"--cpu-prof-dir={folder}")) as peer:
                server = Server(peer.port, peer.pid)
                request = request_of(peer.port, both.token, scenario)
                asyncio.run(load_window(server, request, THROUGHPUT_CONNECTIONS, seconds))  # warm-up, not counted
                asyncio.run(load_window(server, request, THROUGHPUT_CONNECTIONS, seconds))
            (written,) = Path(folder).glob("*.cpuprofile")
            found.append(_shares("peer", scenario.name, *node_shares(json.loads(written.read_text()), seconds)))
    return found
