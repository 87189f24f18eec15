"""`provision` adds each index as the table's capacity mode demands (DynamoDB's rule, which moto does
not enforce: tests.dynamodb_rules refuses what real DynamoDB refuses), one at a time, each ACTIVE
before the next."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

import data.provision_steps
from data.capacity_mode import IndexThroughput, TableCapacity
from data.dynamo import DynamoTable
from data.provisioning import ProvisionFailed, provision, required_indexes
from tests.data.table_setup import ENTITY_INDEX
from tests.data.test_migration import create_platform_table, put_old_records
from tests.dynamodb_rules import CapacityModeRules
from tests.faults import Spy

# Every index the service adds beside the platform's entityType index, in the order provision adds them.
NEW_INDEXES = [index["IndexName"] for index in required_indexes(ENTITY_INDEX) if index["IndexName"] != ENTITY_INDEX]
X_INDEX = {
    "IndexName": "x-index",
    "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}


def add_x_index(table: DynamoTable, **settings: Any) -> None:
    table.client.update_table(
        TableName=table.name,
        AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {**X_INDEX, **settings}}],
    )


def index_units(table: DynamoTable) -> dict[str, tuple[int, int]]:
    description = table.client.describe_table(TableName=table.name)["Table"]
    return {
        index["IndexName"]: (index["ProvisionedThroughput"]["ReadCapacityUnits"],
                             index["ProvisionedThroughput"]["WriteCapacityUnits"])
        for index in description["GlobalSecondaryIndexes"]
    }


# The rule, as the tests' client enforces it (so that a provision breaking it cannot pass)


def test_a_gsi_without_throughput_on_a_provisioned_table_is_refused_as_dynamodb_does(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PROVISIONED")

    with pytest.raises(ClientError) as refused:
        add_x_index(table)

    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "One or more parameter values were invalid: ProvisionedThroughput is not specified for index: x-index",
    }


def test_a_gsi_with_throughput_on_an_on_demand_table_is_refused_as_dynamodb_does(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PAY_PER_REQUEST")

    with pytest.raises(ClientError) as refused:
        add_x_index(table, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})

    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "One or more parameter values were invalid: ProvisionedThroughput should not be specified for "
                   "index: x-index when BillingMode is PAY_PER_REQUEST",
    }


def test_two_gsi_creates_in_one_update_are_refused_as_dynamodb_does(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PAY_PER_REQUEST")

    with pytest.raises(ClientError) as refused:
        table.client.update_table(
            TableName=table.name,
            AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": X_INDEX}, {"Create": {**X_INDEX, "IndexName": "y-index"}}],
        )

    assert refused.value.response["Error"]["Code"] == "LimitExceededException"


# provision under the rule


def test_provision_on_a_provisioned_table_passes_the_rule(table: DynamoTable, capacity_rules: CapacityModeRules) -> None:
    create_platform_table(table, "ALL", "PROVISIONED")
    put_old_records(table)

    summary = provision(table, ENTITY_INDEX)

    assert (summary.created_indexes, capacity_rules.refused) == (NEW_INDEXES, [])
    assert set(index_units(table).values()) == {(7, 3)}


def test_provision_on_a_provisioned_table_takes_the_units_given(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PROVISIONED")

    provision(table, ENTITY_INDEX, index_throughput=IndexThroughput(read_units=2, write_units=1))

    assert index_units(table) == {ENTITY_INDEX: (7, 3), **{name: (2, 1) for name in NEW_INDEXES}}


def test_provision_on_an_on_demand_table_sends_no_throughput(table: DynamoTable, capacity_rules: CapacityModeRules) -> None:
    create_platform_table(table, "ALL", "PAY_PER_REQUEST")
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.extend(update["Create"] for update in params.get("GlobalSecondaryIndexUpdates", []))

    table.client.meta.events.register("before-parameter-build.dynamodb.UpdateTable", record)
    provision(table, ENTITY_INDEX)

    assert [create["IndexName"] for create in sent] == NEW_INDEXES
    assert [key for create in sent for key in create if key.endswith("Throughput")] == []
    assert capacity_rules.refused == []


def test_provision_gives_new_indexes_the_on_demand_limits_of_the_table(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PAY_PER_REQUEST")
    sent: list[dict[str, Any]] = []

    def with_limits(parsed: dict[str, Any], **_: Any) -> None:
        # moto does not keep a table's OnDemandThroughput: DescribeTable reports it as DynamoDB would.
        parsed["Table"]["OnDemandThroughput"] = {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1}

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.extend(update["Create"] for update in params.get("GlobalSecondaryIndexUpdates", []))

    table.client.meta.events.register("after-call.dynamodb.DescribeTable", with_limits)
    table.client.meta.events.register("before-parameter-build.dynamodb.UpdateTable", record)
    provision(table, ENTITY_INDEX)

    assert [(create["IndexName"], create.get("OnDemandThroughput")) for create in sent] == [
        (name, {"MaxReadRequestUnits": 100}) for name in NEW_INDEXES
    ]
    assert [key for create in sent for key in create if key == "ProvisionedThroughput"] == []


def test_provision_refuses_units_for_an_on_demand_table_before_changing_anything(table: DynamoTable) -> None:
    create_platform_table(table, "ALL", "PAY_PER_REQUEST")

    with pytest.raises(ProvisionFailed) as failed:
        provision(table, ENTITY_INDEX, index_throughput=IndexThroughput(read_units=5))

    assert failed.value.line() == (
        f"provision failed at 'read the table's capacity mode': {table.name} is PAY_PER_REQUEST (on-demand): its "
        "indexes take no read/write units; fix: run provision without --index-read-units/--index-write-units"
    )
    assert list(index_units(table)) == [ENTITY_INDEX]


def test_provision_refuses_units_for_a_table_it_would_create_on_demand(table: DynamoTable) -> None:
    with pytest.raises(ProvisionFailed) as failed:
        provision(table, ENTITY_INDEX, index_throughput=IndexThroughput(write_units=5))

    assert failed.value.detail == f"{table.name} does not exist and is made on-demand: its indexes take no read/write units"
    with pytest.raises(ClientError):
        table.client.describe_table(TableName=table.name)  # nothing made


def test_provision_waits_for_each_new_index_to_be_active_before_the_next(
    table: DynamoTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_platform_table(table, "ALL", "PROVISIONED")
    sleeps: list[float] = []
    monkeypatch.setattr(data.provision_steps.time, "sleep", sleeps.append)
    building: dict[str, int] = {}  # index -> DescribeTable answers still to report it CREATING

    def started(params: dict[str, Any], **_: Any) -> None:
        for update in params.get("GlobalSecondaryIndexUpdates", []):
            building[update["Create"]["IndexName"]] = 2

    def report_building(parsed: dict[str, Any], **_: Any) -> None:
        for index in parsed.get("Table", {}).get("GlobalSecondaryIndexes", []):
            if building.get(index["IndexName"], 0) > 0:
                building[index["IndexName"]] -= 1
                index["IndexStatus"] = "CREATING"

    table.client.meta.events.register("before-parameter-build.dynamodb.UpdateTable", started)
    table.client.meta.events.register("after-call.dynamodb.DescribeTable", report_building)
    with Spy(table.client) as spy:
        provision(table, ENTITY_INDEX)

    # One UpdateTable per index, then the stream's (data.stream_specification).
    *updates, _ = [n for n, operation in enumerate(spy.operations) if operation == "UpdateTable"]
    assert len(updates) == len(NEW_INDEXES) and len(sleeps) == 2 * len(NEW_INDEXES)  # each reported CREATING twice, waited out
    for previous, following in zip(updates, updates[1:]):
        assert spy.operations[previous + 1:following].count("DescribeTable") >= 3


def test_the_table_capacity_is_read_as_dynamodb_describes_it() -> None:
    assert TableCapacity.of({}) == TableCapacity("PROVISIONED")  # no BillingModeSummary: PROVISIONED
    on_demand = TableCapacity.of({
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        "OnDemandThroughput": {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1},
    })
    assert on_demand.index_settings(IndexThroughput()) == {"OnDemandThroughput": {"MaxReadRequestUnits": 100}}
    unlimited = TableCapacity.of({"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
                                  "OnDemandThroughput": {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}})
    assert unlimited.index_settings(IndexThroughput()) == {}
    provisioned = TableCapacity.of({"ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3}})
    assert provisioned.index_settings(IndexThroughput(write_units=9)) == {
        "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 9}
    }


def test_provision_rerun_waits_for_an_index_an_earlier_run_left_building(
    table: DynamoTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_platform_table(table, "ALL", "PROVISIONED")
    # An earlier provision added the first new index and was stopped while DynamoDB built it.
    first = next(index for index in required_indexes(ENTITY_INDEX) if index["IndexName"] == NEW_INDEXES[0])
    table.client.update_table(
        TableName=table.name,
        AttributeDefinitions=[{"AttributeName": key["AttributeName"], "AttributeType": "S"} for key in first["KeySchema"]],
        GlobalSecondaryIndexUpdates=[{"Create": {**first, "ProvisionedThroughput": {"ReadCapacityUnits": 7,
                                                                                       "WriteCapacityUnits": 3}}}],
    )
    monkeypatch.setattr(data.provision_steps.time, "sleep", lambda seconds: None)
    still_building = {"left": 3}  # DescribeTable answers that report it CREATING
    sent_while_building: list[str] = []

    def report_building(parsed: dict[str, Any], **_: Any) -> None:
        for index in parsed.get("Table", {}).get("GlobalSecondaryIndexes", []):
            if index["IndexName"] == NEW_INDEXES[0] and still_building["left"] > 0:
                still_building["left"] -= 1
                index["IndexStatus"] = "CREATING"

    def check_quiet(params: dict[str, Any], **_: Any) -> None:
        if still_building["left"] > 0:
            sent_while_building.extend(update["Create"]["IndexName"]
                                       for update in params.get("GlobalSecondaryIndexUpdates", []))

    table.client.meta.events.register("after-call.dynamodb.DescribeTable", report_building)
    table.client.meta.events.register("before-parameter-build.dynamodb.UpdateTable", check_quiet)
    summary = provision(table, ENTITY_INDEX)

    assert summary.created_indexes == NEW_INDEXES[1:]  # not created twice
    assert (still_building["left"], sent_while_building) == (0, [])
