"""`encrypt-keys`: seal the plain-text stream keys the older functions wrote. Dry run by default; idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from data.dynamo import DynamoTable, to_dynamo
from data.records import SEALED_STREAM_KEY
from data.stream_keys import StreamKeyCipher
from data.table import ASSIGNMENT_ENTITY, CHANNEL_ENTITY


@dataclass
class KeyMigrationReport:
    channels_plain: int = 0
    assignments_plain: int = 0
    sealed: int = 0
    already_sealed: int = 0
    changed_concurrently: int = 0


def encrypt_plain_stream_keys(
    table: DynamoTable, entity_index: str, cipher: StreamKeyCipher, *, apply: bool
) -> KeyMigrationReport:
    report = KeyMigrationReport()
    for entity in (CHANNEL_ENTITY, ASSIGNMENT_ENTITY):
        for item in table.records_of(entity_index, entity):
            plain = item.get("streamKey")
            if not isinstance(plain, str) or not plain:
                report.already_sealed += 1 if item.get(SEALED_STREAM_KEY) else 0
                continue
            if entity == CHANNEL_ENTITY:
                report.channels_plain += 1
            else:
                report.assignments_plain += 1
            if not apply:
                continue
            sealed = cipher.seal(str(item["channelId"]), plain)
            try:
                # Conditional on the plain key read, so a concurrent change is never overwritten.
                table.client.update_item(
                    TableName=table.name,
                    Key=to_dynamo({"pk": item["pk"], "sk": item["sk"]}),
                    # streamKey stays, NULL, as the seed's shape has it.
                    UpdateExpression="SET #sealed = :sealed, streamKey = :null",
                    ConditionExpression="streamKey = :plain",
                    ExpressionAttributeNames={"#sealed": SEALED_STREAM_KEY},
                    ExpressionAttributeValues=to_dynamo({":sealed": sealed, ":plain": plain, ":null": None}),
                )
                report.sealed += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                report.changed_concurrently += 1
    return report
