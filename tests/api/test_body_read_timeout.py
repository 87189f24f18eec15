"""A body trickled slowly holds no request open past the body's read time (issue 23): 408, coded JSON."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from app.limits import BodySizeLimitMiddleware


async def echo_body(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def call(app: Any, chunks: list[tuple[float, Message]]) -> list[Message]:
    """The app's answer to a body sent as `chunks` (each after its delay in seconds)."""
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        if not pending:
            await asyncio.sleep(3600)  # the client says nothing more
        delay, message = pending.pop(0)
        await asyncio.sleep(delay)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [(b"content-type", b"application/json")]}
    await asyncio.wait_for(app(scope, receive, send), 5)
    return sent


async def test_a_body_that_keeps_the_server_waiting_is_refused_with_408() -> None:
    app = BodySizeLimitMiddleware(echo_body, max_bytes=1024, read_seconds=0.2)
    trickle = [(0.0, {"type": "http.request", "body": b'{"query":', "more_body": True}),
               (0.15, {"type": "http.request", "body": b' "{', "more_body": True})]  # then silence
    sent = await call(app, trickle)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {
        "errors": [{"message": "Request body not received within 0.2 seconds.", "extensions": {"code": "BAD_USER_INPUT"}}]}


async def test_a_body_sent_in_time_is_read_whole_however_many_chunks() -> None:
    app = BodySizeLimitMiddleware(echo_body, max_bytes=1024, read_seconds=0.5)
    chunks = [(0.05, {"type": "http.request", "body": b"ab", "more_body": True}) for _ in range(4)]
    chunks.append((0.05, {"type": "http.request", "body": b"!", "more_body": False}))
    sent = await call(app, chunks)
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"abababab!")
