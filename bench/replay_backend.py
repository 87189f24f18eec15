"""The benchmark's AWS backend: moto (embedded/emulator.py) behind a recorder that logs every call and can
replay them (docs/performance.md). `python -m bench.replay_backend` prints one JSON line ({"url",
"upstream"}). Recording, each request is forwarded to moto, logged (AWS service from the signature's
credential scope, operation, request and response as JSON: how the benchmark counts round trips and
items read, whatever client the service uses) and its response kept, keyed by path, `X-Amz-Target` and
body with keys sorted. `POST /__replay__/replay` switches to answering from the recording alone (a
dictionary lookup); a request not recorded answers 500 `ReplayMiss` and is counted. `GET
/__replay__/stats`: {"recorded", "replayed", "missed"}; `GET /__replay__/log?since=N`: the calls logged
from the N-th on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from data.clients import AwsConnection

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


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)  # a client sends a repeated call as the same bytes: parse those once
def key_of(path: str, target: str, body: bytes) -> str:
    """A request's key: its JSON with keys sorted (signatures, dates and request ids are not in it)."""
    document = _json(body)
    return f"{path} {target} {json.dumps(document, sort_keys=True) if document is not None else body!r}"


def call_of(path: str, headers: dict[str, str], body: bytes, answer: Recorded) -> dict[str, Any]:
    """A logged call: the AWS service signed for (`Credential=key/date/region/service/aws4_request`), the
    operation (JSON protocols name it in X-Amz-Target, IVS's REST protocol in the path)."""
    scope = headers.get("authorization", "").partition("Credential=")[2].split(",")[0].split("/")
    target = headers.get("x-amz-target", "")
    operation = target.rpartition(".")[2] if target else urllib.parse.urlsplit(path).path.strip("/").split("/")[0]
    return {"service": scope[3] if len(scope) > 3 else "", "operation": operation, "status": answer.status,
            "request": _json(body), "response": _json(answer.body)}


@dataclass
class Recording:
    upstream: str
    replaying: bool = False
    responses: dict[str, Recorded] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    replayed: int = 0
    missed: int = 0

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Recorded:
        parsed = urllib.parse.urlsplit(self.upstream)
        connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
        try:
            connection.request(method, path, body, {k: v for k, v in headers.items() if k not in ("host", "connection")})
            response = connection.getresponse()
            answer = Recorded(response.status, tuple((name, value) for name, value in response.getheaders()
                                                      if name.lower() in KEPT_HEADERS), response.read())
        finally:
            connection.close()
        self.responses[key_of(path, headers.get("x-amz-target", ""), body)] = answer
        self.log.append(call_of(path, headers, body, answer))
        return answer

    def replay(self, path: str, headers: dict[str, str], body: bytes) -> Recorded:
        target = headers.get("x-amz-target", "")
        answer = self.responses.get(key_of(path, target, body))
        if answer is not None:
            self.replayed += 1
            return answer
        self.missed += 1
        message = json.dumps({"__type": "ReplayMiss", "message": f"not recorded: {target} {body[:300]!r}"})
        return Recorded(500, (("Content-Type", "application/x-amz-json-1.0"),), message.encode())

    def control(self, method: str, path: str) -> Recorded | None:
        if not path.startswith("/__replay__/"):
            return None
        if method == "POST" and path == "/__replay__/replay":
            self.replaying = True
        if path.startswith("/__replay__/log"):
            since = int(urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("since", ["0"])[0])
            document: Any = self.log[since:]
        else:
            document = {"recorded": len(self.log), "replayed": self.replayed, "missed": self.missed}
        return Recorded(200, (("Content-Type", "application/json"),), json.dumps(document).encode())


async def _serve_connection(recording: Recording, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {name.strip().lower(): value.strip() for name, _, value in
                       (line.partition(":") for line in lines if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            answer = recording.control(method, path)
            if answer is None:
                answer = (recording.replay(path, headers, body) if recording.replaying
                          else await asyncio.to_thread(recording.record, method, path, headers, body))
            writer.write(answer.wire)
            await writer.drain()
    finally:
        writer.close()


async def _serve(upstream: str) -> None:
    recording = Recording(upstream)
    server = await asyncio.start_server(lambda r, w: _serve_connection(recording, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "upstream": upstream}), flush=True)
    async with server:
        await server.serve_forever()


def aws_at(endpoint_url: str) -> AwsConnection:
    from embedded.emulator import EMBEDDED_CREDENTIALS, EMBEDDED_REGION

    key, secret = EMBEDDED_CREDENTIALS
    return AwsConnection(region=EMBEDDED_REGION, endpoint_url=endpoint_url, access_key_id=key, secret_access_key=secret)


@dataclass(frozen=True)
class Backend:
    """The running backend, seen from the benchmark: the recorder, the emulator behind it, its control path."""

    url: str
    upstream: str

    @property
    def recorder(self) -> AwsConnection:
        return aws_at(self.url)

    @property
    def emulator(self) -> AwsConnection:
        return aws_at(self.upstream)

    def _control(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.url}/__replay__/{path}", method=method,
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, int]:
        return dict(self._control("stats"))

    def calls(self, since: int) -> list[dict[str, Any]]:
        return list(self._control(f"log?since={since}"))

    def replay(self) -> None:
        self._control("replay", "POST")


@contextlib.contextmanager
def replay_backend() -> Iterator[Backend]:
    """The backend in a process of its own, recording; stopped on the way out."""
    from bench.processes import announced_child

    with announced_child(["bench.replay_backend"]) as hello:
        yield Backend(str(hello["url"]), str(hello["upstream"]))


def main() -> None:
    from embedded.emulator import EmbeddedAws

    emulator = EmbeddedAws()
    try:
        asyncio.run(_serve(emulator.start().endpoint_url or ""))
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
