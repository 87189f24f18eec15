"""Health, readiness, and the one structured log line per request."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from app.bootstrap import Service
from tests.api import queries
from tests.support import GraphQLClient, TokenFactory

REQUEST_LOG = "shelcaster.channels.requests"


def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == REQUEST_LOG]


async def test_healthz_answers_without_auth(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_reports_the_table_and_every_index_active(http: httpx.AsyncClient, service: Service) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {
        "table": f"{service.settings.table}: ACTIVE",
        "index entityType-index": "ACTIVE",
        "index channels-by-created-index": "ACTIVE",
        "index channels-by-state-index": "ACTIVE",
        "index channels-by-arn-index": "ACTIVE",
        "index channel-requests-by-status-index": "ACTIVE",
        "index channel-requests-by-created-index": "ACTIVE",
        "index channel-requests-by-requester-index": "ACTIVE",
        "index slots-by-host-index": "ACTIVE",
        "capacity counter": "present",
    }


async def test_readyz_is_503_while_the_capacity_counter_is_missing(http: httpx.AsyncClient, service: Service) -> None:
    # As a provision stopped before its counter step leaves the table: creates would all be refused.
    service.clients.dynamodb.delete_item(
        TableName=service.settings.table, Key={"pk": {"S": "counter#persistentChannel"}, "sk": {"S": "capacity"}}
    )
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["capacity counter"] == "missing (run shelcaster-channels provision)"


async def test_readyz_is_503_when_the_table_is_missing(http: httpx.AsyncClient, service: Service) -> None:
    service.clients.dynamodb.delete_table(TableName=service.settings.table)
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"table": f"{service.settings.table}: ResourceNotFoundException"}


async def test_each_request_logs_one_json_line(
    http: httpx.AsyncClient, admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=REQUEST_LOG):
        response = await http.post(
            "/graphql",
            json={"query": 'mutation { createChannel(input: {name: "Logged"}) { id } }'},
            headers={"Authorization": f"Bearer {admin}", "x-request-id": "trace-123"},
        )
    assert response.headers["x-request-id"] == "trace-123"
    [line] = log_lines(caplog)
    assert line["requestId"] == "trace-123"
    assert (line["operation"], line["callerId"], line["status"], line["outcome"]) == (
        "mutation createChannel", "admin-1", 200, "OK"
    )
    # Reserve the slot, create the IVS channel, write the record (no KMS: this test service has no key).
    assert line["awsCalls"] == {"dynamodb.TransactWriteItems": 2, "ivs.CreateChannel": 1}
    assert line["durationMs"] > 0


async def test_the_log_line_carries_the_error_code_and_named_operation(
    gql: GraphQLClient, tokens: TokenFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=REQUEST_LOG):
        await gql("query Capacity { capacity { used } }", token=tokens.host("h1"))
    [line] = log_lines(caplog)
    assert (line["operation"], line["callerId"], line["outcome"], line["awsCalls"]) == ("query Capacity", "h1", "FORBIDDEN", {})


async def test_concurrent_requests_count_their_own_aws_calls(
    gql: GraphQLClient, admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=REQUEST_LOG):
        await asyncio.gather(*(gql(queries.CAPACITY, token=admin) for _ in range(8)))
    lines = log_lines(caplog)
    assert len(lines) == 8
    assert all(line["awsCalls"] == {"dynamodb.GetItem": 1} for line in lines)
    assert len({line["requestId"] for line in lines}) == 8


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
async def test_readyz_in_production_names_no_table_or_index(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
async def test_readyz_in_production_when_not_ready_says_only_so(http: httpx.AsyncClient, service: Service) -> None:
    service.clients.dynamodb.delete_table(TableName=service.settings.table)
    response = await http.get("/readyz")
    assert (response.status_code, response.json()) == (503, {"status": "not ready"})
