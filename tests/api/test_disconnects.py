"""A client that goes away mid-body is not an error: logged at INFO with status 499, no traceback, no 500."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.types import Message

from app.bootstrap import Service
from app.http import create_app


async def test_client_gone_mid_body_is_logged_at_info_with_499(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(service)
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"query": "{ capa', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"channels.test"), (b"content-type", b"application/json"), (b"content-length", b"64")],
             "client": ("127.0.0.1", 5000), "server": ("channels.test", 80)}
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)

    assert sent == []  # nobody to answer
    assert [record.levelno for record in caplog.records if record.levelno >= logging.WARNING] == []
    line = json.loads([r.getMessage() for r in caplog.records if r.name == "shelcaster.channels.requests"][-1])
    assert (line["status"], line["outcome"]) == (499, "CLIENT_DISCONNECTED")
    disconnect = [r for r in caplog.records if r.name == "shelcaster.channels.errors"]
    assert [(r.levelno, r.exc_info) for r in disconnect] == [(logging.INFO, None)]
