"""The shared table of the `service` tests (tests/conftest.py, docs/testing.md "Fixtures"): whatever a
test left, the next one starts from the table `provision` leaves."""

from __future__ import annotations

from app.bootstrap import Service
from data.index_layout import required_indexes
from tests.conftest import WorkerTable

COUNTER_KEY = {"pk": {"S": "counter#persistentChannel"}, "sk": {"S": "capacity"}}
COUNTER_AT_ZERO = {**COUNTER_KEY, "entityType": {"S": "channelCapacityCounter"},
                   "used": {"N": "0"}, "idle": {"N": "0"}, "live": {"N": "0"}, "offline": {"N": "0"}}


def items(service: Service) -> list[dict[str, object]]:
    return service.table.client.scan(TableName=service.settings.table)["Items"]


def test_items_a_test_wrote_are_gone_and_the_counter_is_at_zero_again(service: Service, worker_table: WorkerTable) -> None:
    client = service.table.client
    client.put_item(TableName=worker_table.name, Item={"pk": {"S": "channel#1"}, "sk": {"S": "meta"}})
    client.put_item(TableName=worker_table.name, Item={**COUNTER_AT_ZERO, "used": {"N": "7"}})

    worker_table.empty()

    assert items(service) == [COUNTER_AT_ZERO]


def test_an_index_a_test_deleted_is_made_again(service: Service, worker_table: WorkerTable) -> None:
    client = service.table.client
    client.update_table(TableName=worker_table.name,
                        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "channels-by-state-index"}}])
    client.put_item(TableName=worker_table.name, Item={"pk": {"S": "channel#1"}, "sk": {"S": "meta"}})

    worker_table.empty()

    indexes = client.describe_table(TableName=worker_table.name)["Table"]["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in indexes) == sorted(
        index["IndexName"] for index in required_indexes(worker_table.entity_index))
    assert items(service) == [COUNTER_AT_ZERO]


def test_ttl_a_test_turned_off_is_on_again(service: Service, worker_table: WorkerTable) -> None:
    client = service.table.client
    client.update_time_to_live(TableName=worker_table.name,
                               TimeToLiveSpecification={"Enabled": False, "AttributeName": "expiresAt"})

    worker_table.empty()

    assert client.describe_time_to_live(TableName=worker_table.name)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_a_table_a_test_deleted_is_made_again(service: Service, worker_table: WorkerTable) -> None:
    service.table.client.delete_table(TableName=worker_table.name)

    worker_table.empty()

    assert items(service) == [COUNTER_AT_ZERO]
