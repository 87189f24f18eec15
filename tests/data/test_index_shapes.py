"""A listing index of the wrong shape (made by hand or by another tool): listings stay correct, provision
replaces it expand/contract (data.index_migration), and every state in between lists every channel.

The table's client carries DynamoDB's index-build rules that moto lacks (tests.dynamodb_rules): new
indexes are CREATING (Queries on them refused) and deleted ones DELETING for a few DescribeTable
answers, and one index is created or deleted at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.health import check_readiness
from data.dynamo import DynamoTable
from data.index_layout import required_indexes
from data.provisioning import ProvisionFailed, provision
from services.backend import ChannelsBackend
from domain.model import Channel
from tests.data.table_setup import ENTITY_INDEX, store_channels, stores_of
from tests.dynamodb_rules import IndexBuildRules
from tests.faults import Fault

CREATED = "channels-by-created-index"
REPLACEMENT = "channels-by-created-index-replacement"
KEYS_ONLY = {"ProjectionType": "KEYS_ONLY"}
NARROW_INCLUDE = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["channelName"]}


class Calls:
    """The DynamoDB operations of a client, with the index of each Query."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seen: list[str] = []

    def __enter__(self) -> Calls:
        self.client.meta.events.register("provide-client-params.dynamodb", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("provide-client-params.dynamodb", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        index = params.get("IndexName")
        self.seen.append(f"{model.name} {index}" if model.name == "Query" and index else model.name)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("data.provision_steps.time.sleep", lambda seconds: None)


@pytest.fixture
def channels(table: DynamoTable) -> list[Channel]:
    provision(table, ENTITY_INDEX)
    return list(reversed(store_channels(stores_of(table), 5)))  # newest first, as listed


def _index_update(table: DynamoTable, update: dict[str, Any]) -> None:
    table.client.update_table(TableName=table.name, GlobalSecondaryIndexUpdates=[update], **(
        {"AttributeDefinitions": [{"AttributeName": "channelCatalog", "AttributeType": "S"},
                                  {"AttributeName": "createdAt", "AttributeType": "S"}]} if "Create" in update else {}))


def make_misshapen(table: DynamoTable, projection: dict[str, Any], rules: IndexBuildRules | None = None) -> None:
    """The listing index as another tool made it, long ago: the right keys, a narrow projection."""
    wanted = next(index for index in required_indexes(ENTITY_INDEX) if index["IndexName"] == CREATED)
    for update in ({"Delete": {"IndexName": CREATED}}, {"Create": {**wanted, "Projection": projection}}):
        _index_update(table, update)
        if rules is not None:
            rules.creating.clear()
            rules.deleting.clear()


def projections(table: DynamoTable) -> dict[str, str]:
    description = table.client.describe_table(TableName=table.name)["Table"]
    return {index["IndexName"]: index["Projection"]["ProjectionType"]
            for index in description["GlobalSecondaryIndexes"] if index["IndexName"].startswith(CREATED)}


def listed(stores: ChannelsBackend) -> list[Channel]:
    return [channel for channel, _ in stores.channels.list_channels(None, 20, None).channels]


@pytest.fixture
def build_rules(table: DynamoTable) -> Iterator[IndexBuildRules]:
    yield IndexBuildRules(table.client).install()


@pytest.mark.parametrize("projection", [KEYS_ONLY, NARROW_INCLUDE], ids=["keys-only", "include-name-only"])
def test_a_narrow_listing_index_still_lists_whole_channels_reading_them_by_key(
    table: DynamoTable, channels: list[Channel], projection: dict[str, Any]
) -> None:
    make_misshapen(table, projection)
    stores = stores_of(table)

    with Calls(table.client) as calls:
        first = listed(stores)
        again = listed(stores)

    assert first == again == channels
    # The table looked at once (no replacement yet), then the page's items read by key.
    assert calls.seen == [f"Query {CREATED}", "DescribeTable", "BatchGetItem", f"Query {CREATED}", "BatchGetItem"]


def test_a_listing_index_of_the_right_shape_is_one_query_and_no_describe(
    table: DynamoTable, channels: list[Channel]
) -> None:
    with Calls(table.client) as calls:
        assert listed(stores_of(table)) == channels

    assert calls.seen == [f"Query {CREATED}"]


def test_provision_builds_the_replacement_of_a_narrow_listing_index_and_listings_switch_to_it(
    table: DynamoTable, channels: list[Channel], build_rules: IndexBuildRules
) -> None:
    make_misshapen(table, KEYS_ONLY, build_rules)
    lines: list[str] = []

    summary = provision(table, ENTITY_INDEX, report=lines.append)

    assert projections(table) == {CREATED: "KEYS_ONLY", REPLACEMENT: "ALL"}
    assert (summary.created_indexes, summary.misshapen_indexes, summary.removed_indexes) == ([REPLACEMENT], [CREATED], [])
    assert lines == [
        f"added index {REPLACEMENT} to {table.name} (PAY_PER_REQUEST)",
        f"index {CREATED} projects KEYS_ONLY; the service reads whole records from it (ALL): listings read "
        f"{REPLACEMENT} meanwhile; once every process runs this version, run "
        "`shelcaster-channels provision --replace-misshapen-indexes`",
    ]
    stores = stores_of(table)
    with Calls(table.client) as calls:
        assert listed(stores) == channels
        assert listed(stores) == channels
    assert calls.seen == [f"Query {CREATED}", "DescribeTable", f"Query {REPLACEMENT}", f"Query {REPLACEMENT}"]
    assert provision(table, ENTITY_INDEX).created_indexes == []  # a rerun builds nothing more


def test_replacing_a_misshapen_index_rebuilds_it_and_removes_the_replacement_one_index_at_a_time(
    table: DynamoTable, channels: list[Channel], build_rules: IndexBuildRules
) -> None:
    make_misshapen(table, KEYS_ONLY, build_rules)
    provision(table, ENTITY_INDEX)
    reader = stores_of(table)
    assert listed(reader) == channels  # this process now reads the replacement
    lines: list[str] = []

    summary = provision(table, ENTITY_INDEX, report=lines.append, replace_misshapen=True)

    assert projections(table) == {CREATED: "ALL"}
    assert (summary.removed_indexes, summary.created_indexes) == ([CREATED, REPLACEMENT], [CREATED])
    assert lines == [
        f"removed index {CREATED} from {table.name} (misshapen: rebuilt next)",
        f"added index {CREATED} to {table.name} (PAY_PER_REQUEST)",
        f"removed index {REPLACEMENT} from {table.name} ({CREATED} is rebuilt)",
    ]
    assert build_rules.refused == []  # every update waited for the one before
    with Calls(table.client) as calls:
        assert listed(reader) == channels  # its replacement gone: it looks, and reads the rebuilt index
        assert listed(reader) == channels
    assert calls.seen == [f"Query {REPLACEMENT}", "DescribeTable", f"Query {CREATED}", f"Query {CREATED}"]


@pytest.mark.parametrize(("call", "step", "left"), [
    (1, f"remove index {CREATED}", {CREATED: "KEYS_ONLY", REPLACEMENT: "ALL"}),
    (2, f"add index {CREATED}", {REPLACEMENT: "ALL"}),
    (3, f"remove index {REPLACEMENT}", {CREATED: "ALL", REPLACEMENT: "ALL"}),
], ids=["delete-misshapen", "rebuild", "delete-replacement"])
def test_replacement_stopped_at_each_update_lists_meanwhile_and_a_rerun_finishes(
    table: DynamoTable, channels: list[Channel], build_rules: IndexBuildRules, call: int, step: str,
    left: dict[str, str],
) -> None:
    make_misshapen(table, KEYS_ONLY, build_rules)
    provision(table, ENTITY_INDEX)
    reader = stores_of(table)

    with Fault(table.client, "UpdateTable", "AccessDeniedException", on_calls={call}, status=400):
        with pytest.raises(ProvisionFailed) as failed:
            provision(table, ENTITY_INDEX, replace_misshapen=True)

    line = failed.value.line()
    assert line.startswith(f"provision failed at '{step}': AccessDeniedException") and "\n" not in line
    assert "fix: allow dynamodb:UpdateTable and dynamodb:DescribeTable on the table" in line
    assert projections(table) == left
    assert listed(reader) == listed(stores_of(table)) == channels  # listing never broke

    provision(table, ENTITY_INDEX, replace_misshapen=True)

    assert projections(table) == {CREATED: "ALL"}
    assert listed(reader) == listed(stores_of(table)) == channels


def test_a_listing_queried_while_its_index_is_rebuilt_reads_the_replacement(
    table: DynamoTable, channels: list[Channel], build_rules: IndexBuildRules
) -> None:
    make_misshapen(table, KEYS_ONLY, build_rules)
    provision(table, ENTITY_INDEX)
    _index_update(table, {"Delete": {"IndexName": CREATED}})
    wanted = next(index for index in required_indexes(ENTITY_INDEX) if index["IndexName"] == CREATED)
    build_rules.deleting.clear()  # gone
    _index_update(table, {"Create": wanted})  # CREATING for the next DescribeTable answers

    with Calls(table.client) as calls:
        assert listed(stores_of(table)) == channels

    assert build_rules.refused == [f"Cannot read from backfilling global secondary index: {CREATED}"]
    assert calls.seen == [f"Query {CREATED}", "DescribeTable", f"Query {REPLACEMENT}"]


def test_provision_stops_on_a_service_index_with_other_keys(table: DynamoTable, channels: list[Channel]) -> None:
    _index_update(table, {"Delete": {"IndexName": CREATED}})
    table.client.update_table(
        TableName=table.name,
        AttributeDefinitions=[{"AttributeName": "channelCatalog", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": CREATED, "KeySchema": [{"AttributeName": "channelCatalog", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}}],
    )

    with pytest.raises(ProvisionFailed) as failed:
        provision(table, ENTITY_INDEX)

    assert failed.value.line() == (
        f"provision failed at 'check index {CREATED}': {CREATED} on {table.name} has keys channelCatalog (HASH); "
        "the service queries it by channelCatalog (HASH), createdAt (RANGE); fix: remove or rename that index "
        "(or set CHANNELS_ENTITY_INDEX), then run `shelcaster-channels provision` again (it resumes where it stopped)"
    )


def test_provision_stops_on_a_narrow_request_index_which_has_no_replacement(
    table: DynamoTable, channels: list[Channel]
) -> None:
    name = "channel-requests-by-status-index"
    wanted = next(index for index in required_indexes(ENTITY_INDEX) if index["IndexName"] == name)
    table.client.update_table(TableName=table.name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
    table.client.update_table(
        TableName=table.name,
        AttributeDefinitions=[{"AttributeName": "channelRequestStatus", "AttributeType": "S"},
                              {"AttributeName": "createdAt", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {**wanted, "Projection": KEYS_ONLY}}],
    )

    with pytest.raises(ProvisionFailed) as failed:
        provision(table, ENTITY_INDEX)

    assert failed.value.step == f"check index {name}"
    assert failed.value.detail == f"{name} on {table.name} projects KEYS_ONLY; the service reads whole records from it (ALL)"
    assert failed.value.fix.startswith("DynamoDB cannot change a projection in place: delete that index")


def test_readiness_holds_while_the_replacement_serves_a_listing_whose_index_is_rebuilt(
    table: DynamoTable, channels: list[Channel], build_rules: IndexBuildRules
) -> None:
    make_misshapen(table, KEYS_ONLY, build_rules)
    provision(table, ENTITY_INDEX)
    _index_update(table, {"Delete": {"IndexName": CREATED}})  # the first step of --replace-misshapen-indexes
    build_rules.deleting.clear()

    readiness = check_readiness(table.client, table.name, ENTITY_INDEX)

    assert readiness.ready
    assert readiness.checks[f"index {CREATED}"] == f"ACTIVE (replacement {REPLACEMENT} serves)"


def test_readiness_fails_while_a_listing_has_no_index_to_read(table: DynamoTable, channels: list[Channel]) -> None:
    _index_update(table, {"Delete": {"IndexName": CREATED}})

    readiness = check_readiness(table.client, table.name, ENTITY_INDEX)

    assert not readiness.ready
    assert readiness.checks[f"index {CREATED}"] == "missing (run shelcaster-channels provision)"
