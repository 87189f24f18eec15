"""The migration path (CONTRACT.md sections 1 and 6): `provision` on the platform's table as it is
today, full of the older Node functions' records, then every channel is listed, filtered, counted
and guarded, and no attribute of an older record is changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from data.clients import AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.provisioning import ProvisionSummary, provision
from data.assignments import ChannelUnavailable, HostAlreadyAssigned
from services.backend import ChannelsBackend
from domain.capacity import CapacityCounts
from domain.model import ChannelState
from tests.data.table_setup import ENTITY_INDEX, stores_of
from tests.unit.builders import make_assignment
from tests.unit.seed_records import seed_assignment, seed_channel

IDLE_NEW = "0a000000-0000-4000-8000-000000000001"
LIVE_WITH_SESSION = "0b000000-0000-4000-8000-000000000002"
OFFLINE_NO_RECORDING = "0c000000-0000-4000-8000-000000000003"
LIVE_WITHOUT_SESSION = "0d000000-0000-4000-8000-000000000004"
IDLE_WITH_STATS = "0e000000-0000-4000-8000-000000000005"

OLD_CHANNELS = {
    IDLE_NEW: seed_channel(IDLE_NEW, created_at="2026-01-05T09:30:00.000Z"),
    LIVE_WITH_SESSION: seed_channel(
        LIVE_WITH_SESSION, created_at="2026-01-10T12:00:00.000Z", updated_at="2026-02-01T18:00:00.000Z",
        state="LIVE", session_id="session-2",
    ),
    OFFLINE_NO_RECORDING: seed_channel(
        OFFLINE_NO_RECORDING, created_at="2026-01-02T08:00:00.000Z", updated_at="2026-01-20T08:00:00.000Z",
        state="OFFLINE", recording=False,
    ),
    LIVE_WITHOUT_SESSION: seed_channel(
        LIVE_WITHOUT_SESSION, created_at="2026-01-20T15:45:10.123Z", updated_at="2026-02-01T19:00:00.000Z",
        state="LIVE",
    ),
    IDLE_WITH_STATS: seed_channel(
        IDLE_WITH_STATS, created_at="2026-01-15T07:00:00.000Z", total_broadcasts="7",
        total_streaming_minutes="312.5", last_broadcast_at="2026-01-31T21:00:00.000Z",
    ),
}
NEWEST_FIRST = [LIVE_WITHOUT_SESSION, IDLE_WITH_STATS, LIVE_WITH_SESSION, IDLE_NEW, OFFLINE_NO_RECORDING]
OLD_ASSIGNMENTS = {
    "host-a": seed_assignment("host-a", OLD_CHANNELS[IDLE_NEW]),
    "host-b": seed_assignment("host-b", OLD_CHANNELS[LIVE_WITH_SESSION]),
    # Left behind by a channel deleted by hand: there is no channel record to add the host to.
    "host-gone": seed_assignment("host-gone", seed_channel("0f000000-0000-4000-8000-00000000dead")),
}
# Another kind of record in the shared table, with a `state` and `createdAt` of its own.
OTHER_RECORD = {
    "pk": {"S": "show#42"},
    "sk": {"S": "info"},
    "entityType": {"S": "show"},
    "state": {"S": "LIVE"},
    "createdAt": {"S": "2026-03-01T00:00:00.000Z"},
}
ADDED_BY_THE_SERVICE = {"channelCatalog", "channelState", "assignedHostIds"}


@dataclass(frozen=True)
class Migrated:
    table: DynamoTable
    stores: ChannelsBackend
    summary: ProvisionSummary
    before: dict[tuple[str, str], dict[str, Any]]


def raw_record(table: DynamoTable, key: dict[str, Any]) -> dict[str, Any]:
    return table.client.get_item(TableName=table.name, Key=key, ConsistentRead=True)["Item"]


TABLE_UNITS = {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3}


def create_platform_table(table: DynamoTable, projection: str, billing_mode: str = "PAY_PER_REQUEST") -> None:
    """The table as the platform has it today: pk/sk strings and only the entityType GSI, billed
    on demand or PROVISIONED (nobody knows how `shelcaster-app` is billed: both must work)."""
    throughput = {"ProvisionedThroughput": TABLE_UNITS} if billing_mode == "PROVISIONED" else {}
    table.client.create_table(
        TableName=table.name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "entityType", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": ENTITY_INDEX,
                "KeySchema": [{"AttributeName": "entityType", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": projection},
                **throughput,
            }
        ],
        BillingMode=billing_mode,
        **throughput,
    )


def put_old_records(table: DynamoTable) -> dict[tuple[str, str], dict[str, Any]]:
    """The older functions' records, put as they wrote them; each record as read back."""
    records = [*OLD_CHANNELS.values(), *OLD_ASSIGNMENTS.values(), OTHER_RECORD]
    for record in records:
        table.client.put_item(TableName=table.name, Item=record)
    return {
        (record["pk"]["S"], record["sk"]["S"]): raw_record(table, {"pk": record["pk"], "sk": record["sk"]})
        for record in records
    }


def migrate(table: DynamoTable, projection: str, billing_mode: str = "PAY_PER_REQUEST") -> Migrated:
    """The platform's table holding the older records, then `provision` run on it."""
    create_platform_table(table, projection, billing_mode)
    before = put_old_records(table)
    summary = provision(table, ENTITY_INDEX)
    return Migrated(table=table, stores=stores_of(table), summary=summary, before=before)


@pytest.fixture
def migrated(table: DynamoTable) -> Migrated:
    return migrate(table, "ALL")


@pytest.fixture(
    params=[("ALL", "PAY_PER_REQUEST"), ("KEYS_ONLY", "PAY_PER_REQUEST"), ("ALL", "PROVISIONED")],
    ids=["entity-index-projects-all", "entity-index-projects-keys", "provisioned-table"],
)
def migrated_any_projection(request: pytest.FixtureRequest, table: DynamoTable) -> Migrated:
    """Migrated whether the platform's entityType index projects whole records or keys only, and
    on a PROVISIONED table (the GSI throughput rule enforced by tests.dynamodb_rules, as DynamoDB does)."""
    return migrate(table, *request.param)


@pytest.fixture
def migrated_provisioned(table: DynamoTable) -> Migrated:
    return migrate(table, "ALL", "PROVISIONED")


def test_provision_adds_the_seven_new_indexes_to_the_existing_table(migrated: Migrated) -> None:
    description = migrated.table.client.describe_table(TableName=migrated.table.name)["Table"]

    assert sorted(index["IndexName"] for index in description["GlobalSecondaryIndexes"]) == [
        "channel-requests-by-created-index", "channel-requests-by-requester-index", "channel-requests-by-status-index",
        "channels-by-arn-index", "channels-by-created-index", "channels-by-state-index", "entityType-index",
        "slots-by-host-index",
    ]
    assert migrated.summary.created_table is False
    assert migrated.summary.created_indexes == [
        "channels-by-created-index", "channels-by-state-index", "channels-by-arn-index",
        "channel-requests-by-status-index", "channel-requests-by-created-index", "channel-requests-by-requester-index",
        "slots-by-host-index",
    ]


def test_provision_gives_the_new_indexes_of_a_provisioned_table_its_own_units(migrated_provisioned: Migrated) -> None:
    description = migrated_provisioned.table.client.describe_table(TableName=migrated_provisioned.table.name)["Table"]

    units = {
        index["IndexName"]: (index["ProvisionedThroughput"]["ReadCapacityUnits"],
                             index["ProvisionedThroughput"]["WriteCapacityUnits"])
        for index in description["GlobalSecondaryIndexes"]
    }
    assert units == {name: (7, 3) for name in (
        "entityType-index", "channels-by-created-index", "channels-by-state-index", "channels-by-arn-index",
        "channel-requests-by-status-index", "channel-requests-by-created-index", "channel-requests-by-requester-index",
        "slots-by-host-index",
    )}
    assert migrated_provisioned.summary.created_indexes == [
        "channels-by-created-index", "channels-by-state-index", "channels-by-arn-index",
        "channel-requests-by-status-index", "channel-requests-by-created-index", "channel-requests-by-requester-index",
        "slots-by-host-index",
    ]


def test_every_seed_attribute_of_the_old_records_is_unchanged_on_a_provisioned_table(
    migrated_provisioned: Migrated,
) -> None:
    for (pk, sk), before in migrated_provisioned.before.items():
        after = raw_record(migrated_provisioned.table, {"pk": {"S": pk}, "sk": {"S": sk}})

        assert {name: value for name, value in after.items() if name not in ADDED_BY_THE_SERVICE} == before, pk


def test_provision_backfills_every_old_channel_and_live_assignment(migrated_any_projection: Migrated) -> None:
    summary = migrated_any_projection.summary

    assert (summary.backfilled_channels, summary.backfilled_assignments, summary.counter_created) == (5, 2, True)


def test_every_old_channel_is_listed_newest_first(migrated_any_projection: Migrated) -> None:
    page = migrated_any_projection.stores.channels.list_channels(None, 100, None)

    assert [channel.id for channel, _ in page.channels] == NEWEST_FIRST
    assert page.has_next_page is False


def test_live_listing_has_only_the_old_live_channels(migrated_any_projection: Migrated) -> None:
    page = migrated_any_projection.stores.channels.list_channels(ChannelState.LIVE, 100, None)

    assert [channel.id for channel, _ in page.channels] == [LIVE_WITHOUT_SESSION, LIVE_WITH_SESSION]


def test_idle_and_offline_listings_have_only_their_old_channels(migrated: Migrated) -> None:
    idle = migrated.stores.channels.list_channels(ChannelState.IDLE, 100, None)
    offline = migrated.stores.channels.list_channels(ChannelState.OFFLINE, 100, None)

    assert [channel.id for channel, _ in idle.channels] == [IDLE_WITH_STATS, IDLE_NEW]
    assert [channel.id for channel, _ in offline.channels] == [OFFLINE_NO_RECORDING]


def test_capacity_counts_the_old_channels_by_state(migrated_any_projection: Migrated) -> None:
    assert migrated_any_projection.stores.capacity.read_capacity_counts() == CapacityCounts(
        used=5, by_state={ChannelState.IDLE: 2, ChannelState.LIVE: 2, ChannelState.OFFLINE: 1}
    )


def test_old_channels_get_their_hosts_from_the_old_assignments(migrated_any_projection: Migrated) -> None:
    channels = migrated_any_projection.stores.channels.get_channels(list(OLD_CHANNELS))

    assert {channel_id: channel.assigned_host_ids for channel_id, channel in channels.items()} == {
        IDLE_NEW: frozenset({"host-a"}),
        LIVE_WITH_SESSION: frozenset({"host-b"}),
        OFFLINE_NO_RECORDING: frozenset(),
        LIVE_WITHOUT_SESSION: frozenset(),
        IDLE_WITH_STATS: frozenset(),
    }


def test_an_assignment_to_a_deleted_channel_creates_no_channel_record(migrated: Migrated) -> None:
    assert migrated.stores.channels.get_channel("0f000000-0000-4000-8000-00000000dead") is None


def test_old_host_owned_channel_with_a_host_refuses_a_second_host(migrated: Migrated) -> None:
    channel = migrated.stores.channels.get_channel(IDLE_NEW)
    assert channel is not None

    with pytest.raises(ChannelUnavailable):
        migrated.stores.assignments.add_assignment(make_assignment("host-new", channel), channel)


def test_old_assignment_still_holds_its_host(migrated: Migrated) -> None:
    channel = migrated.stores.channels.get_channel(IDLE_WITH_STATS)
    assert channel is not None

    with pytest.raises(HostAlreadyAssigned):
        migrated.stores.assignments.add_assignment(make_assignment("host-a", channel), channel)


def test_every_seed_attribute_of_the_old_records_is_unchanged(migrated: Migrated) -> None:
    for (pk, sk), before in migrated.before.items():
        after = raw_record(migrated.table, {"pk": {"S": pk}, "sk": {"S": sk}})

        assert {name: value for name, value in after.items() if name not in ADDED_BY_THE_SERVICE} == before, pk


def test_old_channels_gain_only_the_listing_keys_and_their_hosts(migrated: Migrated) -> None:
    added = {
        channel_id: {
            name: value
            for name, value in raw_record(migrated.table, {"pk": record["pk"], "sk": record["sk"]}).items()
            if name not in record
        }
        for channel_id, record in OLD_CHANNELS.items()
    }

    catalog = {"channelCatalog": {"S": "persistentChannel"}}
    assert added == {
        IDLE_NEW: {**catalog, "channelState": {"S": "IDLE"}, "assignedHostIds": {"SS": ["host-a"]}},
        LIVE_WITH_SESSION: {**catalog, "channelState": {"S": "LIVE"}, "assignedHostIds": {"SS": ["host-b"]}},
        OFFLINE_NO_RECORDING: {**catalog, "channelState": {"S": "OFFLINE"}},
        LIVE_WITHOUT_SESSION: {**catalog, "channelState": {"S": "LIVE"}},
        IDLE_WITH_STATS: {**catalog, "channelState": {"S": "IDLE"}},
    }


def test_assignments_and_other_records_gain_nothing(migrated: Migrated) -> None:
    for record in [*OLD_ASSIGNMENTS.values(), OTHER_RECORD]:
        assert raw_record(migrated.table, {"pk": record["pk"], "sk": record["sk"]}) == record


def test_provision_again_after_the_migration_changes_nothing(migrated: Migrated) -> None:
    snapshot = {key: raw_record(migrated.table, {"pk": {"S": key[0]}, "sk": {"S": key[1]}}) for key in migrated.before}

    lines: list[str] = []
    again = provision(migrated.table, ENTITY_INDEX, report=lines.append)

    assert (again, lines) == (ProvisionSummary(), [])
    assert {key: raw_record(migrated.table, {"pk": {"S": key[0]}, "sk": {"S": key[1]}}) for key in snapshot} == snapshot


def test_provision_completes_past_a_channel_whose_state_it_does_not_know(table: DynamoTable) -> None:
    create_platform_table(table, "ALL")
    unknown = seed_channel("0a000000-0000-4000-8000-0000000000aa", state="ARCHIVED")
    known = seed_channel(IDLE_NEW)
    for record in (unknown, known):
        table.client.put_item(TableName=table.name, Item=record)

    provision(table, ENTITY_INDEX)

    after = raw_record(table, {"pk": unknown["pk"], "sk": unknown["sk"]})
    assert {name: value for name, value in after.items() if name not in ADDED_BY_THE_SERVICE} == unknown
    listed = stores_of(table).channels.list_channels(None, 10, None)
    assert IDLE_NEW in [channel.id for channel, _ in listed.channels]


def test_provision_lets_a_concurrent_state_change_win(table: DynamoTable, aws_connection: AwsConnection) -> None:
    create_platform_table(table, "ALL")
    record = seed_channel(IDLE_NEW)
    table.client.put_item(TableName=table.name, Item=record)
    # Another writer (a second client, as the older functions are) sets the channel LIVE just before
    # provision's first backfill write.
    other_writer = build_clients(aws_connection).dynamodb
    changed: list[bool] = []

    def set_live_first(**_: Any) -> None:
        if not changed:
            changed.append(True)
            other_writer.update_item(
                TableName=table.name,
                Key={"pk": record["pk"], "sk": record["sk"]},
                UpdateExpression="SET #state = :live, currentSessionId = :session",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":live": {"S": "LIVE"}, ":session": {"S": "session-9"}},
            )

    table.client.meta.events.register("before-call.dynamodb.UpdateItem", set_live_first)
    try:
        provision(table, ENTITY_INDEX)
    finally:
        table.client.meta.events.unregister("before-call.dynamodb.UpdateItem", set_live_first)

    stores = stores_of(table)
    channel = stores.channels.get_channel(IDLE_NEW)
    assert channel is not None and (channel.state, channel.current_session_id) == (ChannelState.LIVE, "session-9")
    assert [channel.id for channel, _ in stores.channels.list_channels(ChannelState.LIVE, 10, None).channels] == [IDLE_NEW]
