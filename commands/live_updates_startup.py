"""What `serve` (and each of its workers) decides about live updates at start, and says on stderr: off
(`--without-live-updates`, CHANNELS_LIVE_UPDATES=off), or on over a table that has no stream, where every
subscription is answered UPSTREAM_ERROR until `provision` enables the stream (docs/live-updates.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from data.stream_specification import stream_view_type

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from app.bootstrap import Service
    from domain.table_changes import ChangeFeed

OFF = ("shelcaster-channels: live updates are off (--without-live-updates or CHANNELS_LIVE_UPDATES=off): "
       "subscriptions answer UPSTREAM_ERROR")


def no_stream(table: str) -> str:
    return (f"shelcaster-channels: table {table} has no stream: live updates cannot start, and every "
            "subscription answers UPSTREAM_ERROR until `shelcaster-channels provision` enables it "
            "(or serve with --without-live-updates to serve none)")


def app_with_live_updates(service: Service) -> Starlette:
    """The app, with live updates unless they are off; says so on stderr when they are off or the table
    has no stream (one DescribeTable)."""
    from app.http import create_app

    if not service.settings.live_updates:
        print(OFF, file=sys.stderr, flush=True)
        return create_app(service, live_updates_off=True)
    return create_app(service, live_update_feeds(service))


def live_update_feeds(service: Service) -> Callable[[], ChangeFeed]:
    """Service.change_feed, once the table was checked for a stream."""
    try:
        description = service.clients.dynamodb.describe_table(TableName=service.table.name)["Table"]
    except (ClientError, BotoCoreError):
        return service.change_feed  # the table's own failure is the readiness probe's and doctor's to report
    if stream_view_type(description) is None:
        print(no_stream(service.table.name), file=sys.stderr, flush=True)
    return service.change_feed
