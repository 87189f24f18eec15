"""Fault injection through botocore's event hooks: a chosen AWS call answers with an error instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from embedded.emulator import WireAnswer, WireRequest


@dataclass
class _Response:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    raw: Any = None


class Fault:
    """Makes calls number `on_calls` (1-based) of `operation` fail with `code`; other calls go through.

    botocore takes a `before-call` handler's return value as the response, so the request never
    leaves the process, and the service sees exactly what botocore raises for such an AWS error.
    """

    def __init__(self, client: Any, operation: str, code: str, *, on_calls: set[int] | None = None,
                 status: int = 500, extra: dict[str, Any] | None = None) -> None:
        self.client = client
        self.operation = operation
        self.code = code
        self.on_calls = on_calls
        self.status = status
        self.extra = extra or {}
        self.calls = 0
        self.injected = 0
        self._event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def __enter__(self) -> Fault:
        self.client.meta.events.register(self._event, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister(self._event, self._handle)

    def _handle(self, **kwargs: Any) -> tuple[_Response, dict[str, Any]] | None:
        self.calls += 1
        if self.on_calls is not None and self.calls not in self.on_calls:
            return None
        self.injected += 1
        parsed = {
            "Error": {"Code": self.code, "Message": f"injected {self.code}"},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
            **self.extra,
        }
        return _Response(self.status), parsed


class Spy:
    """Records the AWS calls of some clients, with their parsed responses."""

    def __init__(self, *clients: Any) -> None:
        self.clients = clients
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __enter__(self) -> Spy:
        for client in self.clients:
            client.meta.events.register("after-call", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients:
            client.meta.events.unregister("after-call", self._record)

    def _record(self, event_name: str, parsed: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append((event_name.split(".", 2)[2], parsed))

    @property
    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def reset(self) -> None:
        self.calls.clear()


class OnTheWire:
    """Every request that reaches the embedded emulator, whichever client sent it (boto3 or the
    queries' aiodynamo reader): `answer(request, number)` (number: 1-based, among the requests of
    that operation) may answer one itself, as DynamoDB would (a throttle, a 500, UnprocessedKeys)."""

    def __init__(self, aws: Any, answer: Callable[[WireRequest, int], WireAnswer | None] | None = None) -> None:
        self.wire = aws.wire
        self.answer = answer
        self.requests: list[WireRequest] = []

    def __enter__(self) -> OnTheWire:
        self.wire.observers.append(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        self.wire.observers.remove(self._observe)

    def _observe(self, request: WireRequest) -> WireAnswer | None:
        self.requests.append(request)
        if self.answer is None:
            return None
        return self.answer(request, self.operations.count(request.operation))

    @property
    def operations(self) -> list[str]:
        return [request.operation for request in self.requests]


def dynamodb_error(code: str, status: int = 400) -> WireAnswer:
    """DynamoDB's answer of an error, as its JSON protocol sends it."""
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"injected {code}"}
    return WireAnswer(status, json.dumps(body).encode())
