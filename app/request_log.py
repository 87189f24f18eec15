"""One structured log line per request: request id, operation, caller, duration, AWS calls, outcome.

The request id comes from the caller's `X-Request-Id` (when sane) or is made here (32 hex digits from
the kernel's random source: unique across processes and Lambda SnapStart restores, which a counter or a
seeded generator would not be), and is returned in that header. The line's fields are kept as the
layers found them and shaped (cut short, the operation described) only when the line is written. AWS calls are counted through botocore's event hooks into a context variable that the
worker threads inherit (anyio copies the context), so concurrent requests each count their own; the
queries' async reads (data.dynamo_reads) are announced on the same hooks, from the request's own task.
Nothing secret is logged: no token, no Authorization header, no stream key, no query variables.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.client_strings import MAX_CLIENT_STRING, cut_short

log = logging.getLogger("shelcaster.channels.requests")

REQUEST_ID_HEADER = "x-request-id"

# For the log line when the client names no operation: "query Capacity", "mutation createChannel".
# Each pattern is one quantifier matched at a position, never searched: its cost is the length it
# matches, so describing a document is one pass over it (two patterns with adjacent quantifiers over
# the same characters backtracked quadratically on a query of whitespace; docs/hostile-input.md).
_BLANKS = re.compile(r"[\s,\ufeff]*")
_NAME = re.compile(r"\w+")
_COMMENT = re.compile(r"#[^\n\r]*")
_OPERATION_KINDS = ("query", "mutation", "subscription")


@dataclass
class RequestRecord:
    """What the log line of one request says; filled in by the layers that know each part."""

    request_id: str
    method: str
    path: str  # as sent: cut short when the line is written
    operation_name: str | None = None  # the request's operationName
    document: str | None = None  # the GraphQL document's text, described when the line is written
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
        request_id = _sent_request_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        record = RequestRecord(request_id=request_id, method=scope["method"], path=scope["path"])
        token = _current.set(record)
        started = time.perf_counter()
        id_header = (_REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
            if log.isEnabledFor(logging.INFO):  # the line is built only when someone will read it
                log.info(_line(record, time.perf_counter() - started))


_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()


def new_request_id() -> str:
    return os.urandom(16).hex()


def _sent_request_id(scope: Scope) -> str | None:
    """The caller's X-Request-Id when it is sane (ASCII letters, digits and dashes, at most 64)."""
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER:
            sent = value.decode("latin-1")
            return sent if sent.isascii() and sent.replace("-", "").isalnum() and len(sent) <= 64 else None
    return None


def describe_operation(operation_name: str | None, document: str | None) -> str | None:
    """What the line calls the operation: its name, else `query Capacity` for a named operation, else
    `mutation createChannel` (its first field); cut short, as every client string in a log line."""
    described = operation_name or _described_document(document or "")
    return cut_short(described)[:MAX_CLIENT_STRING] or None


def _described_document(document: str) -> str:
    """`kind name` of the document's first operation, else `kind firstField` (its alias skipped)."""
    at = _after_ignored(document, 0)
    word = _NAME.match(document, at)
    kind = word.group() if word and word.group() in _OPERATION_KINDS else None
    if word and kind:
        name = _NAME.match(document, _after_ignored(document, word.end()))
        if name:
            return f"{kind} {name.group()}"
    brace = document.find("{", at)
    field = _NAME.match(document, _after_ignored(document, brace + 1)) if brace >= 0 else None
    if field is None:
        return ""
    colon = _after_ignored(document, field.end())
    if document.startswith(":", colon):  # an alias: the field's name follows
        field = _NAME.match(document, _after_ignored(document, colon + 1)) or field
    return f"{kind or 'query'} {field.group()}"


def _after_ignored(document: str, at: int) -> int:
    """The index of the first character at or after `at` that is not blank, a comma or in a comment;
    each step moves past at least one comment, so the whole is one pass."""
    while True:
        at = _BLANKS.match(document, at).end()  # type: ignore[union-attr]  # `*` always matches
        comment = _COMMENT.match(document, at)
        if comment is None:
            return at
        at = comment.end()


def _line(record: RequestRecord, seconds: float) -> str:
    return json.dumps(
        {
            "requestId": record.request_id,
            "method": record.method[:16],
            # The path is the client's: cut short like every client string in a log line (docs/security.md).
            "path": cut_short(record.path)[:120],
            "operation": describe_operation(record.operation_name, record.document),
            "callerId": record.caller_id,
            "status": record.status,
            "outcome": record.outcome or ("OK" if record.status and record.status < 400 else record.status),
            "durationMs": round(seconds * 1000, 2),
            "awsCalls": record.aws_calls,
        },
        separators=(",", ":"),
    )
