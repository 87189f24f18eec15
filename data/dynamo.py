"""Low-level DynamoDB calls: typed (de)serialisation, batching, transactions, and AWS errors turned
into the service's own at this boundary."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import UpstreamError

BATCH_GET_MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem request
BATCH_GET_MAX_ATTEMPTS = 6
TRANSACTION_MAX_ATTEMPTS = 4


_SERIALIZER, _DESERIALIZER = TypeSerializer(), TypeDeserializer()


def to_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    """Python values to DynamoDB's attribute values, as boto3 converts them."""
    return {name: _SERIALIZER.serialize(value) for name, value in item.items()}


def from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


@dataclass(frozen=True)
class TransactionCancelled(Exception):
    """A transaction was refused; `failed` holds the indexes of the items whose condition failed."""

    failed: frozenset[int]


def upstream_error(operation: str, exc: Exception) -> UpstreamError:
    if isinstance(exc, ClientError):
        return UpstreamError(f"DynamoDB {operation} failed: {exc.response['Error']['Code']}.")
    return UpstreamError(f"DynamoDB {operation} failed: the service could not be reached.")


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before asking again after attempt number `attempt` (0-based): exponential, jittered."""
    return min(0.05 * 2**attempt, 1.0) * random.uniform(0.5, 1.0)


def _backoff(attempt: int) -> None:
    time.sleep(backoff_delay(attempt))


class DynamoTable:
    """One table, spoken to through the low-level client (so tests can count and stub every call)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        try:
            response = self.client.get_item(TableName=self.name, Key=to_dynamo(key), ConsistentRead=consistent)
        except (ClientError, BotoCoreError) as exc:
            raise upstream_error("GetItem", exc) from exc
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """Every item of `keys` that exists, in no particular order.

        Chunked at DynamoDB's 100 keys per request; UnprocessedKeys (throttling, the 16 MB response
        limit) are retried with backoff until none remain.
        """
        unique = list({(key["pk"], key["sk"]): key for key in keys}.values())
        items: list[dict[str, Any]] = []
        for start in range(0, len(unique), BATCH_GET_MAX_KEYS):
            request = {self.name: {"Keys": [to_dynamo(key) for key in unique[start : start + BATCH_GET_MAX_KEYS]]}}
            for attempt in range(BATCH_GET_MAX_ATTEMPTS):
                try:
                    response = self.client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise upstream_error("BatchGetItem", exc) from exc
                items.extend(from_dynamo(item) for item in response.get("Responses", {}).get(self.name, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                _backoff(attempt)
            else:
                raise UpstreamError("DynamoDB BatchGetItem left keys unprocessed after retries.")
        return items

    def query(self, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
        """One Query call: its items and how many items it read (ScannedCount)."""
        try:
            response = self.client.query(TableName=self.name, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise upstream_error("Query", exc) from exc
        return [from_dynamo(item) for item in response.get("Items", [])], response.get("ScannedCount", 0)

    def query_all(self, **kwargs: Any) -> Iterable[dict[str, Any]]:
        """Every item a Query matches, page after page (for provisioning and reports, not requests)."""
        start: dict[str, Any] | None = None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            try:
                response = self.client.query(TableName=self.name, **kwargs, **extra)
            except (ClientError, BotoCoreError) as exc:
                raise upstream_error("Query", exc) from exc
            yield from (from_dynamo(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    def records_of(self, entity_index: str, entity: str) -> list[dict[str, Any]]:
        """Every record of one `entityType`, whole (for provisioning, reports and repairs, not requests).

        Found through the entity index, then read by key: the index may project keys only.
        """
        keys = [
            {"pk": item["pk"], "sk": item["sk"]}
            for item in self.query_all(
                IndexName=entity_index,
                KeyConditionExpression="entityType = :entity",
                ExpressionAttributeValues={":entity": {"S": entity}},
            )
        ]
        return self.batch_get(keys)

    def transact(self, operations: Sequence[Mapping[str, Any]]) -> None:
        """Write `operations` all or nothing.

        Raises TransactionCancelled with the indexes whose condition failed. A conflict with another
        transaction on the same items is retried: DynamoDB refuses, rather than queues, such overlaps.
        """
        items = [{kind: {"TableName": self.name, **body} for kind, body in operation.items()} for operation in operations]
        for attempt in range(TRANSACTION_MAX_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise upstream_error("TransactWriteItems", exc) from exc
                reasons = [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
                failed = frozenset(i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed")
                if failed:
                    raise TransactionCancelled(failed) from exc
                if "TransactionConflict" not in reasons and "ThrottlingError" not in reasons:
                    raise upstream_error("TransactWriteItems", exc) from exc
                _backoff(attempt)
            except BotoCoreError as exc:
                raise upstream_error("TransactWriteItems", exc) from exc
        raise UpstreamError("DynamoDB TransactWriteItems kept conflicting with other writes; retry.")


def update(key: Mapping[str, str], expression: str, *, condition: str | None = None,
           names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An `Update` entry of a transaction."""
    return {"Update": _entry(key, condition, names, values, UpdateExpression=expression)}


def put(item: Mapping[str, Any], *, condition: str | None = None,
        names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body = _entry(None, condition, names, values)
    body["Item"] = to_dynamo(item)
    return {"Put": body}


def delete(key: Mapping[str, str], *, condition: str | None = None,
           names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"Delete": _entry(key, condition, names, values)}


def _entry(key: Mapping[str, str] | None, condition: str | None, names: Mapping[str, str] | None,
           values: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(extra)
    if key is not None:
        body["Key"] = to_dynamo(key)
    if condition:
        body["ConditionExpression"] = condition
    if names:
        body["ExpressionAttributeNames"] = dict(names)
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return body


def condition_check(key: Mapping[str, str], condition: str, *, names: Mapping[str, str] | None = None,
                    values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A `ConditionCheck` entry: the transaction holds only while `condition` holds on `key`'s item."""
    return {"ConditionCheck": _entry(key, condition, names, values)}
