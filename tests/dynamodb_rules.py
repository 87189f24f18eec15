"""DynamoDB's documented request rules that moto lets pass, enforced on a test client.

A botocore `before-call` hook answers a request that breaks a rule with the error real DynamoDB
returns (code and message), so the request never reaches moto:

- a GSI created on a PROVISIONED table must carry ProvisionedThroughput (CreateTable: the table's
  BillingMode, PROVISIONED when absent; UpdateTable: the request's BillingMode, else the table's);
- a GSI created on a PAY_PER_REQUEST table must not carry it;
- one UpdateTable creates or deletes at most one GSI.

The messages are real DynamoDB's (as reported by its users: "ProvisionedThroughput is not specified
for index", "ProvisionedThroughput should not be specified for index: ... when BillingMode is
PAY_PER_REQUEST", "Subscriber limit exceeded: Only 1 online index can be created or deleted
simultaneously per table").

IndexBuildRules (below) adds what moto finishes at once: index builds and deletions that take time.
"""

from __future__ import annotations

import json
from typing import Any

from data.clients import AwsConnection, build_clients
from tests.faults import _Response

INVALID = "One or more parameter values were invalid: "


def _refusal(code: str, message: str) -> tuple[_Response, dict[str, Any]]:
    return _Response(400), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


def _throughput_problem(index: dict[str, Any], billing_mode: str) -> str | None:
    name = index.get("IndexName")
    if billing_mode == "PAY_PER_REQUEST" and "ProvisionedThroughput" in index:
        return f"{INVALID}ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
    if billing_mode == "PROVISIONED" and "ProvisionedThroughput" not in index:
        return f"{INVALID}ProvisionedThroughput is not specified for index: {name}"
    return None


def _request(request_dict: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters: before-call sees the serialised request (DynamoDB's JSON body)."""
    body = request_dict.get("body") or b"{}"
    return dict(json.loads(body.decode() if isinstance(body, bytes) else body))


class CapacityModeRules:
    """The rules above, on `client`'s CreateTable and UpdateTable; `refused` counts the refusals."""

    def __init__(self, client: Any, connection: AwsConnection) -> None:
        self.client = client
        # Its own client for DescribeTable, so that spies and call counters on `client` see no extra call.
        self._describer = build_clients(connection).dynamodb
        self.refused: list[str] = []

    def install(self) -> CapacityModeRules:
        self.client.meta.events.register("before-call.dynamodb.CreateTable", self._create_table)
        self.client.meta.events.register("before-call.dynamodb.UpdateTable", self._update_table)
        return self

    def _refuse(self, code: str, message: str) -> tuple[_Response, dict[str, Any]]:
        self.refused.append(message)
        return _refusal(code, message)

    def _create_table(self, params: dict[str, Any], **_: Any) -> tuple[_Response, dict[str, Any]] | None:
        params = _request(params)
        mode = params.get("BillingMode") or "PROVISIONED"
        for index in params.get("GlobalSecondaryIndexes", []):
            problem = _throughput_problem(index, mode)
            if problem:
                return self._refuse("ValidationException", problem)
        return None

    def _update_table(self, params: dict[str, Any], **_: Any) -> tuple[_Response, dict[str, Any]] | None:
        params = _request(params)
        changes = [update for update in params.get("GlobalSecondaryIndexUpdates", []) if "Create" in update or "Delete" in update]
        if len(changes) > 1:
            return self._refuse("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be "
                                "created or deleted simultaneously per table")
        creates = [update["Create"] for update in changes if "Create" in update]
        if not creates:
            return None
        mode = params.get("BillingMode")
        if mode is None:
            table = self._describer.describe_table(TableName=params["TableName"])["Table"]
            mode = table.get("BillingModeSummary", {}).get("BillingMode") or "PROVISIONED"
        problem = _throughput_problem(creates[0], mode)
        return self._refuse("ValidationException", problem) if problem else None


BACKFILLING = "Cannot read from backfilling global secondary index: {name}"
ONE_AT_A_TIME = "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"


class IndexBuildRules:
    """DynamoDB's online index builds, which moto finishes at once: an index added by UpdateTable is
    reported CREATING for `build_answers` DescribeTable answers, and a deleted one DELETING for as
    many; meanwhile, as DynamoDB does,

    - a Query on the CREATING index is refused ("Cannot read from backfilling global secondary
      index", ValidationException; a deleted index is gone for Queries at once, as moto has it, with
      DynamoDB's answer: ValidationException "The table does not have the specified index");
    - an UpdateTable that creates or deletes another index is refused (LimitExceededException: one
      online index created or deleted at a time per table).

    `client` is the client whose calls are checked; DescribeTable answers on it count down the build.
    """

    def __init__(self, client: Any, build_answers: int = 2) -> None:
        self.client = client
        self.build_answers = build_answers
        self.creating: dict[str, int] = {}
        self.deleting: dict[str, tuple[int, dict[str, Any]]] = {}
        self.refused: list[str] = []
        self._last_description: dict[str, dict[str, Any]] = {}
        self._pending: list[dict[str, Any]] = []

    def install(self) -> IndexBuildRules:
        events = self.client.meta.events
        events.register("before-call.dynamodb.UpdateTable", self._update_table)
        events.register("after-call.dynamodb.UpdateTable", self._started)
        events.register("before-call.dynamodb.Query", self._query)
        events.register("after-call.dynamodb.Query", self._absent_index)
        events.register("after-call.dynamodb.DescribeTable", self._describe)
        return self

    @property
    def busy(self) -> bool:
        return bool(self.creating or self.deleting)

    def _refuse(self, code: str, message: str) -> tuple[_Response, dict[str, Any]]:
        self.refused.append(message)
        return _refusal(code, message)

    def _update_table(self, params: dict[str, Any], **_: Any) -> tuple[_Response, dict[str, Any]] | None:
        changes = [u for u in _request(params).get("GlobalSecondaryIndexUpdates", []) if "Create" in u or "Delete" in u]
        if changes and self.busy:
            return self._refuse("LimitExceededException", ONE_AT_A_TIME)
        self._pending = changes
        return None

    def _started(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed:
            return
        for change in self._pending:
            if "Create" in change:
                self.creating[change["Create"]["IndexName"]] = self.build_answers
            else:
                name = change["Delete"]["IndexName"]
                self.deleting[name] = (self.build_answers, self._last_description.get(name, {"IndexName": name}))
        self._pending = []

    def _query(self, params: dict[str, Any], **_: Any) -> tuple[_Response, dict[str, Any]] | None:
        name = _request(params).get("IndexName")
        if name in self.creating:
            return self._refuse("ValidationException", BACKFILLING.format(name=name))
        return None

    def _absent_index(self, parsed: dict[str, Any], **_: Any) -> None:
        # moto answers a Query on an absent index ResourceNotFoundException "Invalid index: ..."; DynamoDB
        # answers ValidationException "The table does not have the specified index: <name>".
        error = parsed.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException" and str(error.get("Message", "")).startswith("Invalid index"):
            name = str(error["Message"]).removeprefix("Invalid index: ").split(" ")[0]
            parsed["Error"] = {"Code": "ValidationException", "Message": f"The table does not have the specified index: {name}"}

    def _describe(self, parsed: dict[str, Any], **_: Any) -> None:
        table = parsed.get("Table")
        if not table:
            return
        indexes = table.setdefault("GlobalSecondaryIndexes", [])
        self._last_description.update({index["IndexName"]: dict(index) for index in indexes})
        for index in indexes:
            if index["IndexName"] in self.creating:
                index["IndexStatus"], index["Backfilling"] = "CREATING", True
        for _left, deleted in self.deleting.values():
            indexes.append({**deleted, "IndexStatus": "DELETING"})
        self.creating = {name: left - 1 for name, left in self.creating.items() if left > 1}
        self.deleting = {name: (left - 1, index) for name, (left, index) in self.deleting.items() if left > 1}
