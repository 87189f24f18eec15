"""Where each side's CPU goes under load: py-spy on the service, `node --cpu-prof` on the peer.

Each sample is given to the library of its innermost frame that belongs to one of the groups below (a
`json.loads` called by botocore's parser counts as botocore); samples in neither group are "other".
The service is sampled by py-spy during a 16-connection window, only the thread holding the GIL (py-spy
counts a thread waiting for the GIL as active, which gave the thread-pool hop 4-26% of all threads'
samples from one window to the next). The peer is a fresh process under `--cpu-prof`, loaded for a
warm-up window and then the counted one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from bench.load import load_window
from bench.processes import Server

# (group, fragments of a frame's file path); the first group a frame's path matches is its group.
PYTHON_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWS SDK (botocore, urllib3, http.client, aiodynamo, aiohttp)",
     ("/botocore/", "/boto3/", "/urllib3/", "/http/client.py", "/aiodynamo/", "/aiohttp/")),
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


def _shares(total: int, counted: Counter[str]) -> dict[str, float]:
    return {"samples": total, **{name: count / total for name, count in counted.most_common()}}


def profile_service(service: Server, request: bytes, seconds: float) -> dict[str, float]:
    """py-spy on the service (the thread holding the GIL) during a 16-connection window."""
    with tempfile.TemporaryDirectory(prefix="bench-py-spy-") as folder:
        output = Path(folder) / "service.txt"
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(service.pid),
                                "--rate", str(PY_SPY_RATE), "--duration", str(int(seconds)), "--format", "raw",
                                "--nonblocking", "--gil", "--output", str(output)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        asyncio.run(load_window(service, request, 16, seconds + 1))
        _, error = spy.communicate(timeout=60)
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed ({spy.returncode}): {error.decode()[-500:]}")
        return _shares(*python_shares(output.read_text()))


def profile_peer(start_peer: Callable[[Sequence[str]], AbstractContextManager[Server]],
                 request_for: Callable[[Server], bytes], seconds: float) -> dict[str, float]:
    """A fresh peer under `node --cpu-prof`: a warm-up window, then the counted one."""
    with tempfile.TemporaryDirectory(prefix="bench-cpu-prof-") as folder:
        with start_peer(("--cpu-prof", f"--cpu-prof-dir={folder}")) as peer:
            for _ in range(2):
                asyncio.run(load_window(peer, request_for(peer), 16, seconds))
        (written,) = Path(folder).glob("*.cpuprofile")
        return _shares(*node_shares(json.loads(written.read_text()), seconds))
