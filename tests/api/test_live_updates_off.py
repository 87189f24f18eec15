"""A serving process without live updates answers subscriptions with a contract error at once, never a
hang: live updates turned off (`serve --without-live-updates`, CHANNELS_LIVE_UPDATES=off), or on over a
table with no stream (`provision --without-stream`); and `serve` says which at start
(commands.live_updates_startup, docs/live-updates.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.bootstrap import Service, bootstrap
from app.http import create_app
from commands.live_updates_startup import app_with_live_updates
from data.clients import AwsConnection
from tests.api.test_subscriptions import Connection, TestClient, connect
from tests.conftest import make_settings

CHANNEL_EVENTS = "subscription { channelEvents { kind } }"


def subscribe_once(app: object, token: str) -> tuple[dict[str, object], float]:
    """The first message a subscription gets, and how long it took."""
    with TestClient(app) as client, connect(client) as websocket:  # type: ignore[arg-type]
        connection = Connection(websocket)
        connection.init(token)
        started = time.monotonic()
        connection.subscribe(CHANNEL_EVENTS)
        return connection.receive(), time.monotonic() - started


@pytest.fixture
def live_updates_off(service: Service, aws_connection: AwsConnection) -> Iterator[Service]:
    settings = make_settings(table=service.settings.table, live_updates=False)
    other = bootstrap(settings, connection=aws_connection, verifier=service.verifier)
    yield other
    other.close()


def test_a_subscription_with_live_updates_off_says_so(live_updates_off: Service, admin: str) -> None:
    message, _ = subscribe_once(create_app(live_updates_off, live_updates_off=True), admin)
    assert message == {"id": "1", "type": "next", "payload": {"data": None, "errors": [{
        "message": "Live updates are off in this deployment (`serve --without-live-updates`, "
                   "CHANNELS_LIVE_UPDATES=off): it serves no subscriptions (docs/live-updates.md).",
        "extensions": {"code": "UPSTREAM_ERROR", "retryable": False, "reason": "LIVE_UPDATES_OFF"}}]}}


def test_a_subscription_over_a_table_without_a_stream_says_so_at_once(service: Service, admin: str) -> None:
    # The shared test table has no stream (provision(stream=False), as `provision --without-stream`).
    message, seconds = subscribe_once(create_app(service, service.change_feed), admin)
    assert message == {"id": "1", "type": "next", "payload": {"data": None, "errors": [{
        "message": "This deployment's table has no stream, so it has no live updates (subscriptions): run "
                   "`shelcaster-channels provision` to enable it (docs/live-updates.md).",
        "extensions": {"code": "UPSTREAM_ERROR", "retryable": False, "reason": "NO_STREAM"}}]}}
    assert seconds < 5  # one DescribeTable, not the wait for a reader that cannot start


def test_serve_says_at_start_that_live_updates_are_off(
    live_updates_off: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    app_with_live_updates(live_updates_off)
    assert capsys.readouterr().err == (
        "shelcaster-channels: live updates are off (--without-live-updates or CHANNELS_LIVE_UPDATES=off): "
        "subscriptions answer UPSTREAM_ERROR\n")


def test_serve_says_at_start_that_the_table_has_no_stream(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    app_with_live_updates(service)
    assert capsys.readouterr().err == (
        f"shelcaster-channels: table {service.table.name} has no stream: live updates cannot start, and every "
        "subscription answers UPSTREAM_ERROR until `shelcaster-channels provision` enables it "
        "(or serve with --without-live-updates to serve none)\n")
