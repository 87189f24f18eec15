"""A closed-loop HTTP/1.1 load generator that costs as little CPU per request as Python allows.

Each of `concurrency` keep-alive connections is an asyncio.Protocol that sends one pre-built request
(the same bytes every time) and, as soon as the whole response has arrived, the next one: no
coroutine, task, header dictionary or client library per request (httpx spends several times more CPU
per request, which on a 2-core machine is taken from the service being measured). A response must be
200, sized by Content-Length, and carry no GraphQL "errors", or the run fails. With bench.cpu_usage, the
load of a served side-by-side run (issue 30: p50 at 1 connection, throughput at 16, CPU per request).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.stats import Latency

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


@dataclass(frozen=True)
class RawLoad:
    requests: int
    seconds: float
    requests_per_second: float
    latency: Latency
    requests_by_client_port: dict[int, int]  # which connection sent how many (to map them to server processes)


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

    def client_ports(self) -> list[int]:
        return [int(c.transport.get_extra_info("sockname")[1]) for c in self.connections if c.transport]

    async def run(self, seconds: float) -> RawLoad:
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
        return RawLoad(len(latencies), elapsed, len(latencies) / elapsed, Latency.of(latencies),
                       dict(zip(self.client_ports(), (len(c.latencies) for c in self.connections), strict=True)))

    def close(self) -> None:
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()
