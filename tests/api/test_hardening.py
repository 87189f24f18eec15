"""Abuse of the GraphQL surface is refused before any resolver runs, so it costs no AWS call."""

from __future__ import annotations

import httpx
import pytest

from app.bootstrap import Service
from tests.faults import Spy
from tests.support import GraphQLClient, error_codes

DEEP = "{ myChannel { " + "channel { assignments { " * 25 + "hostUserId" + " } }" * 25 + " } }"

def aliases(count: int) -> str:
    return "{ " + " ".join(f"c{n}: capacity {{ used }}" for n in range(count)) + " }"


HUGE = "{ capacity { used } }" + " " * 100_000


@pytest.mark.parametrize(
    ("document", "code", "fragment"),
    [
        (DEEP, "GRAPHQL_VALIDATION_FAILED", "exceeds maximum operation depth of 10"),
        (aliases(40), "GRAPHQL_VALIDATION_FAILED", "40 aliases found. Allowed: 30"),
        (aliases(500), "GRAPHQL_PARSE_FAILED", "more than 2000 tokens"),  # the token bound refuses it first
        ("{ " + "capacity { used } " * 1000 + "}", "GRAPHQL_PARSE_FAILED", "more than 2000 tokens"),
    ],
    ids=["depth-50", "40-aliases", "500-aliases", "3000-tokens"],
)
async def test_abusive_document_is_refused_without_aws_calls(
    gql: GraphQLClient, admin: str, service: Service, document: str, code: str, fragment: str
) -> None:
    with Spy(service.clients.dynamodb, service.clients.ivs) as spy:
        result = await gql(document, token=admin)
    assert error_codes(result) == [code]
    assert fragment in result["errors"][0]["message"]
    assert spy.operations == []


async def test_oversize_body_is_413_without_aws_calls(http: httpx.AsyncClient, admin: str, service: Service) -> None:
    with Spy(service.clients.dynamodb) as spy:
        response = await http.post("/graphql", json={"query": HUGE}, headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 413
    assert response.headers["x-request-id"]
    assert spy.operations == []


async def test_streamed_oversize_body_is_413(http: httpx.AsyncClient, admin: str) -> None:
    async def chunks():  # no Content-Length: the limit is counted as the body arrives
        for _ in range(100):
            yield b" " * 1024

    response = await http.post(
        "/graphql", content=chunks(), headers={"Authorization": f"Bearer {admin}", "content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_development_serves_graphiql_and_introspection(http: httpx.AsyncClient, gql: GraphQLClient, admin: str) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    result = await gql("{ __schema { queryType { name } } }", token=admin)
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
async def test_production_hides_graphiql_introspection_and_suggestions(
    http: httpx.AsyncClient, gql: GraphQLClient, admin: str
) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404
    introspection = await gql("{ __schema { queryType { name } } }", token=admin)
    assert set(error_codes(introspection)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in introspection["errors"][0]["message"]
    typo = await gql("{ capacit { used } }", token=admin)
    assert "Did you mean" not in typo["errors"][0]["message"]


async def test_no_cross_origin_access_by_default(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/graphql", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("settings", [{"cors_origins": "https://vista.shelcaster.example"}], indirect=True)
async def test_configured_origin_is_allowed_and_others_are_not(http: httpx.AsyncClient) -> None:
    allowed = await http.options(
        "/graphql",
        headers={"origin": "https://vista.shelcaster.example", "access-control-request-method": "POST",
                 "access-control-request-headers": "authorization,content-type"},
    )
    other = await http.options(
        "/graphql", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://vista.shelcaster.example"
    assert "access-control-allow-origin" not in other.headers
