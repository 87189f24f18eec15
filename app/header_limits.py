"""Caps on what a request's head may hold, checked before any layer reads a header (docs/hostile-input.md).

uvicorn's default HTTP parser (httptools) sets no limit on header size or count, and neither does
Mangum behind a Lambda URL, so one request could carry a megabyte in a single header. Every later
reader of headers is linear or bounded by these caps; one is not: strawberry parses `Content-Type`
with the standard library's email package, whose cost grows faster than the value (a value of
semicolons), so that header has a cap of its own, far above any real media type.

A request over a cap is answered as coded JSON (CONTRACT.md section 9): 431 for the headers, 414 for
the URL, code BAD_USER_INPUT; the check itself is one pass over the head's bytes.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.transport_errors import transport_error_response

MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 8 * 1024  # one header's name and value: nginx's default line buffer
MAX_HEAD_BYTES = 32 * 1024  # all headers together: a JWT, cookies and a proxy's additions fit well within
MAX_CONTENT_TYPE_BYTES = 256  # "application/json; charset=utf-8" is 31
MAX_URL_BYTES = 8 * 1024  # path and query string, as sent


def refusal_of_head(scope: Scope) -> tuple[int, str] | None:
    """The status and message that refuse this request's head, or None when it is within every cap."""
    url_bytes = len(scope.get("raw_path") or scope["path"].encode("utf-8")) + len(scope.get("query_string", b""))
    if url_bytes > MAX_URL_BYTES:
        return 414, f"The request's URL is longer than {MAX_URL_BYTES} bytes."
    headers = scope.get("headers", ())
    if len(headers) > MAX_HEADER_COUNT:
        return 431, f"The request has more than {MAX_HEADER_COUNT} headers."
    total = 0
    for name, value in headers:
        size = len(name) + len(value)
        total += size
        if size > MAX_HEADER_BYTES:
            return 431, f"A request header is longer than {MAX_HEADER_BYTES} bytes."
        if name == b"content-type" and len(value) > MAX_CONTENT_TYPE_BYTES:
            return 431, f"The Content-Type header is longer than {MAX_CONTENT_TYPE_BYTES} bytes."
    if total > MAX_HEAD_BYTES:
        return 431, f"The request's headers total more than {MAX_HEAD_BYTES} bytes."
    return None


class HeadLimitMiddleware:
    """Refuses, before anything else reads it, a request whose URL or headers exceed their caps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refusal = refusal_of_head(scope)
            if refusal is not None and scope["type"] == "http":
                status, message = refusal
                await transport_error_response(status, message)(scope, receive, send)
                return
            if refusal is not None:  # a websocket handshake: refused before it is accepted
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)
