"""Every non-2xx answer of /graphql is coded JSON with the request id (CONTRACT.md section 9), and its
log line has the status the client got."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx
import pytest

from app.transport_errors import JSON_DEPTH_MAX
from tests.support import GraphQLClient

JSON = {"content-type": "application/json"}


def assert_coded(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": code}}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"null", "The request's JSON must be an object, not null."),
        (b'"hi"', "The request's JSON must be an object, not a string."),
        (b"123", "The request's JSON must be an object, not a number."),
        (b"true", "The request's JSON must be an object, not a boolean."),
        (b"[" * 5000 + b"]" * 5000, "The request's JSON is nested too deeply."),
        (b'{"query": "{ capacity { used } }", "x": "\xff"}', "The request body is not valid UTF-8."),
        (b'{"query": ', "Unable to parse request body as JSON"),
        (b'{"query": "{ capacity { used } }", "variables": {"n": ' + b"9" * 5000 + b"}}",
         "The request's JSON holds a number too large to read."),
        (b'[{"query": "{ capacity { used } }"}, {"query": "{ capacity { limit } }"}]', "Batching is not enabled"),
        (b'{"query": "{ capacity { used } }", "variables": [1]}',
         "The GraphQL operation's `variables` must be an object or null, if provided."),
        (b'{"query": "{ capacity { used } }", "operationName": 7}',
         "The request's `operationName` must be a string or null, if provided."),
        (b'{"variables": {}}', "No GraphQL query found in the request."),
    ],
    ids=["null", "string", "number", "boolean", "nested-5000", "invalid-utf8", "truncated", "5000-digit-number",
         "batch", "variables-list", "operation-name-number", "no-query"],
)
async def test_malformed_body_is_400_bad_user_input(
    http: httpx.AsyncClient, admin: str, body: bytes, message: str
) -> None:
    response = await http.post("/graphql", content=body, headers={**JSON, "Authorization": f"Bearer {admin}"})
    assert_coded(response, 400, "BAD_USER_INPUT", message)


async def test_wrong_content_type_is_415(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content=b"{ capacity { used } }", headers={"content-type": "text/plain"})
    assert_coded(response, 415, "BAD_USER_INPUT", "The request body must be application/json.")


async def test_mutation_over_get_is_405(http: httpx.AsyncClient, admin: str) -> None:
    response = await http.get(
        "/graphql", params={"query": 'mutation { deleteChannel(id: "x") { id } }'},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert_coded(response, 405, "BAD_USER_INPUT", "Mutations must be sent with POST.")
    assert response.headers["allow"] == "POST"


async def test_query_over_get_still_works(http: httpx.AsyncClient, admin: str) -> None:
    response = await http.get(
        "/graphql", params={"query": "{ capacity { limit } }"}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert response.json() == {"data": {"capacity": {"limit": 20}}}


async def test_get_with_variables_that_are_not_an_object_is_400(http: httpx.AsyncClient, admin: str) -> None:
    response = await http.get(
        "/graphql", params={"query": "{ capacity { limit } }", "variables": "12"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert_coded(response, 400, "BAD_USER_INPUT", "The request's JSON must be an object, not a number.")


async def test_unknown_operation_name_is_400_with_the_name_cut_short(http: httpx.AsyncClient, admin: str) -> None:
    response = await http.post(
        "/graphql", json={"query": "query A { capacity { used } }", "operationName": "B" * 5000},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert_coded(response, 400, "BAD_USER_INPUT", f"The document has no operation named '{'B' * 100}…'.")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_coded_json(http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, "/graphql", content=b"{}", headers=JSON)
    assert_coded(response, 405, "BAD_USER_INPUT", "Method Not Allowed")


async def test_oversize_body_is_413_coded_json(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content=b" " * 70_000, headers=JSON)
    assert_coded(response, 413, "BAD_USER_INPUT", "Request body larger than 65536 bytes.")


async def test_unknown_path_is_404_coded_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/nowhere")
    assert_coded(response, 404, "NOT_FOUND", "Not Found")


async def test_refusal_is_logged_with_its_status_and_the_request_id(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shelcaster.channels.requests"):
        response = await http.post("/graphql", content=b"null", headers={**JSON, "x-request-id": "req-null-1"})
    assert response.headers["x-request-id"] == "req-null-1"
    line = json.loads(caplog.records[-1].getMessage())
    assert (line["requestId"], line["status"], line["outcome"]) == ("req-null-1", 400, "BAD_USER_INPUT")


async def test_router_refusal_is_logged_with_its_code(http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="shelcaster.channels.requests"):
        await http.put("/graphql", content=b"{}", headers=JSON)
    line = json.loads(caplog.records[-1].getMessage())
    assert (line["status"], line["outcome"]) == (405, "BAD_USER_INPUT")


async def test_long_path_is_cut_short_in_the_log_line(http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="shelcaster.channels.requests"):
        response = await http.get("/" + "p" * 8_000)  # within the URL's cap (app.header_limits), unknown
    assert response.status_code == 404
    assert len(json.loads(caplog.records[-1].getMessage())["path"]) <= 120


async def test_long_operation_name_is_cut_short_in_the_log_line(
    gql: GraphQLClient, admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = "Q" * 60_000
    with caplog.at_level(logging.INFO, logger="shelcaster.channels.requests"):
        await gql(f"query {name} {{ capacity {{ used }} }}", token=admin)
    line = json.loads(caplog.records[-1].getMessage())
    assert len(line["operation"]) <= 101
    assert len(caplog.records[-1].getMessage()) < 1000


# Refusals negotiate their media type as every other answer does (GraphQL over HTTP)

GRAPHQL_RESPONSE = "application/graphql-response+json"
ACCEPTS_GRAPHQL_RESPONSE = {"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}  # Apollo Client 4's


async def test_refused_batch_answers_graphql_response_json_when_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}], headers=ACCEPTS_GRAPHQL_RESPONSE
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"errors": [{"message": "Batching is not enabled", "extensions": {"code": "BAD_USER_INPUT"}}]}


async def test_refused_batch_answers_application_json_when_only_that_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json=[{"query": "{ __typename }"}], headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "message"),
    [
        ("POST", {"content": b'{"query": ', "headers": JSON}, 400, "Unable to parse request body as JSON"),
        ("POST", {"content": b"null", "headers": JSON}, 400, "The request's JSON must be an object, not null."),
        ("POST", {"json": {"variables": {}}}, 400, "No GraphQL query found in the request."),
        ("POST", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415,
         "The request body must be application/json."),
        ("GET", {"params": {"query": 'mutation { deleteChannel(id: "x") { id } }'}}, 405, "Mutations must be sent with POST."),
    ],
    ids=["truncated-json", "null", "no-query", "wrong-content-type", "get-mutation"],
)
async def test_refusal_answers_graphql_response_json_when_accepted(
    http: httpx.AsyncClient, method: str, kwargs: dict[str, Any], status: int, message: str
) -> None:
    headers = {**ACCEPTS_GRAPHQL_RESPONSE, **kwargs.pop("headers", {})}
    response = await http.request(method, "/graphql", headers=headers, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}


async def test_router_refusal_of_graphql_answers_graphql_response_json_when_accepted(http: httpx.AsyncClient) -> None:
    response = await http.put("/graphql", content=b"{}", headers={**JSON, **ACCEPTS_GRAPHQL_RESPONSE})
    assert response.status_code == 405
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"errors": [{"message": "Method Not Allowed", "extensions": {"code": "BAD_USER_INPUT"}}]}


async def test_oversize_body_answers_graphql_response_json_when_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content=b" " * 70_000, headers={**JSON, **ACCEPTS_GRAPHQL_RESPONSE})
    assert response.status_code == 413
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json()["errors"][0]["message"] == "Request body larger than 65536 bytes."


async def test_refusal_of_another_path_stays_application_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/nowhere", headers=ACCEPTS_GRAPHQL_RESPONSE)
    assert_coded(response, 404, "NOT_FOUND", "Not Found")


@pytest.mark.parametrize("recursion_limit", [1_000, 20_000])
async def test_json_deeper_than_the_bound_is_refused_whatever_the_recursion_limit(
    http: httpx.AsyncClient, admin: str, recursion_limit: int
) -> None:
    # A library (hypothesis does, while it runs) may raise the process's recursion limit: json.loads then
    # reads 5,000 levels, and the bound must still hold.
    headers, original = {**JSON, "Authorization": f"Bearer {admin}"}, sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit)
    try:
        for depth in (JSON_DEPTH_MAX + 1, 5_000):
            nested = b'{"query": "{ capacity { used } }", "variables": {"n": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"
            assert_coded(await http.post("/graphql", content=nested, headers=headers), 400, "BAD_USER_INPUT",
                         "The request's JSON is nested too deeply.")
    finally:
        sys.setrecursionlimit(original)


async def test_json_at_the_depth_bound_is_read(http: httpx.AsyncClient, admin: str) -> None:
    nested = b'{"query": "{ capacity { used } }", "variables": {"n": ' + b"[" * (JSON_DEPTH_MAX - 2) + b"]" * (JSON_DEPTH_MAX - 2) + b"}}"
    response = await http.post("/graphql", content=nested, headers={**JSON, "Authorization": f"Bearer {admin}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"capacity": {"used": 0}}}
