"""`/healthz` (the process is up) and `/readyz` (the table and every index the service reads are ACTIVE,
and the capacity counter exists: without it every create is refused).

Both answer without auth and without secrets. Readiness is cached for a few seconds: probes are
unauthenticated and DescribeTable has a low request rate limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from data.table import COUNTER_KEY

READINESS_CACHE_SECONDS = 5.0


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, str]
    checked_at: float = field(default_factory=time.monotonic)


def check_readiness(dynamodb: Any, table_name: str, entity_index: str) -> Readiness:
    """One DescribeTable: the table ACTIVE, and each index the service needs present and ACTIVE; one
    GetItem: the capacity counter (`provision` makes it last, after the backfill) is there."""
    from data.provisioning import required_indexes  # here: a cold start that answers no probe never imports it

    checks: dict[str, str] = {}
    try:
        description = dynamodb.describe_table(TableName=table_name)["Table"]
    except ClientError as exc:
        return Readiness(False, {"table": f"{table_name}: {exc.response['Error']['Code']}"})
    except BotoCoreError:
        return Readiness(False, {"table": f"{table_name}: DynamoDB cannot be reached"})
    checks["table"] = f"{table_name}: {description.get('TableStatus')}"
    statuses = {i["IndexName"]: i.get("IndexStatus") for i in description.get("GlobalSecondaryIndexes", [])}
    for index in required_indexes(entity_index):
        name = index["IndexName"]
        checks[f"index {name}"] = statuses.get(name) or "missing (run shelcaster-channels provision)"
    counter_present = _counter_present(dynamodb, table_name)
    if counter_present is None:
        checks["capacity counter"] = "cannot be read"
    else:
        checks["capacity counter"] = "present" if counter_present else "missing (run shelcaster-channels provision)"
    ready = description.get("TableStatus") == "ACTIVE" and counter_present is True and all(
        statuses.get(index["IndexName"]) == "ACTIVE" for index in required_indexes(entity_index)
    )
    return Readiness(ready, checks)


def _counter_present(dynamodb: Any, table_name: str) -> bool | None:
    """Whether the capacity counter exists; None when it cannot be read."""
    key = {name: {"S": value} for name, value in COUNTER_KEY.items()}
    try:
        return "Item" in dynamodb.get_item(TableName=table_name, Key=key, ProjectionExpression="pk")
    except (ClientError, BotoCoreError):
        return None


class ReadinessProbe:
    def __init__(self, dynamodb: Any, table_name: str, entity_index: str) -> None:
        self._args = (dynamodb, table_name, entity_index)
        self._last: Readiness | None = None

    def __call__(self) -> Readiness:
        last = self._last
        if last is None or time.monotonic() - last.checked_at > READINESS_CACHE_SECONDS:
            last = self._last = check_readiness(*self._args)
        return last
