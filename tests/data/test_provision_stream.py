"""`provision` and the table's stream, the feed of live updates: made with a new table, enabled on an
existing one (and said), and a stream of another view type refused with the fix on one line, before
any index is built."""

from __future__ import annotations

from typing import Any

import pytest

from data.dynamo import DynamoTable
from data.provisioning import ProvisionFailed, provision
from tests.data.table_setup import ENTITY_INDEX


def create_bare_table(table: DynamoTable, **stream: Any) -> None:
    """The table as the platform made it: keys only, no index, a stream only if given."""
    table.client.create_table(
        TableName=table.name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        **stream)


def stream_of(table: DynamoTable) -> dict[str, Any]:
    return dict(table.client.describe_table(TableName=table.name)["Table"]["StreamSpecification"])


def test_provision_creates_the_table_with_its_stream(table: DynamoTable) -> None:
    lines: list[str] = []
    provision(table, ENTITY_INDEX, report=lines.append)
    assert stream_of(table) == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert lines[0].endswith(" and its stream (NEW_AND_OLD_IMAGES)")


def test_provision_enables_the_stream_of_an_existing_table_and_says_so(table: DynamoTable) -> None:
    create_bare_table(table)
    lines: list[str] = []
    summary = provision(table, ENTITY_INDEX, report=lines.append)
    assert stream_of(table) == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert summary.enabled_stream
    assert (f"enabled the stream of {table.name} (NEW_AND_OLD_IMAGES): live updates read it "
            "(docs/live-updates.md)") in lines


def test_provision_leaves_a_stream_of_the_right_view_type_as_it_is(table: DynamoTable) -> None:
    create_bare_table(table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = table.client.describe_table(TableName=table.name)["Table"]["LatestStreamArn"]
    assert not provision(table, ENTITY_INDEX).enabled_stream
    assert table.client.describe_table(TableName=table.name)["Table"]["LatestStreamArn"] == arn


def test_provision_refuses_a_stream_of_another_view_type_with_the_fix(table: DynamoTable) -> None:
    create_bare_table(table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    with pytest.raises(ProvisionFailed) as failed:
        provision(table, ENTITY_INDEX)
    assert failed.value.line() == (
        f"provision failed at 'enable the table's stream': {table.name} has a stream of KEYS_ONLY; live updates need "
        "NEW_AND_OLD_IMAGES and DynamoDB cannot change a stream's view type; fix: switch the stream to "
        "NEW_AND_OLD_IMAGES, which carries what every other view type does: disable it (aws dynamodb update-table "
        f"--table-name {table.name} --stream-specification StreamEnabled=false), then run `shelcaster-channels "
        "provision` again, which enables the new one; whatever read the old stream reads the new stream's ARN")
    assert stream_of(table) == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert table.client.describe_table(TableName=table.name)["Table"].get("GlobalSecondaryIndexes", []) == []


def test_provision_without_the_stream_makes_a_table_that_has_none(table: DynamoTable) -> None:
    # For tables no process reads the feed of (the tests' shared table, the benchmark's): docs/testing.md.
    lines: list[str] = []
    provision(table, ENTITY_INDEX, report=lines.append, stream=False)
    assert "StreamSpecification" not in table.client.describe_table(TableName=table.name)["Table"]
    assert "stream" not in lines[0]


def test_provision_without_the_stream_leaves_an_existing_table_without_one(table: DynamoTable) -> None:
    create_bare_table(table)
    summary = provision(table, ENTITY_INDEX, stream=False)
    assert "StreamSpecification" not in table.client.describe_table(TableName=table.name)["Table"]
    assert summary.enabled_stream is False
