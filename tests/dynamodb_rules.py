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
