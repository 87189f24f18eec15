"""A small DynamoDB Streams stand-in for what the emulator cannot do: shards that close and split,
iterators that expire, positions trimmed away, throttling. Every request and answer is checked against
the real API's model (as botocore's Stubber checks them), and every call is recorded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

# The sequence number a shard with no records says it starts at (the model wants 21 digits or more).
EMPTY = 10**20
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/channels/stream/2026-12-06T00:00:00.000"


@dataclass
class FakeShard:
    shard_id: str
    parent_id: str | None = None
    # Sequence numbers of this shard's records, in order (each record's item is `pk` = "item-<number>");
    # removing the first ones trims them away.
    records: list[int] = field(default_factory=list)
    closed: bool = False

    def description(self) -> dict[str, Any]:
        numbers: dict[str, str] = {"StartingSequenceNumber": str(self.records[0] if self.records else EMPTY)}
        if self.closed:
            numbers["EndingSequenceNumber"] = str(self.records[-1] if self.records else EMPTY)
        return {"ShardId": self.shard_id, "SequenceNumberRange": numbers,
                **({"ParentShardId": self.parent_id} if self.parent_id else {})}


def record(sequence_number: int, at: datetime) -> dict[str, Any]:
    item = {"pk": {"S": f"item-{sequence_number}"}, "sk": {"S": "info"}}
    return {"eventName": "INSERT", "dynamodb": {
        "Keys": item, "NewImage": item, "SequenceNumber": str(sequence_number),
        "ApproximateCreationDateTime": at, "StreamViewType": "NEW_AND_OLD_IMAGES"}}


_MODEL = botocore.session.get_session().get_service_model("dynamodbstreams")


def checked(operation: str, shape: str, value: dict[str, Any]) -> dict[str, Any]:
    """`value` as the model's input or output shape of `operation` allows (ParamValidationError if not)."""
    model = _MODEL.operation_model(operation)
    validate_parameters(value, model.input_shape if shape == "input" else model.output_shape)
    return value


def failure(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (fake)"}}, operation)


class FakeStreams:
    """`dynamodbstreams` as the reader calls it. Iterators are "<shard>@<index of the next record>".

    `fail` queues errors by operation name: each call of that operation raises the next one first."""

    def __init__(self, shards: Iterable[FakeShard], *, page_size: int = 100,
                 written_at: datetime = datetime(2030, 1, 1, tzinfo=UTC)) -> None:
        self.shards = {shard.shard_id: shard for shard in shards}
        self.page_size = page_size
        self.written_at = written_at
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, list[str]] = {}

    def _called(self, operation: str, arguments: dict[str, Any]) -> None:
        checked(operation, "input", arguments)
        self.calls.append((operation, arguments))
        queued = self.fail.get(operation)
        if queued:
            raise failure(queued.pop(0), operation)

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)

    def describe_stream(self, **arguments: Any) -> dict[str, Any]:
        self._called("DescribeStream", arguments)
        ordered = list(self.shards.values())
        start = 0
        if "ExclusiveStartShardId" in arguments:
            start = [shard.shard_id for shard in ordered].index(arguments["ExclusiveStartShardId"]) + 1
        page = ordered[start:start + self.page_size]
        description: dict[str, Any] = {"StreamArn": arguments["StreamArn"], "StreamStatus": "ENABLED",
                                       "StreamViewType": "NEW_AND_OLD_IMAGES",
                                       "Shards": [shard.description() for shard in page]}
        if start + self.page_size < len(ordered):
            description["LastEvaluatedShardId"] = page[-1].shard_id
        return checked("DescribeStream", "output", {"StreamDescription": description})

    def get_shard_iterator(self, **arguments: Any) -> dict[str, Any]:
        self._called("GetShardIterator", arguments)
        shard = self.shards[arguments["ShardId"]]
        kind = arguments["ShardIteratorType"]
        if kind == "TRIM_HORIZON":
            index = 0
        elif kind == "LATEST":
            index = len(shard.records)
        else:
            assert kind == "AFTER_SEQUENCE_NUMBER", kind
            number = int(arguments["SequenceNumber"])
            if shard.records and number < shard.records[0]:
                raise failure("TrimmedDataAccessException", "GetShardIterator")
            index = shard.records.index(number) + 1
        return checked("GetShardIterator", "output", {"ShardIterator": f"{shard.shard_id}@{index}"})

    def get_records(self, **arguments: Any) -> dict[str, Any]:
        self._called("GetRecords", arguments)
        shard_id, index = arguments["ShardIterator"].rsplit("@", 1)
        shard = self.shards[shard_id]
        numbers = shard.records[int(index):int(index) + arguments.get("Limit", 1000)]
        answer: dict[str, Any] = {"Records": [record(number, self.written_at) for number in numbers]}
        end = int(index) + len(numbers)
        if not (shard.closed and end == len(shard.records)):
            answer["NextShardIterator"] = f"{shard_id}@{end}"
        return checked("GetRecords", "output", answer)


class FakeTable:
    """`dynamodb` for the reader's one call: DescribeTable's stream fields."""

    def __init__(self, stream_arn: str | None = STREAM_ARN, view_type: str = "NEW_AND_OLD_IMAGES") -> None:
        self.stream_arn = stream_arn
        self.view_type = view_type

    def describe_table(self, **arguments: Any) -> dict[str, Any]:
        table: dict[str, Any] = {"TableName": arguments["TableName"]}
        if self.stream_arn:
            table["LatestStreamArn"] = self.stream_arn
            table["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.view_type}
        return {"Table": table}
