"""`provision`: create the table and the service's indexes where missing, and backfill what the service
keeps beside the older functions' records (index keys, host sets, capacity counters). Idempotent."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from domain.model import ChannelState
from data.dynamo import DynamoTable
from data.table import (
    ASSIGNMENT_ENTITY,
    CATALOG_ATTRIBUTE,
    CHANNEL_ENTITY,
    CHANNELS_BY_ARN_INDEX,
    CHANNELS_BY_CREATED_INDEX,
    CHANNELS_BY_STATE_INDEX,
    CHANNEL_REQUESTS_BY_CREATED_INDEX,
    CHANNEL_REQUESTS_BY_REQUESTER_INDEX,
    CHANNEL_REQUESTS_BY_STATUS_INDEX,
    COUNTER_ENTITY,
    COUNTER_KEY,
    EXPIRY_ATTRIBUTE,
    REQUEST_CATALOG_ATTRIBUTE,
    REQUEST_STATUS_ATTRIBUTE,
    REQUESTER_ATTRIBUTE,
    STATE_KEY_ATTRIBUTE,
    channel_key,
)

Report = Callable[[str], None]
BACKFILL_ATTEMPTS = 5


@dataclass
class ProvisionSummary:
    created_table: bool = False
    created_indexes: list[str] = field(default_factory=list)
    backfilled_channels: int = 0
    backfilled_assignments: int = 0
    counter_created: bool = False


def _index(name: str, partition: str, sort: str | None, projection: str = "ALL") -> dict[str, Any]:
    keys = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        keys.append({"AttributeName": sort, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": keys, "Projection": {"ProjectionType": projection}}


def required_indexes(entity_index: str) -> list[dict[str, Any]]:
    """Every GSI the service reads: the platform's entityType index, the two sparse listing indexes,
    channels by IVS ARN (for IVS's events), and the channel requests' three: by status (the admin
    queue), all by creation, and by requester."""
    return [
        _index(entity_index, "entityType", None),
        _index(CHANNELS_BY_CREATED_INDEX, CATALOG_ATTRIBUTE, "createdAt"),
        _index(CHANNELS_BY_STATE_INDEX, STATE_KEY_ATTRIBUTE, "createdAt"),
        _index(CHANNELS_BY_ARN_INDEX, "channelArn", None, projection="KEYS_ONLY"),
        _index(CHANNEL_REQUESTS_BY_STATUS_INDEX, REQUEST_STATUS_ATTRIBUTE, "createdAt"),
        _index(CHANNEL_REQUESTS_BY_CREATED_INDEX, REQUEST_CATALOG_ATTRIBUTE, "createdAt"),
        _index(CHANNEL_REQUESTS_BY_REQUESTER_INDEX, REQUESTER_ATTRIBUTE, "createdAt"),
    ]


def _attribute_definitions(indexes: list[dict[str, Any]]) -> list[dict[str, str]]:
    names = ["pk", "sk"] + [key["AttributeName"] for index in indexes for key in index["KeySchema"]]
    return [{"AttributeName": name, "AttributeType": "S"} for name in dict.fromkeys(names)]


def provision(table: DynamoTable, entity_index: str, report: Report = lambda line: None) -> ProvisionSummary:
    summary = ProvisionSummary()
    client = table.client
    indexes = required_indexes(entity_index)
    description = _describe(client, table.name)
    if description is None:
        client.create_table(
            TableName=table.name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=_attribute_definitions(indexes),
            GlobalSecondaryIndexes=indexes,
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=table.name)
        summary.created_table = True
        summary.created_indexes = [index["IndexName"] for index in indexes]
        report(f"created table {table.name} with indexes {', '.join(summary.created_indexes)}")
    else:
        existing = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
        for index in indexes:
            if index["IndexName"] in existing:
                continue
            # DynamoDB builds one new GSI at a time on a table: add, then wait for it to be ACTIVE.
            client.update_table(
                TableName=table.name,
                AttributeDefinitions=_attribute_definitions([index]),
                GlobalSecondaryIndexUpdates=[{"Create": index}],
            )
            _wait_for_index(client, table.name, index["IndexName"])
            summary.created_indexes.append(index["IndexName"])
            report(f"added index {index['IndexName']} to {table.name}")
    _enable_expiry(client, table.name, report)
    _backfill(table, entity_index, summary, report)
    return summary


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _wait_for_index(client: Any, table_name: str, index_name: str, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = client.describe_table(TableName=table_name)["Table"]
        statuses = {i["IndexName"]: i.get("IndexStatus") for i in description.get("GlobalSecondaryIndexes", [])}
        if statuses.get(index_name) == "ACTIVE":
            return
        time.sleep(5)
    raise TimeoutError(f"index {index_name} of {table_name} is not ACTIVE after {timeout:.0f}s")


def _enable_expiry(client: Any, table_name: str, report: Report) -> None:
    current = client.describe_time_to_live(TableName=table_name).get("TimeToLiveDescription", {})
    attribute = current.get("AttributeName")
    if current.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
        if attribute != EXPIRY_ATTRIBUTE:
            report(
                f"TTL of {table_name} is on '{attribute}'; idempotency records (attribute '{EXPIRY_ATTRIBUTE}') "
                "will expire logically after 24 h but stay in the table"
            )
        return
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRY_ATTRIBUTE}
    )
    report(f"enabled TTL on '{EXPIRY_ATTRIBUTE}' of {table_name}")


def _backfill(table: DynamoTable, entity_index: str, summary: ProvisionSummary, report: Report) -> None:
    """Give older records what the service keeps beside them; count channels for the capacity counter."""
    counts = {state: 0 for state in ChannelState}
    unknown_states = 0
    for item in table.records_of(entity_index, CHANNEL_ENTITY):
        state = _backfill_channel(table, item, summary)
        if isinstance(state, ChannelState):
            counts[state] += 1
        elif state is None:
            unknown_states += 1
        # else _GONE: deleted meanwhile, not counted
    if unknown_states:
        report(f"{unknown_states} channel records have a state the service does not know: counted as used, not listed by state")
    for item in table.records_of(entity_index, ASSIGNMENT_ENTITY):
        channel_id, host = item.get("channelId"), item.get("hostUserId")
        if not channel_id or not host:
            continue
        try:
            table.client.update_item(
                TableName=table.name,
                Key={name: {"S": value} for name, value in channel_key(channel_id).items()},
                UpdateExpression="ADD assignedHostIds :host",
                ConditionExpression="attribute_exists(pk) AND NOT contains(assignedHostIds, :host_id)",
                ExpressionAttributeValues={":host": {"SS": [host]}, ":host_id": {"S": host}},
            )
            summary.backfilled_assignments += 1
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    try:
        table.client.put_item(
            TableName=table.name,
            Item={
                "pk": {"S": COUNTER_KEY["pk"]},
                "sk": {"S": COUNTER_KEY["sk"]},
                "entityType": {"S": COUNTER_ENTITY},
                "used": {"N": str(sum(counts.values()) + unknown_states)},
                "idle": {"N": str(counts[ChannelState.IDLE])},
                "live": {"N": str(counts[ChannelState.LIVE])},
                "offline": {"N": str(counts[ChannelState.OFFLINE])},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        summary.counter_created = True
        report(f"capacity counter set from {sum(counts.values()) + unknown_states} existing channels")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    if summary.backfilled_channels or summary.backfilled_assignments:
        report(
            f"backfilled {summary.backfilled_channels} channel and {summary.backfilled_assignments} assignment records"
        )


_GONE = object()  # the record was deleted while provision ran


def _backfill_channel(table: DynamoTable, item: dict[str, Any], summary: ProvisionSummary) -> object:
    """Set the index keys of one channel record from its state; the state it ends with (None: unknown,
    _GONE: deleted meanwhile).

    Only the service's own attributes are written, conditional on the state read: a concurrent change
    (an older function still running) wins, and the record is read again.
    """
    for _ in range(BACKFILL_ATTEMPTS):
        raw = item.get("state")
        state = ChannelState.IDLE if raw is None else ChannelState.__members__.get(str(raw))
        wanted = {CATALOG_ATTRIBUTE: CHANNEL_ENTITY} | ({STATE_KEY_ATTRIBUTE: state.value} if state else {})
        if all(item.get(name) == value for name, value in wanted.items()):
            return state
        names = {"#state": "state", **{f"#a{n}": name for n, name in enumerate(wanted)}}
        values = {f":v{n}": {"S": value} for n, value in enumerate(wanted.values())}
        if raw is None:
            condition = "attribute_not_exists(#state)"
        else:
            condition = "#state = :read_state"
            values[":read_state"] = {"S": str(raw)}
        try:
            table.client.update_item(
                TableName=table.name,
                Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
                UpdateExpression="SET " + ", ".join(f"#a{n} = :v{n}" for n in range(len(wanted))),
                ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            reread = table.get({"pk": item["pk"], "sk": item["sk"]})
            if reread is None:
                return _GONE
            item = reread
            continue
        summary.backfilled_channels += 1
        return state
    raise RuntimeError(f"channel record {item['pk']} kept changing during provision; run provision again")
