"""The request log line is built only when the log will show it (issue #12: no work nobody reads)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.types import Message, Receive, Scope, Send

import app.request_log
from app.request_log import RequestLogMiddleware


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def send_request(headers: list[tuple[bytes, bytes]]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}
    asyncio.run(RequestLogMiddleware(answer)(scope, receive, send))
    return sent


def test_no_line_is_built_when_info_is_off(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("the log line was built though nobody reads it")

    monkeypatch.setattr(app.request_log.json, "dumps", refuse)
    caplog.set_level(logging.WARNING, logger="shelcaster.channels.requests")
    sent = send_request([(b"x-request-id", b"abc-123")])
    assert sent[0]["status"] == 200
    assert (b"x-request-id", b"abc-123") in sent[0]["headers"]
    assert caplog.records == []


def test_the_line_is_written_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shelcaster.channels.requests")
    sent = send_request([(b"content-type", b"application/json"), (b"x-request-id", b"not sane!")])
    (header,) = [value for name, value in sent[0]["headers"] if name == b"x-request-id"]
    assert header != b"not sane!" and len(header) == 32  # a fresh id instead of the caller's
    (record,) = caplog.records
    assert f'"requestId":"{header.decode()}"' in record.getMessage()
    assert '"status":200' in record.getMessage()
