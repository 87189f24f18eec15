"""What drives a served service against the replayed backend (bench.replay_backend; part 3b):
the scenarios' shape, a sender of a scenario's requests over one keep-alive connection, and the backend
started as a child process and told, over its control path, to switch from recording to replaying."""

from __future__ import annotations

import contextlib
import http.client
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.service_process import announced_child
from bench.workload import Workload


@dataclass(frozen=True)
class Scenario:
    """One figure: the requests one sample sends (the mutation sends assign, then unassign)."""

    name: str
    steps: tuple[Workload, ...]


@contextlib.contextmanager
def graphql_sender(port: int, token: str, scenario: Scenario, answers: list[bytes] | None = None
                   ) -> Iterator[Callable[[], None]]:
    """Sends the scenario's requests over one connection; each answer is appended to `answers` if given.
    An answer other than 200 without errors fails the run."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def send() -> None:
        for step in scenario.steps:
            connection.request("POST", "/graphql", step.body, headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200 or b'"errors"' in body:
                raise RuntimeError(f"{scenario.name} ({step.name}) over HTTP: {response.status} {body[:500]!r}")
            if answers is not None:
                answers.append(body)

    try:
        yield send
    finally:
        connection.close()


@contextlib.contextmanager
def replayed_backend(upstream: str) -> Iterator[str]:
    """bench.replay_backend in a child process, recording from `upstream`; yields its URL."""
    with announced_child("bench.replay_backend", "--upstream", upstream) as hello:
        yield str(hello["url"])


def replay_control(url: str, method: str, path: str) -> dict[str, Any]:
    """POST /__replay__/replay switches the backend to replaying; GET /__replay__/stats counts its calls."""
    request = urllib.request.Request(f"{url}{path}", method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))
