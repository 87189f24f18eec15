"""The side-by-side run's instruments (bench.load): the load generator counts and checks every response,
and the CPU readings name the right processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from bench.load import OpenConnections, children, machine_busy_ticks, process_cpu_seconds, request_bytes

OK = b'{"data": {"ok": true}}'


@contextlib.asynccontextmanager
async def _answering(body: bytes, answered: list[bytes]) -> AsyncIterator[int]:
    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                answered.append(await reader.readexactly(length))
                # head and body in two writes, as uvicorn sends them
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: " + str(len(body)).encode() + b"\r\n\r\n")
                writer.write(body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


@pytest.fixture
def answered() -> list[bytes]:
    return []


async def test_every_response_is_counted(answered: list[bytes]) -> None:
    async with _answering(OK, answered) as port:
        request = request_bytes(port, "/graphql", b'{"query": "{ ok }"}', {"Content-Type": "application/json"})
        connections = await OpenConnections.open(port, request, 3)
        assert len(answered) == 3  # each connection answered once before any load
        try:
            load = await connections.run(0.2)
        finally:
            connections.close()
        assert all(connection.latencies for connection in connections.connections)
        assert load["requests"] == sum(len(c.latencies) for c in connections.connections) == load["samples"]
        # the last response of each connection arrives after the deadline and is counted; none is lost
        assert len(answered) == 3 + load["requests"]
        assert set(answered) == {b'{"query": "{ ok }"}'}


async def test_a_graphql_error_under_load_fails_the_run(answered: list[bytes]) -> None:
    async with _answering(b'{"data": null, "errors": [{"message": "no"}]}', answered) as port:
        with pytest.raises(RuntimeError, match=r"GraphQL errors under load: b'\{\"data\": null, \"errors\""):
            await OpenConnections.open(port, request_bytes(port, "/graphql", b"{}", {}), 1)


def test_cpu_seconds_of_a_child_and_of_the_machine() -> None:
    busy_before, total_before = machine_busy_ticks()
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nend = time.process_time() + 0.3\n"
                              "while time.process_time() < end: pass\nsys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert child.pid in children(os.getpid())
        deadline = time.monotonic() + 30
        while process_cpu_seconds(child.pid) < 0.25:  # clock ticks: a little under the child's own clock
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        busy, total = machine_busy_ticks()
        assert busy - busy_before >= 0.25 * os.sysconf("SC_CLK_TCK") and total - total_before >= busy - busy_before
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
