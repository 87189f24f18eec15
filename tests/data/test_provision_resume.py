"""`provision` stopped by an AWS failure at each of its steps, then run again: the failure is one
line naming the step and the fix; what it leaves is usable or clearly not ready (no capacity counter:
creates refused, doctor FAILs); the rerun finishes the job as an uninterrupted run would."""

from __future__ import annotations

import pytest

from data.dynamo import DynamoTable
from data.provisioning import ProvisionFailed, provision, required_indexes
from domain.capacity import CapacityCounts
from domain.model import ChannelState
from tests.data.table_setup import ENTITY_INDEX, stores_of
from tests.data.test_migration import (
    IDLE_NEW,
    LIVE_WITH_SESSION,
    NEWEST_FIRST,
    OLD_CHANNELS,
    create_platform_table,
    put_old_records,
)
from tests.faults import Fault

COUNTER_KEY = {"pk": "counter#persistentChannel", "sk": "capacity"}
ALL_INDEXES = sorted(index["IndexName"] for index in required_indexes(ENTITY_INDEX))
DENIED = "AccessDeniedException: injected AccessDeniedException"

# (operation, which call of it fails, the step named, what must already be in place)
STEPS = [
    ("DescribeTable", 1, "describe table", 1),
    ("UpdateTable", 1, "add index channels-by-created-index", 1),
    ("UpdateTable", 2, "add index channels-by-state-index", 2),
    ("UpdateTable", 3, "add index channels-by-arn-index", 3),
    ("UpdateTable", 4, "add index channel-requests-by-status-index", 4),
    ("UpdateTable", 6, "add index channel-requests-by-requester-index", 6),
    ("UpdateTable", 7, "add index slots-by-host-index", 7),
    ("Query", 1, "backfill channel records", 8),  # DynamoTable's read wraps the error: still one line
    ("UpdateItem", 1, "backfill channel records", 8),
    ("UpdateItem", 3, "backfill channel records", 8),
    ("UpdateItem", 6, "backfill assignment records", 8),  # five channels first, then the assignments
    ("PutItem", 1, "create the capacity counter", 8),
]


def indexes(table: DynamoTable) -> list[str]:
    description = table.client.describe_table(TableName=table.name)["Table"]
    return sorted(index["IndexName"] for index in description.get("GlobalSecondaryIndexes", []))


def assert_fully_provisioned(table: DynamoTable) -> None:
    stores = stores_of(table)
    assert indexes(table) == ALL_INDEXES
    assert [channel.id for channel, _ in stores.channels.list_channels(None, 100, None).channels] == NEWEST_FIRST
    assert stores.capacity.read_capacity_counts() == CapacityCounts(
        used=5, by_state={ChannelState.IDLE: 2, ChannelState.LIVE: 2, ChannelState.OFFLINE: 1}
    )
    hosts = {channel_id: channel.assigned_host_ids for channel_id, channel in stores.channels.get_channels(list(OLD_CHANNELS)).items()}
    assert (hosts[IDLE_NEW], hosts[LIVE_WITH_SESSION]) == (frozenset({"host-a"}), frozenset({"host-b"}))
    ttl = table.client.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")


@pytest.mark.parametrize("billing_mode", ["PROVISIONED", "PAY_PER_REQUEST"])
@pytest.mark.parametrize(("operation", "call", "step", "indexes_in_place"), STEPS,
                         ids=[f"{operation}-{call}" for operation, call, _, _ in STEPS])
def test_provision_stopped_at_a_step_says_which_and_a_rerun_finishes(
    table: DynamoTable, billing_mode: str, operation: str, call: int, step: str, indexes_in_place: int
) -> None:
    create_platform_table(table, "ALL", billing_mode)
    put_old_records(table)

    with Fault(table.client, operation, "AccessDeniedException", on_calls={call}, status=400):
        with pytest.raises(ProvisionFailed) as failed:
            provision(table, ENTITY_INDEX)

    line = failed.value.line()
    assert "\n" not in line
    assert line.startswith(f"provision failed at '{step}")
    assert DENIED in line and "fix: allow dynamodb:" in line and "run `shelcaster-channels provision` again" in line
    assert len(indexes(table)) == indexes_in_place
    # Clearly not ready: without the counter every create is refused (and doctor FAILs on it).
    assert table.get(COUNTER_KEY) is None

    provision(table, ENTITY_INDEX)

    assert_fully_provisioned(table)


def test_provision_whose_ttl_step_fails_leaves_a_usable_service_and_says_so(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PROVISIONED")
    put_old_records(table)
    lines: list[str] = []

    with Fault(table.client, "UpdateTimeToLive", "ValidationException", status=400):
        summary = provision(table, ENTITY_INDEX, report=lines.append)

    assert summary.ttl_failure is not None and summary.counter_created and not summary.enabled_ttl
    assert summary.ttl_failure.line() == (
        "provision failed at 'enable TTL on expiresAt': ValidationException: injected ValidationException; "
        "the service is usable meanwhile (idempotency records expire logically after 24 h but stay in the table); "
        "fix: correct what AWS names above, then run `shelcaster-channels provision` again (it resumes where it "
        "stopped)"
    )
    assert not any("TTL" in line for line in lines)
    assert stores_of(table).capacity.read_capacity_counts().used == 5  # usable: the counter is there

    again = provision(table, ENTITY_INDEX)

    assert (again.enabled_ttl, again.ttl_failure, again.counter_created, again.created_indexes) == (True, None, False, [])
    assert_fully_provisioned(table)


def test_provision_creating_the_table_stopped_names_the_step(table: DynamoTable) -> None:
    with Fault(table.client, "CreateTable", "AccessDeniedException", status=400):
        with pytest.raises(ProvisionFailed) as failed:
            provision(table, ENTITY_INDEX)

    assert failed.value.line() == (
        f"provision failed at 'create table {table.name}': {DENIED}; fix: allow dynamodb:CreateTable on the table "
        "for these credentials, then run `shelcaster-channels provision` again (it resumes where it stopped)"
    )
