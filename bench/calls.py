"""AWS calls counted through botocore's event hooks on the service's own clients."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def service_clients(clients: object) -> dict[str, Any]:
    """Every boto3 client the service holds, by AWS service name (dynamodb, ivs, and kms once added).

    Found by shape rather than by name, so that a client added later is counted without a change here.
    """
    found = {}
    for value in vars(clients).values():
        model = getattr(getattr(value, "meta", None), "service_model", None)
        if model is not None:
            found[model.service_name] = value
    return found


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


@dataclass
class AwsCallLog:
    """Records each AWS API call of some clients: its request parameters and its parsed response.

    `after-call` fires once per API call (retries of one call are not separate calls) and also for
    calls that end in an AWS error, so the log holds every call a request made.
    """

    clients: dict[str, Any]
    calls: list[AwsCall] = field(default_factory=list)
    _pending: dict[int, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> AwsCallLog:
        for client in self.clients.values():
            client.meta.events.register("provide-client-params", self._remember_params)
            client.meta.events.register("after-call", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients.values():
            client.meta.events.unregister("provide-client-params", self._remember_params)
            client.meta.events.unregister("after-call", self._record)

    def _remember_params(self, params: dict[str, Any], **kwargs: Any) -> None:
        # Calls from the request thread pool run concurrently: parameters are keyed by thread.
        with self._lock:
            self._pending[threading.get_ident()] = copy.deepcopy(params)

    def _record(self, event_name: str, parsed: dict[str, Any], **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            params = self._pending.pop(threading.get_ident(), {})
            self.calls.append(AwsCall(service, operation, params, parsed))

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def by_service(self) -> dict[str, int]:
        counts = Counter(call.service for call in self.calls)
        return {service: counts.get(service, 0) for service in self.clients}
