"""The reads a GraphQL query makes (GetItem, BatchGetItem, Query), natively async: aiodynamo's request
path (`Client.send_request`, which signs and sends a request body and returns DynamoDB's typed JSON)
over aiohttp, on the event loop itself.

Why not boto3 here: botocore costs three to five times aiodynamo + aiohttp's CPU per read, and a
blocking client needs a trip to the thread pool per read (docs/performance.md, "aiodynamo read
path"). Writes, transactions, the reads of mutations, IVS and KMS stay on boto3 (data.dynamo).

What stays the same as the boto3 path, on purpose:
- the request bodies (the same JSON documents data.dynamo sends; the replay backend matches them);
- the attempt budget (data.clients: 5 attempts), retrying throttling and 5xx answers with backoff;
- the errors: an AWS error is a botocore `ClientError` raised as the cause of the same UpstreamError
  (so data.listing_indexes can still tell a refused index);
- what observes the calls: each read is announced on the boto3 DynamoDB client's own event system
  (`before-parameter-build`, `before-call`, `after-call`, botocore's public hooks), so the request
  log's AWS-call counts, the tests' counters and fault injection, and the IAM test's recorder see
  both clients' calls through one observation point. As with botocore, a `before-call` handler that
  answers makes the call go no further.

One aiohttp session per event loop (data.aiodynamo_connection, imported on the first read), opened on
a loop's first read and closed by `close` (the served app's lifespan) or by `forget_connections` (a
Lambda SnapStart restore).
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from botocore.exceptions import ClientError

from domain.errors import UpstreamError
from data.dynamo import BATCH_GET_MAX_ATTEMPTS, BATCH_GET_MAX_KEYS, backoff_delay, from_dynamo, to_dynamo

if TYPE_CHECKING:
    from data.aiodynamo_connection import LoopConnection

# data.clients.client_config's budget: botocore's standard mode with `max_attempts: 4`, which counts
# the retries, so 5 attempts in all.
MAX_ATTEMPTS = 5


class DynamoReader:
    """The async reads of one AWS connection; `events_client` is the boto3 DynamoDB client whose
    event system announces them (and whose region and endpoint they go to)."""

    def __init__(self, events_client: Any, credentials: Any) -> None:
        self._events = events_client.meta.events
        self._operations = events_client.meta.service_model
        self._region: str = events_client.meta.region_name
        self._endpoint_url: str | None = events_client.meta.endpoint_url
        self._credentials = credentials
        self._connections: WeakKeyDictionary[asyncio.AbstractEventLoop, LoopConnection] = WeakKeyDictionary()

    # The reads

    async def get(self, table: str, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        response = await self.send("GetItem", {"TableName": table, "Key": to_dynamo(key), "ConsistentRead": consistent})
        item = response.get("Item")
        return from_dynamo(item) if item else None

    async def batch_get(self, table: str, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """data.dynamo.DynamoTable.batch_get, awaited: chunks of 100 keys, UnprocessedKeys asked again."""
        unique = list({(key["pk"], key["sk"]): key for key in keys}.values())
        items: list[dict[str, Any]] = []
        for start in range(0, len(unique), BATCH_GET_MAX_KEYS):
            request = {table: {"Keys": [to_dynamo(key) for key in unique[start : start + BATCH_GET_MAX_KEYS]]}}
            for attempt in range(BATCH_GET_MAX_ATTEMPTS):
                response = await self.send("BatchGetItem", {"RequestItems": request})
                items.extend(from_dynamo(item) for item in response.get("Responses", {}).get(table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                await _backoff(attempt)
            else:
                raise UpstreamError("DynamoDB BatchGetItem left keys unprocessed after retries.")
        return items

    async def query(self, table: str, **query: Any) -> tuple[list[dict[str, Any]], int]:
        """One Query call: its items and how many items it read (ScannedCount)."""
        response = await self.send("Query", {"TableName": table, **query})
        return [from_dynamo(item) for item in response.get("Items", [])], response.get("ScannedCount", 0)

    async def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB call with `params` as its body: its typed JSON answer, or UpstreamError (from
        a botocore ClientError when DynamoDB answered with an error)."""
        model = self._operations.operation_model(operation)
        context: dict[str, Any] = {"client_region": self._region}
        prefix = f"dynamodb.{operation}"
        self._events.emit(f"before-parameter-build.{prefix}", params=params, model=model, context=context)
        # The request as botocore's `before-call` handlers know it (its body serialised as botocore does).
        request = {"url_path": "/", "query_string": "", "method": "POST", "headers": {},
                   "body": json.dumps(params).encode(), "context": context}
        _, answered = self._events.emit_until_response(f"before-call.{prefix}", model=model, params=request,
                                                        request_signer=None, context=context)
        if answered is not None:
            http, parsed = answered
        else:
            connection = self._connection()
            try:
                status, parsed = await connection.send(operation, params)
            except connection.Unreachable as exc:
                raise UpstreamError(f"DynamoDB {operation} failed: the service could not be reached.") from exc
            http = _Answer(status)
        self._events.emit(f"after-call.{prefix}", http_response=http, parsed=parsed, model=model, context=context)
        if http.status_code >= 300:
            cause = ClientError(parsed, operation)
            raise UpstreamError(f"DynamoDB {operation} failed: {parsed['Error']['Code']}.") from cause
        return parsed

    # The connections

    def prepare(self) -> None:
        """Import what the reads need (aiohttp, aiodynamo) now rather than on the first read: before a
        Lambda snapshot, so that it is in the snapshot. Opens nothing."""
        importlib.import_module("data.aiodynamo_connection")

    def _connection(self) -> LoopConnection:
        loop = asyncio.get_running_loop()
        found = self._connections.get(loop)
        if found is None or found.closed:
            from data.aiodynamo_connection import LoopConnection

            found = LoopConnection(self._credentials, self._region, self._endpoint_url, MAX_ATTEMPTS)
            self._connections[loop] = found
        return found

    async def close(self) -> None:
        """Close this event loop's session (its pooled connections); the next read opens another."""
        found = self._connections.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.close()

    def forget_connections(self) -> None:
        """Drop every session, closing those whose loop is idle (a SnapStart restore: the snapshot's
        sockets lead nowhere). Each loop's next read opens a new one."""
        connections, self._connections = list(self._connections.items()), WeakKeyDictionary()
        for loop, connection in connections:
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(connection.close())


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(backoff_delay(attempt))


@dataclass(frozen=True)
class _Answer:
    """The part of an HTTP answer botocore's `after-call` handlers read."""

    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
