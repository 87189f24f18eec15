"""The create saga under faults and crashes: no orphan after the request or, at worst, after
`reconcile --apply`; the capacity counter exact; the client told clearly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from app.bootstrap import Service
from data.dynamo import to_dynamo
from domain.access import Caller
from domain.model import ChannelState, NewChannelRequest
from services.channels import create_channel
from services.reconcile import reconcile
from tests.api import queries
from tests.api.test_errors import capacity, ivs_channel_count
from tests.faults import Fault
from tests.support import GraphQLClient, error_codes

# These tests count the account's IVS channels (or reconcile it against the table): an empty account each
# (docs/testing.md, "Fixtures").
pytestmark = pytest.mark.usefixtures("aws_connection")

ADMIN = Caller("admin-1", is_admin=True)
NOW = timedelta(0)


def table_items(service: Service, sk: str) -> list[dict[str, Any]]:
    items = service.clients.dynamodb.scan(TableName=service.table.name)["Items"]
    return [item for item in items if item["sk"]["S"] == sk]


def assert_consistent(service: Service, channels: int) -> None:
    """IVS, records, pending creates and counters agree, with `channels` channels."""
    assert ivs_channel_count(service) == channels
    assert len(table_items(service, "info")) == channels
    assert table_items(service, "pending") == []
    counts = service.backend.capacity.read_capacity_counts()
    assert counts.used == channels
    assert sum(counts.by_state.values()) == channels
    assert reconcile(service.backend, service.settings.entity_index, apply=False, stale_after=NOW).consistent


# Faults answered at once


async def test_record_write_failing_after_ivs_create_leaves_nothing(gql: GraphQLClient, admin: str, service: Service) -> None:
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError", on_calls={2}):
        result = await gql(queries.CREATE, {"input": {"name": "X", "idempotencyKey": "k1"}}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert_consistent(service, 0)


async def test_ivs_create_failing_leaves_nothing(gql: GraphQLClient, admin: str, service: Service) -> None:
    with Fault(service.clients.ivs, "CreateChannel", "ThrottlingException", status=429):
        result = await gql(queries.CREATE, {"input": {"name": "X"}}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert_consistent(service, 0)


async def test_ivs_delete_failing_during_compensation_is_repaired_by_reconcile(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    with Fault(service.clients.dynamodb, "TransactWriteItems", "InternalServerError", on_calls={2}), \
            Fault(service.clients.ivs, "DeleteChannel", "InternalServerException"):
        result = await gql(queries.CREATE, {"input": {"name": "X"}}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert ivs_channel_count(service) == 1  # the orphan compensation could not delete
    assert (await capacity(gql, admin))["used"] == 0  # but its slot was released
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert [f.kind for f in report.findings] == ["orphan-ivs-channel"] and report.repaired
    assert_consistent(service, 0)


async def test_throttling_that_outlasts_retries_is_upstream_error_with_a_retry_hint(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    with Fault(service.clients.dynamodb, "TransactWriteItems", "ThrottlingException", status=400):
        result = await gql(queries.CREATE, {"input": {"name": "X"}}, token=admin)
    assert error_codes(result) == ["UPSTREAM_ERROR"]
    assert result["errors"][0]["extensions"]["retryable"] is True
    assert_consistent(service, 0)


# Crashes: the process dies between two steps, so no compensation runs


class Crash(BaseException):
    """The process dying: nothing after it runs."""


def crash_at(monkeypatch: pytest.MonkeyPatch, service: Service, step: str) -> None:
    backend = service.backend
    # A dead process compensates nothing.
    monkeypatch.setattr(backend.capacity, "release_channel_slot", lambda *a, **k: True)
    monkeypatch.setattr(backend.ivs, "delete_channel", lambda arn: None)
    real_create = backend.ivs.create_channel
    real_save = backend.channels.save_new_channel

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    def create_then_crash(**kwargs: Any) -> Any:
        real_create(**kwargs)
        raise Crash

    def save_then_crash(*args: Any) -> Any:
        real_save(*args)
        raise Crash

    steps: dict[str, tuple[object, str, Callable[..., Any]]] = {
        "before-ivs-create": (backend.ivs, "create_channel", crash),
        "after-ivs-create": (backend.ivs, "create_channel", create_then_crash),
        "before-record-write": (backend.channels, "save_new_channel", crash),
        "after-record-write": (backend.channels, "save_new_channel", save_then_crash),
    }
    target, name, replacement = steps[step]
    monkeypatch.setattr(target, name, replacement)


@pytest.mark.parametrize(
    ("step", "channels_after"),
    [("before-ivs-create", 0), ("after-ivs-create", 0), ("before-record-write", 0), ("after-record-write", 1)],
)
def test_a_crash_at_any_step_is_repaired_by_reconcile(
    service: Service, monkeypatch: pytest.MonkeyPatch, step: str, channels_after: int
) -> None:
    with monkeypatch.context() as patch:
        crash_at(patch, service, step)
        with pytest.raises(Crash):
            create_channel(service.backend, ADMIN, NewChannelRequest(name="Crashy", idempotency_key="crash-key"))
    # What a crash leaves is not consistent yet (unless it crashed after the last write)...
    dry = reconcile(service.backend, service.settings.entity_index, apply=False, stale_after=NOW)
    assert dry.consistent is (step == "after-record-write")
    # ...and reconcile --apply makes it so.
    applied = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert applied.repaired
    assert_consistent(service, channels_after)
    # The idempotency key is free again (or, after the record write, gives the channel).
    retried = create_channel(service.backend, ADMIN, NewChannelRequest(name="Crashy", idempotency_key="crash-key"))
    assert retried.name == "Crashy"
    assert_consistent(service, 1)


def test_a_create_in_progress_is_left_alone(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        crash_at(patch, service, "after-ivs-create")
        with pytest.raises(Crash):
            create_channel(service.backend, ADMIN, NewChannelRequest(name="Slow"))
    report = reconcile(service.backend, service.settings.entity_index, apply=True)  # default: stale after 10 min
    assert report.findings == []
    assert ivs_channel_count(service) == 1


def test_a_create_judged_dead_that_finishes_late_undoes_itself(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = service.backend.channels.save_new_channel

    def reconcile_runs_first(*args: Any) -> None:
        reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
        real_save(*args)

    monkeypatch.setattr(service.backend.channels, "save_new_channel", reconcile_runs_first)
    with pytest.raises(Exception) as refused:
        create_channel(service.backend, ADMIN, NewChannelRequest(name="Late"))
    assert getattr(refused.value, "code", None) == "UPSTREAM_ERROR"
    monkeypatch.undo()
    assert_consistent(service, 0)


# Drift and lost IVS channels


def test_records_written_by_the_older_functions_are_counted(service: Service) -> None:
    create_channel(service.backend, ADMIN, NewChannelRequest(name="Mine"))
    legacy = {
        "pk": "channel#legacy-1", "sk": "info", "entityType": "persistentChannel", "channelId": "legacy-1",
        "channelArn": "arn:aws:ivs:us-east-1:123456789012:channel/legacy000001", "channelName": "Old", "state": "LIVE",
        "createdAt": "2026-10-01T18:00:00.000Z", "updatedAt": "2026-10-01T18:00:00.000Z",
    }
    service.clients.dynamodb.put_item(TableName=service.table.name, Item=to_dynamo(legacy))
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    kinds = sorted(f.kind for f in report.findings)
    # Its IVS channel does not exist here, so it is also set OFFLINE; the counters follow.
    assert kinds == ["counter-drift", "record-without-ivs-channel"] and report.repaired
    counts = service.backend.capacity.read_capacity_counts()
    assert (counts.used, counts.by_state[ChannelState.IDLE], counts.by_state[ChannelState.OFFLINE]) == (2, 1, 1)
    assert reconcile(service.backend, service.settings.entity_index, apply=False, stale_after=NOW).consistent


def test_ivs_channels_of_others_are_reported_and_never_deleted(service: Service) -> None:
    service.clients.ivs.create_channel(name="someone-elses-channel")
    report = reconcile(service.backend, service.settings.entity_index, apply=True, stale_after=NOW)
    assert [(f.kind, f.needs_repair, f.applied) for f in report.findings] == [("unmanaged-ivs-channel", False, False)]
    assert report.consistent
    assert ivs_channel_count(service) == 1


# Races


@pytest.mark.race
@pytest.mark.parametrize("settings", [{"limit": 20}], indirect=True)
async def test_sixty_parallel_creates_at_limit_twenty_make_exactly_twenty(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    results = await asyncio.gather(
        *(gql(queries.CREATE, {"input": {"name": f"C{n}"}}, token=admin) for n in range(60))
    )
    codes = [error_codes(r)[0] if r.get("errors") else "OK" for r in results]
    assert (codes.count("OK"), codes.count("CAPACITY_EXCEEDED")) == (20, 40)
    assert_consistent(service, 20)


@pytest.mark.race
async def test_twenty_parallel_creates_with_one_key_make_one_channel(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    results = await asyncio.gather(
        *(gql(queries.CREATE, {"input": {"name": "Once", "idempotencyKey": "one"}}, token=admin) for _ in range(20))
    )
    assert {r["data"]["createChannel"]["id"] for r in results if not r.get("errors")} and all(
        not r.get("errors") for r in results
    )
    assert len({r["data"]["createChannel"]["id"] for r in results}) == 1
    assert_consistent(service, 1)
