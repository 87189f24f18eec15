"""`provision` on an account without the table: creates everything, and a second run changes nothing."""

from __future__ import annotations

from data.dynamo import DynamoTable
from data.provisioning import ProvisionSummary, provision
from tests.data.table_setup import ENTITY_INDEX


def index_keys(description: dict) -> dict[str, list[tuple[str, str]]]:
    return {
        index["IndexName"]: [(key["AttributeName"], key["KeyType"]) for key in index["KeySchema"]]
        for index in description.get("GlobalSecondaryIndexes", [])
    }


def test_provision_creates_the_table_with_pk_and_sk(table: DynamoTable) -> None:
    provision(table, ENTITY_INDEX)

    description = table.client.describe_table(TableName=table.name)["Table"]
    assert [(key["AttributeName"], key["KeyType"]) for key in description["KeySchema"]] == [
        ("pk", "HASH"), ("sk", "RANGE")
    ]
    assert {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]} == {
        "pk": "S", "sk": "S", "entityType": "S", "channelCatalog": "S", "channelState": "S", "createdAt": "S",
        "channelArn": "S", "channelRequestStatus": "S", "channelRequestCatalog": "S", "channelRequesterId": "S",
        "slotHostUserId": "S", "endsAt": "S",
    }


def test_provision_creates_the_eight_indexes(table: DynamoTable) -> None:
    provision(table, ENTITY_INDEX)

    description = table.client.describe_table(TableName=table.name)["Table"]
    assert index_keys(description) == {
        "entityType-index": [("entityType", "HASH")],
        "channels-by-created-index": [("channelCatalog", "HASH"), ("createdAt", "RANGE")],
        "channels-by-state-index": [("channelState", "HASH"), ("createdAt", "RANGE")],
        "channels-by-arn-index": [("channelArn", "HASH")],
        "channel-requests-by-status-index": [("channelRequestStatus", "HASH"), ("createdAt", "RANGE")],
        "channel-requests-by-created-index": [("channelRequestCatalog", "HASH"), ("createdAt", "RANGE")],
        "channel-requests-by-requester-index": [("channelRequesterId", "HASH"), ("createdAt", "RANGE")],
        "slots-by-host-index": [("slotHostUserId", "HASH"), ("endsAt", "RANGE")],
    }
    projections = {i["IndexName"]: i["Projection"]["ProjectionType"] for i in description["GlobalSecondaryIndexes"]}
    assert projections["channels-by-arn-index"] == "KEYS_ONLY"


def test_provision_turns_on_ttl_on_expires_at(table: DynamoTable) -> None:
    provision(table, ENTITY_INDEX)

    ttl = table.client.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")


def test_provision_reports_what_it_created(table: DynamoTable) -> None:
    assert provision(table, ENTITY_INDEX) == ProvisionSummary(
        created_table=True,
        created_indexes=[
            "entityType-index", "channels-by-created-index", "channels-by-state-index", "channels-by-arn-index",
            "channel-requests-by-status-index", "channel-requests-by-created-index",
            "channel-requests-by-requester-index", "slots-by-host-index",
        ],
        backfilled_channels=0,
        backfilled_assignments=0,
        counter_created=True,
        enabled_ttl=True,
    )


def test_provision_twice_changes_nothing_the_second_time(table: DynamoTable) -> None:
    provision(table, ENTITY_INDEX)
    first_description = table.client.describe_table(TableName=table.name)["Table"]
    lines: list[str] = []

    second = provision(table, ENTITY_INDEX, report=lines.append)

    assert second == ProvisionSummary(
        created_table=False, created_indexes=[], backfilled_channels=0, backfilled_assignments=0, counter_created=False
    )
    assert lines == []
    assert index_keys(table.client.describe_table(TableName=table.name)["Table"]) == index_keys(first_description)


def test_provision_starts_the_capacity_counter_at_zero(table: DynamoTable) -> None:
    provision(table, ENTITY_INDEX)

    assert table.get({"pk": "counter#persistentChannel", "sk": "capacity"}) == {
        "pk": "counter#persistentChannel",
        "sk": "capacity",
        "entityType": "channelCapacityCounter",
        "used": 0,
        "idle": 0,
        "live": 0,
        "offline": 0,
    }
