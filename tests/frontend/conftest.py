"""Fixtures for the frontend-facing surface: the app served by uvicorn on a loopback port, and
apps built with other settings over the test backend."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn

from app.bootstrap import Service, bootstrap
from app.http import create_app
from data.clients import AwsConnection
from tests.conftest import make_settings

ServiceFactory = Callable[..., Service]


@pytest.fixture
def service_with(aws_connection: AwsConnection, service: Service) -> Iterator[ServiceFactory]:
    """A service over the test backend (the `service` fixture's table and verifier) with other settings."""
    built: list[Service] = []

    def make(**overrides: object) -> Service:
        settings = make_settings(table=service.settings.table, **overrides)
        other = bootstrap(settings, connection=aws_connection, verifier=service.verifier)
        built.append(other)
        return other

    yield make
    for other in built:
        other.close()


@contextlib.contextmanager
def served(service: Service) -> Iterator[str]:
    """The service's app on 127.0.0.1 (an ephemeral port) in a thread; yields its base URL."""
    config = uvicorn.Config(create_app(service), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
