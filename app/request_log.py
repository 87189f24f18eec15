"""One structured log line per request: request id, operation, caller, duration, AWS calls, outcome.

The request id comes from the caller's `X-Request-Id` (when sane) or is made here, and is returned in
that header. AWS calls are counted through botocore's event hooks into a context variable that the
worker threads inherit (anyio copies the context), so concurrent requests each count their own.
Nothing secret is logged: no token, no Authorization header, no stream key, no query variables.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.client_strings import cut_short

log = logging.getLogger("shelcaster.channels.requests")

REQUEST_ID_HEADER = "x-request-id"


@dataclass
class RequestRecord:
    """What the log line of one request says; filled in by the layers that know each part."""

    request_id: str
    method: str
    path: str
    operation: str | None = None
    caller_id: str | None = None
    outcome: str | None = None
    status: int | None = None
    aws_calls: dict[str, int] = field(default_factory=dict)


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("request_record", default=None)


def current_request() -> RequestRecord | None:
    return _current.get()


def count_aws_calls(*clients: Any) -> None:
    """Attribute every call of these clients to the request running it (register once per client)."""

    def counted(event_name: str, **kwargs: Any) -> None:
        record = _current.get()
        if record is not None:
            _, service, operation = event_name.split(".", 2)
            key = f"{service}.{operation}"
            record.aws_calls[key] = record.aws_calls.get(key, 0) + 1

    for client in clients:
        client.meta.events.register("before-call", counted, unique_id="shelcaster-request-log")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _sent_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # The path is the client's: cut short like every client string in a log line (CONTRACT.md section 10).
        record = RequestRecord(request_id=request_id, method=scope["method"][:16], path=cut_short(scope["path"])[:120])
        token = _current.set(record)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
            if log.isEnabledFor(logging.INFO):  # the line is built only when someone will read it
                log.info(_line(record, time.perf_counter() - started))


_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()


def _sent_request_id(scope: Scope) -> str | None:
    """The caller's X-Request-Id when it is sane (ASCII letters, digits and dashes, at most 64)."""
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER:
            sent = value.decode("latin-1")
            return sent if sent.isascii() and sent.replace("-", "").isalnum() and len(sent) <= 64 else None
    return None


def _line(record: RequestRecord, seconds: float) -> str:
    return json.dumps(
        {
            "requestId": record.request_id,
            "method": record.method,
            "path": record.path,
            "operation": record.operation,
            "callerId": record.caller_id,
            "status": record.status,
            "outcome": record.outcome or ("OK" if record.status and record.status < 400 else record.status),
            "durationMs": round(seconds * 1000, 2),
            "awsCalls": record.aws_calls,
        },
        separators=(",", ":"),
    )
