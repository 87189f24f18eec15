"""AWS Lambda entry points: the GraphQL API behind API Gateway (HTTP API v2 and REST API v1 events).

Mangum (maintained; 0.22 in 2026) adapts the same Starlette app. Everything is built on the first
invocation and kept for the life of the container: no client is built at import (that would slow
every cold start and break tests that patch AWS), and none per invocation. The ASGI lifespan is off:
Mangum would run it on every invocation.

With Lambda SnapStart (deploy/template.yaml) the building happens before the snapshot instead:
`before_snapshot` builds the app (imports, settings, the three clients, the schema) and answers one
`{ __typename }` through it (parser, validation and execution warmed, no AWS call, no token). What
one snapshot must not hand to every copy restored from it is refreshed by `after_restore`: the random
module's state, the verified tokens and the JWKS (their lifetimes are measured on clocks a restore
does not keep honest), the cached stream-key data keys, and any pooled connection. The hooks come
from `snapshot_restore_py`, which Lambda's Python runtime provides; elsewhere they are not registered
(and can be called directly, as the tests do).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Iterator
from typing import Any

_api: Any = None
_api_service: Any = None  # the app.bootstrap.Service behind _api
_events_backend: Any = None
_events_dead_letters: Any = None  # data.dead_letters.DeadLetterQueue, or None when none is configured
_live_check_backend: Any = None

# An HTTP API (v2) event for `{ __typename }`: the warm-up request before a snapshot.
_WARM_UP_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "POST /graphql",
    "rawPath": "/graphql",
    "rawQueryString": "",
    "headers": {"content-type": "application/json", "content-length": "26", "host": "snapshot.invalid"},
    "requestContext": {
        "accountId": "000000000000", "apiId": "snapshot", "domainName": "snapshot.invalid",
        "domainPrefix": "snapshot", "requestId": "snapshot-warm-up", "routeKey": "POST /graphql",
        "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
        "http": {"method": "POST", "path": "/graphql", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": "snapshot-warm-up"},
    },
    "body": '{"query":"{ __typename }"}',
    "isBase64Encoded": False,
}


class _WarmUpContext:
    function_name = "snapshot-warm-up"
    aws_request_id = "snapshot-warm-up"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000

# The loggers the service logs to: its packages' own (`logging.getLogger(__name__)`) and the
# `shelcaster.*` ones (the request line, the events outcome line, masked errors).
SERVICE_LOGGERS = ("shelcaster", "app", "data", "domain", "resolvers", "schema", "services")
# Lambda's ApplicationLogLevel names, as `logging` levels.
_LAMBDA_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}


def configure_lambda_logging(application_log_level: str | None) -> None:
    """Give the service's loggers the function's application log level (INFO when it has none).

    Lambda's Python runtime puts its own handler on the root logger. With the JSON log format it sets
    the root's level from AWS_LAMBDA_LOG_LEVEL; in the Text format without a level it leaves the root
    at WARNING, which would drop the INFO request line. With their own level, the service's loggers
    pass INFO records to the root's handler whatever the root's level, and an operator who sets WARN
    in the console silences them.
    """
    level = _LAMBDA_LEVELS.get((application_log_level or "INFO").upper(), logging.INFO)
    for name in SERVICE_LOGGERS:
        logging.getLogger(name).setLevel(level)


def before_snapshot() -> None:
    """Everything a first invocation would build, built now (SnapStart takes the snapshot after)."""
    global _api
    if _api is None:
        _api = _build_api()
    service = _api_service
    assert service is not None
    service.clients.build_all()
    if service.backend.reader is not None:
        service.backend.reader.prepare()  # aiohttp and aiodynamo imported into the snapshot
    answer = _api(_WARM_UP_EVENT, _WarmUpContext())
    if answer.get("statusCode") != 200 or '"errors"' in str(answer.get("body")):
        raise RuntimeError(f"the warm-up request before the snapshot failed: {answer.get('statusCode')} {answer.get('body')}")


def after_restore() -> None:
    """Make this restored copy its own: nothing unique, timed or connected is shared with the others."""
    import random

    random.seed()  # seeded from os.urandom: each copy draws its own numbers
    service = _api_service
    if service is None:
        return
    service.verifier.verified.clear()
    keys = service.verifier.keys
    forget = getattr(keys, "forget", None)
    if forget is not None:
        forget()
    if service.backend.stream_keys is not None:
        service.backend.stream_keys.forget_cached_keys()
    for client in (service.clients.dynamodb, service.clients.ivs, service.clients.kms):
        if getattr(client, "built", True):
            client.close()  # idle pooled connections; botocore opens new ones on the next call
    if service.backend.reader is not None:
        service.backend.reader.forget_connections()  # the queries' reads (aiohttp) likewise


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The API function: an API Gateway event in, its HTTP response out."""
    global _api
    if _api is None:
        _api = _build_api()
    return _api(event, context)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a cold start imports and builds the app.

    Those steps create a few hundred thousand objects (modules, classes, the schema, botocore's
    models) that live as long as the process, and the collector's passes over them as they pile up
    find nothing to free. In Lambda (AWS_LAMBDA_FUNCTION_NAME set by its runtime) they are then
    frozen (`gc.freeze`: moved to the permanent generation, which no later collection scans), so the
    passes are not merely postponed into the first request (measured when the cold start was a
    target: docs/performance.md, "Cold start in aws mode"). Elsewhere (tests that build the app again and again,
    whose garbage must stay collectable) the collector is only paused. Reference counting frees what
    it frees meanwhile; collection resumes as before once the build is over. Nested, or with the
    collector already off, it changes nothing."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            gc.freeze()
        gc.enable()


def import_app() -> None:
    """The modules a first invocation imports before it builds anything, the collector paused."""
    with collector_paused():
        import mangum  # noqa: F401

        import app.bootstrap
        import app.http
        import app.settings  # noqa: F401


def _build_api() -> Any:
    with collector_paused():
        import_app()
        from mangum import Mangum

        from app.bootstrap import bootstrap
        from app.http import create_app
        from app.settings import load_settings

        global _api_service
        settings = load_settings()
        configure_lambda_logging(settings.lambda_log_level)
        _api_service = bootstrap(settings)
        return Mangum(create_app(_api_service), lifespan="off")


def _build_backend() -> Any:
    """The use cases' backend for a function without HTTP (events, live check): built once per container."""
    with collector_paused():
        from app.bootstrap import bootstrap
        from app.settings import load_settings

        settings = load_settings()
        configure_lambda_logging(settings.lambda_log_level)
        return bootstrap(settings).backend


def _build_dead_letters() -> Any:
    """The events function's dead-letter queue (CHANNELS_EVENTS_DEAD_LETTER_QUEUE_URL), or None."""
    from app.settings import load_settings
    from data.clients import AwsConnection, build_sqs_client
    from data.dead_letters import DeadLetterQueue

    settings = load_settings()
    if settings.events_dead_letter_queue_url is None:
        return None
    return DeadLetterQueue(build_sqs_client(AwsConnection(region=settings.region)),
                           settings.events_dead_letter_queue_url)


def events_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """The events function: one EventBridge event from IVS (stream or recording state change).

    An AWS failure raises, so that Lambda retries and then sends the event to the dead-letter queue;
    an event the service does not act on is answered, not retried; one that can never be applied
    (domain.ivs_events) is sent to the dead-letter queue once, with its reason, and answered.
    """
    global _events_backend
    if _events_backend is None:
        _events_backend = _build_backend()
    from services.ivs_events import apply_ivs_event

    outcome = apply_ivs_event(_events_backend, event)
    _log_event(event, outcome)
    if outcome.startswith("refused"):
        _send_refused(event, outcome)
    return {"outcome": outcome}


def _send_refused(event: dict[str, Any], outcome: str) -> None:
    """An event that can never be applied goes to the dead letters once, with its reason, instead of
    being retried (`redrive-events` lists it and leaves it for the operator)."""
    import json

    global _events_dead_letters
    if _events_dead_letters is None:
        _events_dead_letters = _build_dead_letters() or False
    if _events_dead_letters:
        _events_dead_letters.send(json.dumps({"refusedEvent": event, "reason": outcome.removeprefix("refused: ")}))


def live_check_handler(event: dict[str, Any], context: Any) -> dict[str, list[str]]:
    """The scheduled live-state check (once a minute): IVS's streams against the LIVE channels."""
    global _live_check_backend
    if _live_check_backend is None:
        _live_check_backend = _build_backend()
    import json
    from dataclasses import asdict

    from services.live_check import check_live

    report = check_live(_live_check_backend)
    logging.getLogger("shelcaster.channels.live_check").info(json.dumps(asdict(report)))
    return asdict(report)


def _log_event(event: dict[str, Any], outcome: str) -> None:
    import json

    raw_detail = event.get("detail")
    detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
    logging.getLogger("shelcaster.channels.ivs_events").info(
        json.dumps(
            {
                "event": event.get("detail-type"),
                "name": detail.get("event_name") or detail.get("recording_status"),
                "streamId": detail.get("stream_id"),
                "resource": (event.get("resources") or [None])[0],
                "outcome": outcome,
            }
        )
    )


def reset() -> None:
    """Forget what was built (tests start each case from a cold container), closing the event loop
    Mangum set up for it."""
    global _api, _api_service, _events_backend, _events_dead_letters, _live_check_backend
    if _api is not None:
        import asyncio
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loop = asyncio.get_event_loop_policy().get_event_loop()
        if _api_service is not None and _api_service.backend.reader is not None:
            _api_service.backend.reader.forget_connections()  # closed on the loop they belong to
        loop.close()
        asyncio.set_event_loop(None)
    _api = None
    _api_service = None
    _events_backend = None
    _events_dead_letters = None
    _live_check_backend = None
    for name in SERVICE_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


try:  # Lambda's Python runtime provides it; elsewhere there is no snapshot to take
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:
    pass
else:
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
