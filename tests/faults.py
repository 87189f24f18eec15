"""Fault injection through botocore's event hooks: a chosen AWS call answers with an error instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
