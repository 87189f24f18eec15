"""`/healthz` (the process is up) and `/readyz` (the table and every index the service reads are ACTIVE).

Both answer without auth and without secrets. Readiness is cached for a few seconds: probes are
unauthenticated and DescribeTable has a low request rate limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from data.provisioning import required_indexes

READINESS_CACHE_SECONDS = 5.0


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, str]
    checked_at: float = field(default_factory=time.monotonic)


def check_readiness(dynamodb: Any, table_name: str, entity_index: str) -> Readiness:
    """One DescribeTable: the table ACTIVE, and each index the service needs present and ACTIVE."""
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
    ready = description.get("TableStatus") == "ACTIVE" and all(
        statuses.get(index["IndexName"]) == "ACTIVE" for index in required_indexes(entity_index)
    )
    return Readiness(ready, checks)


class ReadinessProbe:
    def __init__(self, dynamodb: Any, table_name: str, entity_index: str) -> None:
        self._args = (dynamodb, table_name, entity_index)
        self._last: Readiness | None = None

    def __call__(self) -> Readiness:
        last = self._last
        if last is None or time.monotonic() - last.checked_at > READINESS_CACHE_SECONDS:
            last = self._last = check_readiness(*self._args)
        return last
