"""A backend whose own cost per call is a dictionary lookup: AWS's JSON protocol replayed from moto.

`python -m bench.replay_backend --upstream URL` listens on loopback and prints one JSON line (its
URL). It starts in record mode: every request is forwarded to the upstream emulator and the pair
kept, keyed by the request's path, `X-Amz-Target` and its body with keys sorted (signatures, dates and
request ids are not part of the key). `POST /__replay__/replay` switches to replay mode: each request
is then answered with the recorded response (status, body, the CRC32 header botocore checks), with no
upstream at all. A key recorded more than once answers its responses in turn, so a recorded
assign-then-unassign replays as a pair. Writes carry timestamps, so a write the exact key misses is
matched by its shape (the body with every string and number blanked). Anything else missed answers
500 `ReplayMiss` and is counted: `GET /__replay__/stats` gives {"recorded", "replayed", "missed"}.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.client
import json
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
KEPT_HEADERS = ("content-type", "x-amz-crc32", "x-amzn-requestid")


@dataclass(frozen=True)
class Recorded:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @functools.cached_property
    def wire(self) -> bytes:
        """The whole HTTP/1.1 response, built once: a replayed answer is then a single write."""
        lines = [f"HTTP/1.1 {self.status} {http.client.responses.get(self.status, '')}",
                 *(f"{name}: {value}" for name, value in self.headers), f"Content-Length: {len(self.body)}", "", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _blank(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank(item) for item in value]
    return type(value).__name__


@functools.lru_cache(maxsize=4096)  # botocore sends a repeated call as the same bytes: parse those once
def keys_of(path: str, target: str, body: bytes) -> tuple[str, str | None]:
    """The exact key of a request, and for a write its shape key too."""
    try:
        document = json.loads(body) if body else None
    except ValueError:
        return f"{path} {target} {body!r}", None
    exact = f"{path} {target} {json.dumps(document, sort_keys=True)}"
    operation = target.rpartition(".")[2]
    shape = f"{path} {target} {json.dumps(_blank(document), sort_keys=True)}" if operation in WRITES else None
    return exact, shape


@dataclass
class Recording:
    upstream: str
    replaying: bool = False
    responses: dict[str, list[Recorded]] = field(default_factory=lambda: defaultdict(list))
    turns: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recorded: int = 0
    replayed: int = 0
    missed: int = 0

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Recorded:
        parsed = urllib.parse.urlsplit(self.upstream)
        connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
        try:
            forwarded = {name: value for name, value in headers.items() if name not in ("host", "connection")}
            connection.request(method, path, body, forwarded)
            response = connection.getresponse()
            answer = Recorded(response.status, tuple((name, value) for name, value in response.getheaders()
                                                      if name.lower() in KEPT_HEADERS), response.read())
        finally:
            connection.close()
        exact, shape = keys_of(path, headers.get("x-amz-target", ""), body)
        self.responses[exact].append(answer)
        if shape is not None:
            self.responses[shape].append(answer)
        self.recorded += 1
        return answer

    def replay(self, path: str, headers: dict[str, str], body: bytes) -> Recorded:
        target = headers.get("x-amz-target", "")
        for key in keys_of(path, target, body):
            if key is not None and key in self.responses:
                answers = self.responses[key]
                turn = self.turns[key]
                self.turns[key] = turn + 1
                self.replayed += 1
                return answers[turn % len(answers)]
        self.missed += 1
        message = json.dumps({"__type": "ReplayMiss", "message": f"not recorded: {target} {body[:300]!r}"})
        return Recorded(500, (("Content-Type", "application/x-amz-json-1.0"),), message.encode())

    def stats(self) -> dict[str, int]:
        return {"recorded": self.recorded, "replayed": self.replayed, "missed": self.missed}


async def _serve_connection(recording: Recording, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            answer = _control(recording, method, path)
            if answer is None:
                answer = (recording.replay(path, headers, body) if recording.replaying
                          else await asyncio.to_thread(recording.record, method, path, headers, body))
            writer.write(answer.wire)
            await writer.drain()
    finally:
        writer.close()


def _control(recording: Recording, method: str, path: str) -> Recorded | None:
    if not path.startswith("/__replay__/"):
        return None
    if method == "POST" and path == "/__replay__/replay":
        recording.replaying = True
    body = json.dumps({**recording.stats(), "replaying": recording.replaying}).encode()
    return Recorded(200, (("Content-Type", "application/json"),), body)


async def _main(upstream: str) -> None:
    recording = Recording(upstream)
    server = await asyncio.start_server(lambda r, w: _serve_connection(recording, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--upstream", required=True, help="the emulator's endpoint URL")
    asyncio.run(_main(arguments.parse_args().upstream))


if __name__ == "__main__":
    main()
