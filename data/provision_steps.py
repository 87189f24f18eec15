"""What every provision step shares: the one-line failure (step, what AWS said, the fix) and the
waits on DynamoDB's asynchronous table and index updates."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import UpstreamError

INDEX_TIMEOUT_SECONDS = 1800.0
POLL_SECONDS = 5.0
Report = Callable[[str], None]
RERUN = "then run `shelcaster-channels provision` again (it resumes where it stopped)"


class ProvisionFailed(Exception):
    """A step of provision failed: which step, what went wrong, and what fixes it."""

    def __init__(self, step: str, detail: str, fix: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step, self.detail, self.fix = step, detail, fix

    def line(self) -> str:
        return f"provision failed at '{self.step}': {self.detail}; fix: {self.fix}"


@dataclass
class ProvisionSummary:
    created_table: bool = False
    created_indexes: list[str] = field(default_factory=list)
    backfilled_channels: int = 0
    backfilled_assignments: int = 0
    counter_created: bool = False
    enabled_stream: bool = False
    enabled_ttl: bool = False
    # Indexes removed (a replacement no longer needed, or a misshapen index being rebuilt), and
    # misshapen listing indexes left for `--replace-misshapen-indexes` (listings read their replacement).
    removed_indexes: list[str] = field(default_factory=list)
    misshapen_indexes: list[str] = field(default_factory=list)
    # Replacements no longer read (their listing index serves again), left for that option to remove.
    leftover_replacements: list[str] = field(default_factory=list)
    # The TTL step failed (reported, not raised: the service is usable without it).
    ttl_failure: ProvisionFailed | None = None

    @property
    def left_anything(self) -> bool:
        """Something only `--replace-misshapen-indexes` finishes."""
        return bool(self.misshapen_indexes or self.leftover_replacements)

    @property
    def changed_anything(self) -> bool:
        return bool(self.created_table or self.created_indexes or self.removed_indexes or self.backfilled_channels
                    or self.backfilled_assignments or self.counter_created or self.enabled_stream or self.enabled_ttl)


def aws_error(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Error"))
        message = str(error.get("Message", ""))
        return code, f"{code}: {message}" if message and message != code else code
    return type(exc).__name__, str(exc) or type(exc).__name__


_FIXES = {
    "AccessDeniedException": "allow {action} on the table for these credentials, " + RERUN,
    "LimitExceededException": "wait until the table's other index builds finish, " + RERUN,
    "ResourceInUseException": "wait until the table is ACTIVE again, " + RERUN,
}


@contextmanager
def step(name: str, action: str) -> Iterator[None]:
    """Turn an AWS failure inside the step into ProvisionFailed with the step's name and a fix."""
    try:
        yield
    except UpstreamError as wrapped:
        # DynamoTable's reads (Query, GetItem) wrap the AWS error: report the one AWS gave.
        cause = wrapped.__cause__
        if not isinstance(cause, (ClientError, BotoCoreError)):
            raise ProvisionFailed(name, str(wrapped), RERUN.removeprefix("then ")) from wrapped
        raise_step_failure(name, action, cause)
    except (ClientError, BotoCoreError) as exc:
        raise_step_failure(name, action, exc)


def raise_step_failure(name: str, action: str, exc: ClientError | BotoCoreError) -> NoReturn:
    code, detail = aws_error(exc)
    if isinstance(exc, BotoCoreError):
        fix = "check AWS_REGION, the network and the credentials, " + RERUN
    else:
        fix = _FIXES.get(code, "correct what AWS names above, " + RERUN).format(action=action)
    raise ProvisionFailed(name, detail, fix) from exc


def wait(client: Any, table_name: str, done: Callable[[dict[str, Any]], bool], step_name: str, what: str) -> None:
    deadline = time.monotonic() + INDEX_TIMEOUT_SECONDS
    while True:
        if done(client.describe_table(TableName=table_name)["Table"]):
            return
        if time.monotonic() > deadline:
            raise ProvisionFailed(step_name, f"{what} after {INDEX_TIMEOUT_SECONDS:.0f} s",
                                  "DynamoDB keeps building: wait, " + RERUN + " (it waits for the build)")
        time.sleep(POLL_SECONDS)


def wait_until_built(client: Any, table_name: str, index_name: str) -> None:
    def active(description: dict[str, Any]) -> bool:
        statuses = {i["IndexName"]: i.get("IndexStatus") for i in description.get("GlobalSecondaryIndexes", [])}
        return description.get("TableStatus") == "ACTIVE" and statuses.get(index_name) == "ACTIVE"

    wait(client, table_name, active, f"add index {index_name}", f"index {index_name} is not ACTIVE")


def wait_until_quiet(client: Any, table_name: str, step_name: str) -> None:
    def quiet(description: dict[str, Any]) -> bool:
        return description.get("TableStatus") == "ACTIVE" and all(
            i.get("IndexStatus") == "ACTIVE" for i in description.get("GlobalSecondaryIndexes", [])
        )

    wait(client, table_name, quiet, step_name, f"{table_name} or one of its indexes is still being updated")
