"""`python -m bench.subscriptions [--subscribers 100,1000,5000]`: live updates' fan-out on one embedded
`serve` process (docs/live-updates.md, "Measured"; issue 27's targets).

For each N: N idle WebSocket subscribers (graphql-transport-ws, admins, `channelEvents`) on one process;
then one write (a `setChannelState` mutation) whose event is fanned out to all of them. Reported: the
delivery latency from the write (p50, p95, max over the N deliveries), the server's CPU per delivered
event, and its resident memory per idle subscriber (the growth from before the N connected). The
event is built from the table stream's image, so the write costs the same AWS calls whatever N is
(services.live_updates); this measures what N does cost: memory, CPU and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.load import process_cpu_seconds
from bench.processes import wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIBE = {"query": "subscription { channelEvents { kind channelId } }"}
CREATE = 'mutation { createChannel(input: {name: "Bench"}) { id } }'
SET_STATE = "mutation($id: ID!, $state: ChannelState!) { setChannelState(channelId: $id, state: $state) { state } }"
PROTOCOL: Any = "graphql-transport-ws"  # websockets types it as its Subprotocol
CONNECTS_AT_ONCE = 100  # handshakes in flight at once (the accept backlog)


def _resident_kb(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert match is not None
    return int(match.group(1))


async def _subscriber(url: str, authorization: str) -> ClientConnection:
    websocket = await connect(url, subprotocols=[PROTOCOL], open_timeout=120, ping_interval=None)
    await websocket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": authorization}}))
    assert json.loads(await websocket.recv()) == {"type": "connection_ack"}
    await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": SUBSCRIBE}))
    return websocket


async def _received_at(websocket: ClientConnection, channel_id: str) -> float:
    while True:
        message = json.loads(await websocket.recv())
        if message.get("type") == "next" and message["payload"]["data"]["channelEvents"]["channelId"] == channel_id:
            return time.perf_counter()


async def measure(base_url: str, pid: int, authorization: str, subscribers: int) -> dict[str, Any]:
    url = base_url.replace("http", "ws", 1) + "/graphql"
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": authorization}, timeout=60) as http:
        created = await http.post("/graphql", json={"query": CREATE})
        channel_id = created.json()["data"]["createChannel"]["id"]
        await asyncio.sleep(3)  # the create's own event has passed
        before_kb = _resident_kb(pid)
        sockets: list[ClientConnection] = []
        for start in range(0, subscribers, CONNECTS_AT_ONCE):
            batch = min(CONNECTS_AT_ONCE, subscribers - start)
            sockets += await asyncio.gather(*(_subscriber(url, authorization) for _ in range(batch)))
        await asyncio.sleep(2)  # every subscribe processed
        idle_kb = _resident_kb(pid)
        cpu_before = process_cpu_seconds(pid)
        waiting = [asyncio.ensure_future(_received_at(websocket, channel_id)) for websocket in sockets]
        written = time.perf_counter()
        await http.post("/graphql", json={"query": SET_STATE, "variables": {"id": channel_id, "state": "OFFLINE"}})
        arrivals = await asyncio.wait_for(asyncio.gather(*waiting), timeout=120)
        cpu = process_cpu_seconds(pid) - cpu_before
        for websocket in sockets:
            await websocket.close()
    latencies = sorted(arrival - written for arrival in arrivals)
    return {
        "subscribers": subscribers,
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "latency_max_ms": round(latencies[-1] * 1000, 1),
        "server_cpu_ms_per_delivered_event": round(cpu * 1000 / subscribers, 3),
        "resident_kb_per_idle_subscriber": round((idle_kb - before_kb) / subscribers, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions")
    parser.add_argument("--subscribers", default="100,1000,5000", help="comma-separated N (default 100,1000,5000)")
    counts = [int(n) for n in parser.parse_args(argv).subscribers.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        environment = {**os.environ, "CHANNELS_DEV_DIR": folder, "CHANNELS_BACKEND": "embedded",
                       "PYTHONUNBUFFERED": "1"}
        with subprocess.Popen([sys.executable, "-m", "commands.cli", "serve", "--port", "0"], cwd=ROOT, env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as served:
            try:
                assert served.stdout is not None
                lines: list[str] = []
                while not any(line.strip().startswith("More tokens:") for line in lines):
                    lines.append(served.stdout.readline())
                base_url = next(line.split("GraphiQL:")[1].strip() for line in lines if "GraphiQL:" in line)
                admin = json.loads(lines[next(i for i, line in enumerate(lines) if "Admin header" in line) + 1])
                wait_until_healthy(int(base_url.removesuffix("/graphql").rpartition(":")[2]))
                base_url = base_url.removesuffix("/graphql")
                for count in counts:
                    result = asyncio.run(measure(base_url, served.pid, admin["Authorization"], count))
                    print(json.dumps(result), flush=True)
            finally:
                served.terminate()
                served.wait(timeout=60)


if __name__ == "__main__":
    main()
