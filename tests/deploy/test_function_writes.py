"""The functions without HTTP write only what their roles allow (deploy/template.yaml, `dynamodb:LeadingKeys`).

The events function and the live-state check are granted fewer partition keys than the API function
(data/table.py STATE_CHANGE_PARTITION_KEYS). Here their code runs against the emulator through every
path the tests know (each IVS event in order, out of order, twice; a check that finds a stream, one that
loses it), with every item write of their DynamoDB client recorded: each partition key written must be
one the role may write, as IAM would refuse it (and the event would go to the dead-letter queue).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from datetime import timedelta
from typing import Any

import pytest

from app.bootstrap import Service
from embedded.emulator import EmbeddedAws
from embedded.ivs_stand_in import LocalIvsStreamsStandIn
from data.table import STATE_CHANGE_PARTITION_KEYS, WRITTEN_PARTITION_KEYS
from domain.access import Caller
from domain.model import NewChannelRequest
from services.channels import assign_channel, create_channel
from services.ivs_events import apply_ivs_event
from services.live_check import check_live
from tests.api.test_live_streams import ivs_event
from tests.deploy.test_template import role_statements
from tests.deploy.test_template_hardening import DYNAMODB_ITEM_WRITES, actions

ADMIN = Caller("admin-1", is_admin=True)
ROLE_OF = {"events": "EventsFunctionRole", "live check": "LiveCheckFunctionRole", "API": "ApiFunctionRole"}


class WrittenKeys:
    """Every partition key an item write names (single writes and each item of a transaction)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        if operation in ("PutItem",):
            self.keys.add(params["Item"]["pk"]["S"])
        elif operation in ("UpdateItem", "DeleteItem"):
            self.keys.add(params["Key"]["pk"]["S"])
        elif operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, request), = action.items()
                self.keys.add((request.get("Item") or request["Key"])["pk"]["S"])
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    put = request.get("PutRequest")
                    self.keys.add((put["Item"] if put else request["DeleteRequest"]["Key"])["pk"]["S"])

    def outside(self, patterns: tuple[str, ...]) -> set[str]:
        return {key for key in self.keys if not any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)}


@pytest.fixture
def recorded(service: Service) -> Any:
    written = WrittenKeys()
    events = service.clients.dynamodb.meta.events
    events.register("before-parameter-build.dynamodb", written)
    yield written
    events.unregister("before-parameter-build.dynamodb", written)


def _new_channel(service: Service, host: str | None = None) -> Any:
    channel = create_channel(service.backend, ADMIN, NewChannelRequest(name="Morning Show"))
    if host is not None:
        assign_channel(service.backend, ADMIN, channel.id, host)
    return channel


def test_ivs_events_write_only_what_the_events_role_may(service: Service, recorded: WrittenKeys) -> None:
    channel = _new_channel(service, host="host-1")
    recorded.keys.clear()  # the admin's create and assign are the API function's
    arn = channel.arn
    for name, stream, time in [
        ("ivs_stream_start", "st-1", "2026-11-25T10:00:00Z"),
        ("ivs_recording_start", "st-1", "2026-11-25T10:00:05Z"),
        ("ivs_stream_start", "st-1", "2026-11-25T10:00:00Z"),  # again: already applied
        ("ivs_session_created", "st-1", "2026-11-25T10:00:01Z"),
        ("ivs_stream_end", "st-1", "2026-11-25T10:30:00Z"),
        ("ivs_recording_end", "st-1", "2026-11-25T10:30:05Z"),
        ("ivs_stream_end", "st-2", "2026-11-25T11:30:00Z"),  # out of order: its end first
        ("ivs_stream_start", "st-2", "2026-11-25T11:00:00Z"),
        ("ivs_session_ended", "st-2", "2026-11-25T11:30:01Z"),
    ]:
        apply_ivs_event(service.backend, ivs_event(name, arn, stream, time))

    assert {key.split("#")[0] + "#" for key in recorded.keys} >= {"channel#", "ivsStream#"}
    assert recorded.outside(STATE_CHANGE_PARTITION_KEYS) == set()


def test_the_live_check_writes_only_what_its_role_may(
    service: Service, aws: EmbeddedAws, recorded: WrittenKeys
) -> None:
    stand_in = aws.ivs_stand_in
    assert isinstance(stand_in, LocalIvsStreamsStandIn)
    channel = _new_channel(service, host="host-1")
    stored = service.backend.channels.get_channel(channel.id)
    assert stored is not None and stored.stream_key is not None
    recorded.keys.clear()

    stand_in.connect_encoder(stored.stream_key)
    assert check_live(service.backend).went_live == [channel.id]  # a stream with no event seen
    live = service.backend.channels.get_channel(channel.id)
    assert live is not None and live.live_since is not None
    seen_at = live.live_since + timedelta(minutes=10)
    check_live(dataclasses.replace(service.backend, clock=lambda: seen_at))
    stand_in.disconnect_encoder(channel.arn)
    later = dataclasses.replace(service.backend, clock=lambda: seen_at + timedelta(minutes=5))
    check_live(later)
    assert check_live(later).lost == [channel.id]  # missed twice: IDLE, reason LOST

    assert recorded.keys, "the check wrote nothing: the recorder sees no write"
    assert recorded.outside(STATE_CHANGE_PARTITION_KEYS) == set()


def test_the_state_change_keys_are_a_part_of_the_api_functions() -> None:
    assert set(STATE_CHANGE_PARTITION_KEYS) < set(WRITTEN_PARTITION_KEYS)


@pytest.mark.parametrize(("function", "expected"), [
    ("events", STATE_CHANGE_PARTITION_KEYS), ("live check", STATE_CHANGE_PARTITION_KEYS), ("API", WRITTEN_PARTITION_KEYS),
])
def test_each_role_may_write_exactly_its_functions_keys(
    template: dict[str, Any], function: str, expected: tuple[str, ...]
) -> None:
    granted = [statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
               for statement in role_statements(template, ROLE_OF[function])
               if actions([statement], "dynamodb") & DYNAMODB_ITEM_WRITES]
    assert granted == [list(expected)]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from tests.deploy.test_template_hardening import _parsed

    return _parsed()
