"""The side-by-side run's instruments (issue 30): a closed-loop HTTP/1.1 load generator, and CPU seconds
read from Linux's /proc. Each keep-alive connection is an asyncio.Protocol that sends one pre-built
request and, once the whole response has arrived, the next: no coroutine, task or client library per
request (httpx spends several times the CPU, taken from the server on a 2-core machine). A response must
be 200, sized by Content-Length, and carry no GraphQL "errors", or the run fails.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import Server
from bench.report import latency

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"


def request_bytes(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One POST, ready to write again and again on a keep-alive connection."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


@dataclass
class _Connection(asyncio.Protocol):
    request: bytes
    deadline: float
    done: asyncio.Future[None]
    latencies: list[float] = field(default_factory=list)
    transport: asyncio.Transport | None = None
    buffer: bytearray = field(default_factory=bytearray)
    body_start: int = -1  # where the body begins, once the response's head has arrived
    expected: int = -1  # the whole response's size, likewise
    sent_at: float = 0.0
    measuring: bool = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.expected < 0:
            end = self.buffer.find(HEADER_END)
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            start = head.find(CONTENT_LENGTH)
            if not head.startswith(b"http/1.1 200 ") or start < 0:
                self._fail(f"unexpected response: {bytes(self.buffer[:300])!r}")
                return
            line_end = head.find(b"\r\n", start + 2)
            length = int(head[start + len(CONTENT_LENGTH):line_end if line_end > 0 else None])
            self.body_start = end + len(HEADER_END)
            self.expected = self.body_start + length
        if len(self.buffer) < self.expected:
            return
        now = time.perf_counter()
        body = bytes(self.buffer[self.body_start:self.expected])
        if b'"errors"' in body:
            self._fail(f"GraphQL errors under load: {body[:300]!r}")
            return
        del self.buffer[:self.expected]
        self.body_start = self.expected = -1
        if self.measuring:
            self.latencies.append(now - self.sent_at)
        if now < self.deadline:
            self.send()
        elif not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self._fail(f"connection lost: {exc}")

    def _fail(self, message: str) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(message))
        if self.transport is not None:
            self.transport.close()


class OpenConnections:
    """`concurrency` connections opened (and each answered once) before any load is measured."""

    def __init__(self, connections: list[_Connection]) -> None:
        self.connections = connections

    @classmethod
    async def open(cls, port: int, request: bytes, concurrency: int) -> OpenConnections:
        loop = asyncio.get_running_loop()
        connections = []
        for _ in range(concurrency):  # one after another, as a client pool grows, not in one burst
            connection = _Connection(request, deadline=0.0, done=loop.create_future())
            await loop.create_connection(lambda: connection, "127.0.0.1", port)
            connection.send()  # deadline 0: answers once, then stops
            await connection.done
            connections.append(connection)
        return cls(connections)

    async def run(self, seconds: float) -> dict[str, float]:
        """Requests answered, requests per second and their latency (bench.report.latency) over `seconds`."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        for connection in self.connections:
            connection.deadline = started + seconds
            connection.done = loop.create_future()
            connection.measuring = True
            connection.send()
        await asyncio.gather(*(connection.done for connection in self.connections))
        elapsed = time.perf_counter() - started
        latencies = [value for connection in self.connections for value in connection.latencies]
        return {"requests": len(latencies), "requests_per_second": len(latencies) / elapsed, **latency(latencies)}

    def close(self) -> None:
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` (every thread), from /proc/<pid>/stat."""
    stat = (PROC / str(pid) / "stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces: split after it
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's), from /proc/<pid>/task/*/children."""
    found: set[int] = set()
    for task in (PROC / str(pid) / "task").iterdir():
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return sorted(found)


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds of a server and of its children (the service validates new documents in one)."""
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(child) for child in children(pid))


def machine_busy_ticks() -> tuple[int, int]:
    """Clock ticks of the whole machine since boot: busy (all but idle and iowait), and all."""
    ticks = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


async def load_window(server: Server, request: bytes, connections: int, seconds: float) -> tuple[float, float, float]:
    """p50 ms, requests per second and the server's CPU ms per request of one window."""
    opened = await OpenConnections.open(server.port, request, connections)
    try:
        cpu_before = server_cpu_seconds(server.pid)
        load = await opened.run(seconds)
        cpu = server_cpu_seconds(server.pid) - cpu_before
    finally:
        opened.close()
    return load["p50_ms"], load["requests_per_second"], cpu * 1000 / load["requests"]
