"""HTTP-level limits on request bodies, checked before anything reads them into memory: their size,
and the time a client may take to send one (docs/hostile-input.md)."""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.transport_errors import transport_error_response


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


# A client sends its whole body within this many seconds of the first read, or gets 408: a body
# trickled a byte at a time would otherwise hold a request (and its connection) open indefinitely.
BODY_READ_SECONDS = 10.0


def _content_length(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value
    return None


class BodySizeLimitMiddleware:
    """Answers 413 to a request whose body exceeds `max_bytes`, declared (Content-Length) or streamed,
    and 408 to one whose body takes longer than `read_seconds` to arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_seconds: float = BODY_READ_SECONDS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_seconds = read_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False
        body_done = False
        deadline: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, body_done, deadline
            if body_done:
                return await receive()  # after the body: a disconnect, whenever it comes
            deadline = deadline or time.monotonic() + self.read_seconds
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)
        except _BodyTooSlow:
            if not started:
                response = transport_error_response(
                    408, f"Request body not received within {self.read_seconds:g} seconds.")
                await response(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = transport_error_response(413, f"Request body larger than {self.max_bytes} bytes.")
        await response(scope, receive, send)
