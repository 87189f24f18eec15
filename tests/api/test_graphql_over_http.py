"""The GraphQL-over-HTTP audits of the GraphQL Foundation's `graphql-http` suite (server audits of
graphql-http 1.23.1, lib/audits/server.js), the same requests and checks, in pytest (no Node needed).

`npx graphql-http`'s auditServer against `shelcaster-channels serve` gives every audit OK; this
module keeps it so. Each case names the audit's id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.graphql_over_http import prefers_graphql_response

GQL = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = {"query": "{ __typename }"}
UNKNOWN_FIELD = {"query": "{ 8f31403dfe404bccbb0e835f2629c6a7 }"}
COERCE_FAILURE = {"query": "query CoerceFailure($id: ID!){ __typename }", "variables": {"id": None}}
TYPE_QUERY = "query Type($name: String!) { __type(name: $name) { name } }"
MISSING: Any = object()


@dataclass(frozen=True)
class Audit:
    id: str
    body: Any = MISSING  # JSON-encoded unless bytes/str
    accept: str | None = None
    content_type: str | None = JSON
    params: dict[str, str] | None = None  # a GET with these query parameters
    status: int | tuple[int, int] = 200
    media: str | None = None
    no_errors: bool = False
    no_data: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _invalid(prefix: str, key: str, values: list[Any], status: int = 400) -> list[Audit]:
    return [Audit(f"{prefix}{i}", body={**TYPENAME, key: value}, status=status) for i, value in enumerate(values)]


AUDITS: list[Audit] = [
    # Media types
    Audit("22EB", body=TYPENAME, accept=GQL, media=GQL),
    Audit("4655", body=TYPENAME, accept=JSON, media=JSON),
    Audit("47DE", body=TYPENAME, accept="*/*", media=JSON),
    Audit("80D8", body=TYPENAME, media=JSON),
    Audit("82A3", body=TYPENAME),
    Audit("BF61", body={"query": '{ __type(name: "Run🏃Swim🏊") { name } }'}, content_type=f"{JSON}; charset=utf-8"),
    Audit("78D5", body=TYPENAME),
    # Request
    Audit("2C94", body=TYPENAME),
    Audit("5A70", params={"query": "{ __typename }"}, accept=None),
    Audit("9C48", params={"query": "mutation { __typename }"}, accept=GQL, status=(400, 499)),
    Audit("9ABE", body=json.dumps(TYPENAME), content_type=None, status=(400, 499)),
    Audit("03D4", body=TYPENAME),
    Audit("A5BF", body=b"", status=400),
    # Request parameters
    Audit("423L", body={"notquery": "{ __typename }"}, accept=GQL, status=400),
    *[Audit(f"LKJ{i}", body={"query": value}, status=400) for i, value in enumerate([{"obj": "ect"}, 0, False, ["array"]])],
    Audit("34A2", body=TYPENAME, accept=GQL),
    Audit("13EE", body=TYPENAME, accept=JSON, no_errors=True),
    *_invalid("6C0", "operationName", [{"obj": "ect"}, 0, False, ["array"]]),
    Audit("8161", body={"operationName": "Query", "query": "query Query { __typename }"}, accept=GQL),
    Audit("B8B3", body={"operationName": "Query", "query": "query Query { __typename }"}, accept=JSON, no_errors=True),
    *[
        Audit(f"{prefix}{i}", body={**TYPENAME, parameter: None}, accept=accept, no_errors=True)
        for i, parameter in enumerate(["variables", "operationName", "extensions"])
        for prefix, accept in (("94B", GQL), ("022", JSON))
    ],
    *_invalid("476", "variables", ["string", 0, False, ["array"]]),
    Audit("2EA1", body={"query": TYPE_QUERY, "variables": {"name": "sometype"}}, accept=GQL),
    Audit("28B9", body={"query": TYPE_QUERY, "variables": {"name": "sometype"}}, accept=JSON, no_errors=True),
    Audit("D6D5", params={"query": TYPE_QUERY, "variables": '{"name":"sometype"}'}, accept=GQL, no_errors=True),
    Audit("6A70", params={"query": TYPE_QUERY, "variables": '{"name":"sometype"}'}, accept=JSON, no_errors=True),
    *_invalid("58B", "extensions", ["string", 0, False, ["array"]]),
    Audit("428F", body={**TYPENAME, "extensions": {"some": "value"}}, accept=GQL),
    Audit("1B7A", body={**TYPENAME, "extensions": {"some": "value"}}, accept=JSON, no_errors=True),
    Audit("B6DC", body='{ "not a JSON', accept=JSON, status=(200, 599)),
    Audit("BCF8", body='{ "not a JSON', accept=JSON, status=400),
    Audit("B7N8", body='{ "not a JSON', accept=GQL, status=400),
    Audit("8764", body={"qeury": "{ __typename }"}, status=(400, 599)),
    Audit("3E3A", body={"qeury": "{ __typename }"}, status=400),
    # Response application/json: GraphQL-level errors are 200
    Audit("572B", body={"query": "{"}, accept=JSON),
    Audit("FDE2", body=UNKNOWN_FIELD, accept=JSON),
    Audit("7B9B", body=COERCE_FAILURE, accept=JSON),
    # Response application/graphql-response+json: request errors are 400 without data
    Audit("865D", body={"query": "{"}, accept=GQL, status=(400, 599)),
    Audit("556A", body={"query": "{"}, accept=GQL, status=400, media=GQL),
    Audit("D586", body={"query": "{"}, accept=GQL, status=400, no_data=True),
    Audit("51FE", body=UNKNOWN_FIELD, accept=GQL, status=(400, 599)),
    Audit("74FF", body=UNKNOWN_FIELD, accept=GQL, status=400, media=GQL),
    Audit("5E5B", body=UNKNOWN_FIELD, accept=GQL, status=400, no_data=True),
    Audit("86EE", body=COERCE_FAILURE, accept=GQL, status=400, media=GQL),
]


async def _send(http: httpx.AsyncClient, audit: Audit) -> httpx.Response:
    headers = {"accept": audit.accept} if audit.accept else {}
    if audit.params is not None:
        return await http.get("/graphql", params=audit.params, headers=headers)
    if audit.content_type:
        headers["content-type"] = audit.content_type
    if audit.body is MISSING:
        content = b""
    elif isinstance(audit.body, (bytes, str)):
        content = audit.body.encode() if isinstance(audit.body, str) else audit.body
    else:
        content = json.dumps(audit.body).encode()
    return await http.post("/graphql", content=content, headers=headers)


def test_every_audit_of_the_suite_is_here() -> None:
    # graphql-http 1.23.1 has 61 server audits.
    assert len(AUDITS) == 61 and len({audit.id for audit in AUDITS}) == 61


def _failure(audit: Audit, response: httpx.Response) -> str | None:
    status = audit.status if isinstance(audit.status, tuple) else (audit.status, audit.status)
    if not status[0] <= response.status_code <= status[1]:
        return f"status {response.status_code}, expected {audit.status}: {response.text[:200]}"
    if audit.media and audit.media not in response.headers.get("content-type", ""):
        return f"content-type {response.headers.get('content-type')!r}, expected {audit.media}"
    try:
        text = response.content.decode("utf-8")  # 82A3: always UTF-8
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if audit.no_errors and "errors" in json.loads(text):
        return f"errors in {text[:200]}"
    if audit.no_data and "data" in json.loads(text):
        return f"data entry in {text[:200]}"
    return None


async def test_every_graphql_over_http_audit_is_ok(http: httpx.AsyncClient) -> None:
    # One app for all 61 (each is a request with no state); every failure is listed at once.
    failures = {}
    for audit in AUDITS:
        failure = _failure(audit, await _send(http, audit))
        if failure:
            failures[audit.id] = failure
    assert failures == {}


async def test_graphql_response_json_request_error_is_coded(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{"}, headers={"accept": GQL})
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GQL}; charset=utf-8"
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_execution_error_stays_200_under_graphql_response_json(http: httpx.AsyncClient) -> None:
    # No token: the field resolves to an error with a path, so data is present (null): 200.
    response = await http.post("/graphql", json={"query": "{ capacity { limit } }"}, headers={"accept": GQL})
    assert response.status_code == 200
    body = response.json()
    assert "data" in body and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_application_json_keeps_data_null_for_request_errors(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json=UNKNOWN_FIELD, headers={"accept": JSON})
    assert response.status_code == 200 and response.headers["content-type"] == JSON
    assert response.json()["data"] is None


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("*/*", False),
        (JSON, False),
        (GQL, True),
        (f"{GQL},{JSON};q=0.9", True),  # Apollo Client's and graphql-http's default
        (f"{JSON},{GQL};q=0.5", False),
        (f"{GQL};q=0", False),
        (f"{JSON}, {GQL}", True),
        (f"text/html, {GQL};q=0.8, */*;q=0.9", False),
    ],
)
def test_accept_negotiation(accept: str | None, expected: bool) -> None:
    assert prefers_graphql_response(accept) is expected
