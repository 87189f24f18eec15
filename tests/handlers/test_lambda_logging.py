"""The request line and the events outcome line reach CloudWatch under Lambda's own logging setup.

Lambda's Python runtime (awslambdaric, `bootstrap._setup_logging`) adds its handler to the root
logger before it imports the handler module; with the JSON log format it formats each record as a
JSON document, and when AWS_LAMBDA_LOG_LEVEL is set (JSON format with ApplicationLogLevel) it sets the
root's level from it. Without advanced logging controls the root stays at Python's default, WARNING.
`lambda_runtime` below does the same to the root logger of the test process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import server
from app.settings import Settings
from tests.events.test_ivs_events import live_stream_event
from tests.handlers.test_lambda_handlers import CONTEXT, api_event, lambda_env  # noqa: F401 (fixture)
from tests.support import TokenFactory


class RuntimeJsonFormatter(logging.Formatter):
    """The fields of the runtime's JSON formatter that these tests read."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"level": record.levelname, "message": record.getMessage(), "logger": record.name})


class RuntimeHandler(logging.Handler):
    """The runtime's handler: what it is given goes to CloudWatch (here: to `lines`)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def messages(self, logger: str) -> list[dict[str, Any]]:
        return [json.loads(line["message"]) for line in self.lines if line["logger"] == logger]


@pytest.fixture
def lambda_runtime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[RuntimeHandler]:
    """The root logger as Lambda's runtime leaves it; `request.param` is (log format, log level)."""
    log_format, log_level = request.param
    root = logging.getLogger()
    saved_level = root.level
    root.setLevel(logging.WARNING)  # a fresh interpreter's root
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", log_format)
    if log_level is not None:
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", log_level)
    else:
        monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    handler = RuntimeHandler()
    handler.setFormatter(RuntimeJsonFormatter())
    # awslambdaric: `_get_log_level_from_env_var`, then `if log_level in logging._nameToLevel`.
    runtime_level = {"TRACE": "DEBUG"}.get(log_level or "", log_level or "").upper()
    if runtime_level in logging.getLevelNamesMapping():
        root.setLevel(runtime_level)
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(saved_level)


TEMPLATE_SETUP = ("JSON", "INFO")  # deploy/template.yaml LoggingConfig
WITHOUT_LOGGING_CONTROLS = ("Text", None)


@pytest.mark.parametrize("lambda_runtime", [TEMPLATE_SETUP, WITHOUT_LOGGING_CONTROLS], indirect=True)
def test_the_request_line_reaches_the_runtime_handler(
    lambda_runtime: RuntimeHandler, lambda_env: Settings, tokens: TokenFactory
) -> None:
    response = server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", tokens.admin()), CONTEXT)
    assert response["statusCode"] == 200
    (line,) = lambda_runtime.messages("shelcaster.channels.requests")
    request_id = {name.lower(): value for name, value in response["headers"].items()}["x-request-id"]
    assert (line["requestId"], line["method"], line["path"], line["status"], line["outcome"]) == (
        request_id, "POST", "/graphql", 200, "OK"
    )
    assert [entry["level"] for entry in lambda_runtime.lines if entry["logger"] == "shelcaster.channels.requests"] == [
        "INFO"
    ]


@pytest.mark.parametrize("lambda_runtime", [TEMPLATE_SETUP, WITHOUT_LOGGING_CONTROLS], indirect=True)
def test_the_events_outcome_line_reaches_the_runtime_handler(
    lambda_runtime: RuntimeHandler, lambda_env: Settings, tokens: TokenFactory, aws: Any
) -> None:
    created = server.handler(
        api_event("apigw_http_v2.json", 'mutation { createChannel(input: {name: "Logged"}) { arn streamKey } }',
                  tokens.admin()),
        CONTEXT,
    )
    channel = json.loads(created["body"])["data"]["createChannel"]
    arn = channel["arn"]
    start = live_stream_event(aws.ivs_stand_in, arn, channel["streamKey"])
    assert server.events_handler(start, CONTEXT) == {"outcome": "went LIVE"}
    outcomes = lambda_runtime.messages("shelcaster.channels.ivs_events")
    assert {"event": "IVS Stream State Change", "name": "Stream Start", "streamId": start["detail"]["stream_id"],
            "resource": arn, "outcome": "went LIVE"} in outcomes


@pytest.mark.parametrize("lambda_runtime", [("JSON", "WARN")], indirect=True)
def test_an_operator_level_above_info_silences_the_request_line(
    lambda_runtime: RuntimeHandler, lambda_env: Settings, tokens: TokenFactory
) -> None:
    response = server.handler(api_event("apigw_http_v2.json", "{ capacity { used } }", tokens.admin()), CONTEXT)
    assert response["statusCode"] == 200
    assert lambda_runtime.messages("shelcaster.channels.requests") == []
