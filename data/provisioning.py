"""`provision`: create the table and the service's indexes where missing, and backfill what the service
keeps beside the older functions' records (index keys, host sets, capacity counters). Idempotent.

The steps, in this order, and what a failure at each leaves (a rerun resumes: every step checks what
is already done before it writes):

1. the table, created PAY_PER_REQUEST when missing; a failure leaves nothing or an empty table;
2. each missing index, one per UpdateTable (DynamoDB builds one new GSI at a time), waiting for it to
   be ACTIVE before the next; each is created as the table's capacity mode demands (PROVISIONED:
   ProvisionedThroughput, the table's own units unless overridden; PAY_PER_REQUEST: none, or the
   table's OnDemandThroughput limits). Until all are ACTIVE `/readyz` answers 503: clearly not ready;
3. the table's stream (NEW_AND_OLD_IMAGES), the feed of live updates (docs/live-updates.md), enabled
   when the table has none (a table created in step 1 has it already); a stream of another view type
   is refused, not replaced (data.stream_specification says why), before step 2 builds anything; a
   failure leaves the table's stream as it was;
4. the backfill of the older channel and assignment records (conditional writes, each done once);
   the older functions keep working meanwhile;
5. the capacity counter, counted from the channel records; creates are refused until it exists;
6. TTL on `expiresAt`, last: it is a housekeeping step (idempotency records expire logically
   anyway), so a DynamoDB that refuses it has a fully usable service; it is reported as failed.

Every AWS failure is raised as ProvisionFailed: the step, what AWS said, and the fix, on one line.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from domain.model import ChannelState
from data.capacity_mode import PAY_PER_REQUEST, IndexThroughput, TableCapacity
from data.dynamo import DynamoTable
from data.index_layout import attribute_definitions, required_indexes
from data.index_migration import ensure_index
from data.provision_steps import (
    RERUN,
    ProvisionFailed,
    ProvisionSummary,
    Report,
    step,
    wait_until_built,
)
from data.stream_specification import STREAM_SPECIFICATION, ensure_stream, refuse_other_view_type
from data.table import (
    ASSIGNMENT_ENTITY,
    CATALOG_ATTRIBUTE,
    CHANNEL_ENTITY,
    COUNTER_ENTITY,
    COUNTER_KEY,
    EXPIRY_ATTRIBUTE,
    STATE_KEY_ATTRIBUTE,
    channel_key,
)

__all__ = ["ProvisionFailed", "ProvisionSummary", "provision", "required_indexes"]

BACKFILL_ATTEMPTS = 5


def provision(
    table: DynamoTable,
    entity_index: str,
    report: Report = lambda line: None,
    *,
    index_throughput: IndexThroughput = IndexThroughput(),
    replace_misshapen: bool = False,
    stream: bool = True,
) -> ProvisionSummary:
    """Run the steps of the module docstring; raises ProvisionFailed at the first failing step
    (except TTL's, the last, which is left in `summary.ttl_failure` for the caller to report).

    `stream=False` skips step 3 (a table made in step 1 gets no stream): for tables no process reads
    the feed of, such as a deployment with no serving container's (`provision --without-stream`) and most tests' (docs/testing.md, "Fixtures": the emulator copies every record
    a stream ever held before each transaction, so a busy stream slows every later write)."""
    summary = ProvisionSummary()
    client = table.client
    indexes = required_indexes(entity_index)
    with step(f"describe table {table.name}", "dynamodb:DescribeTable"):
        description = _describe(client, table.name)
    capacity = TableCapacity.of(description) if description is not None else TableCapacity(PAY_PER_REQUEST)
    if index_throughput != IndexThroughput() and capacity.billing_mode == PAY_PER_REQUEST:
        what = "is PAY_PER_REQUEST (on-demand)" if description is not None else "does not exist and is made on-demand"
        raise ProvisionFailed(
            "read the table's capacity mode",
            f"{table.name} {what}: its indexes take no read/write units",
            "run provision without --index-read-units/--index-write-units",
        )
    if description is None:
        with step(f"create table {table.name}", "dynamodb:CreateTable"):
            client.create_table(
                TableName=table.name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=attribute_definitions(indexes),
                GlobalSecondaryIndexes=indexes,
                BillingMode=PAY_PER_REQUEST,
                **({"StreamSpecification": STREAM_SPECIFICATION} if stream else {}),
            )
            summary.created_table = True
            summary.created_indexes = [index["IndexName"] for index in indexes]
            for index in indexes:
                wait_until_built(client, table.name, index["IndexName"])
        report(f"created table {table.name} (PAY_PER_REQUEST) with indexes {', '.join(summary.created_indexes)}"
               + (" and its stream (NEW_AND_OLD_IMAGES)" if stream else ""))
    else:
        if stream:
            refuse_other_view_type(description, table.name)
        for index in indexes:
            ensure_index(client, table.name, index, capacity, index_throughput, summary, report,
                         replace_misshapen=replace_misshapen)
        if stream:
            summary.enabled_stream = ensure_stream(client, table.name, description, report)
    _backfill(table, entity_index, summary, report)
    try:
        with step(f"enable TTL on {EXPIRY_ATTRIBUTE}", "dynamodb:UpdateTimeToLive and dynamodb:DescribeTimeToLive"):
            summary.enabled_ttl = _enable_expiry(client, table.name, report)
    except ProvisionFailed as failed:
        # Not raised: every other step is done and the service is usable; the caller reports it.
        summary.ttl_failure = ProvisionFailed(
            failed.step,
            f"{failed.detail}; the service is usable meanwhile (idempotency records expire logically after 24 h "
            "but stay in the table)",
            failed.fix,
        )
    return summary


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _enable_expiry(client: Any, table_name: str, report: Report) -> bool:
    """Turn TTL on for `expiresAt`; True when this call turned it on."""
    current = client.describe_time_to_live(TableName=table_name).get("TimeToLiveDescription", {})
    attribute = current.get("AttributeName")
    if current.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
        if attribute != EXPIRY_ATTRIBUTE:
            report(
                f"TTL of {table_name} is on '{attribute}'; idempotency records (attribute '{EXPIRY_ATTRIBUTE}') "
                "will expire logically after 24 h but stay in the table"
            )
        return False
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRY_ATTRIBUTE}
    )
    report(f"enabled TTL on '{EXPIRY_ATTRIBUTE}' of {table_name}")
    return True


def _backfill(table: DynamoTable, entity_index: str, summary: ProvisionSummary, report: Report) -> None:
    """Give older records what the service keeps beside them; count channels for the capacity counter."""
    counts = {state: 0 for state in ChannelState}
    unknown_states = 0
    with step("backfill channel records", "dynamodb:Query and dynamodb:UpdateItem"):
        for item in table.records_of(entity_index, CHANNEL_ENTITY):
            state = _backfill_channel(table, item, summary)
            if isinstance(state, ChannelState):
                counts[state] += 1
            elif state is None:
                unknown_states += 1
            # else _GONE: deleted meanwhile, not counted
    if unknown_states:
        report(f"{unknown_states} channel records have a state the service does not know: counted as used, not listed by state")
    with step("backfill assignment records", "dynamodb:Query and dynamodb:UpdateItem"):
        for item in table.records_of(entity_index, ASSIGNMENT_ENTITY):
            _backfill_assignment(table, item, summary)
    if summary.backfilled_channels or summary.backfilled_assignments:
        report(
            f"backfilled {summary.backfilled_channels} channel and {summary.backfilled_assignments} assignment records"
        )
    used = sum(counts.values()) + unknown_states
    with step("create the capacity counter", "dynamodb:PutItem"):
        try:
            table.client.put_item(
                TableName=table.name,
                Item={
                    "pk": {"S": COUNTER_KEY["pk"]},
                    "sk": {"S": COUNTER_KEY["sk"]},
                    "entityType": {"S": COUNTER_ENTITY},
                    "used": {"N": str(used)},
                    "idle": {"N": str(counts[ChannelState.IDLE])},
                    "live": {"N": str(counts[ChannelState.LIVE])},
                    "offline": {"N": str(counts[ChannelState.OFFLINE])},
                },
                # Once made, the counter is the service's: a rerun never resets it.
                ConditionExpression="attribute_not_exists(pk)",
            )
            summary.counter_created = True
            report(f"capacity counter set from {used} existing channels")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _backfill_assignment(table: DynamoTable, item: dict[str, Any], summary: ProvisionSummary) -> None:
    """Add the host of an older assignment record to its channel's host set (if the channel exists)."""
    channel_id, host = item.get("channelId"), item.get("hostUserId")
    if not channel_id or not host:
        return
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
    raise ProvisionFailed("backfill channel records", f"channel record {item['pk']} kept changing meanwhile",
                          RERUN.removeprefix("then "))
