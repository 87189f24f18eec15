"""CORS (CONTRACT.md section 9): local dev servers by default in development, Apollo's and the tracing
libraries' headers, and CHANNELS_CORS_ALLOW_HEADERS for more."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from app.settings import SettingsError, load_settings
from tests.frontend.conftest import ServiceFactory
from tests.support import app_client

APOLLO_HEADERS = "authorization,content-type,apollographql-client-name,apollographql-client-version,x-request-id"


def preflight(origin: str, headers: str = APOLLO_HEADERS) -> dict[str, str]:
    return {"origin": origin, "access-control-request-method": "POST", "access-control-request-headers": headers}


def allowed_headers(response: httpx.Response) -> set[str]:
    return {header.strip() for header in response.headers["access-control-allow-headers"].lower().split(",")}


LOCAL = "http://localhost:5173"


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost",
                                    "http://localhost:1", "http://127.0.0.1:65535"])
async def test_development_allows_local_dev_servers_with_apollo_headers(http: httpx.AsyncClient, origin: str) -> None:
    response = await http.options("/graphql", headers=preflight(origin))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == origin
    assert set(APOLLO_HEADERS.split(",")) <= allowed_headers(response)
    actual = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": origin})
    assert actual.headers["access-control-allow-origin"] == origin
    assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    "origin", ["http://localhost.evil.example:5173", "https://evil.example", "http://127.0.0.1.evil.example",
               "http://192.168.1.10:5173", "http://localhost:0", "http://localhost:65536", "http://localhost:99999",
               "http://127.0.0.1:08080"]
)
async def test_development_refuses_other_origins(http: httpx.AsyncClient, origin: str) -> None:
    response = await http.options("/graphql", headers=preflight(origin))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def _client(service_with: ServiceFactory, **overrides: object) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return app_client(service_with(**overrides))


async def test_production_allows_only_configured_origins(service_with: ServiceFactory) -> None:
    async with _client(service_with, env="production", cors_origins="https://vista.shelcaster.example") as client:
        local = await client.options("/graphql", headers=preflight("http://localhost:5173"))
        assert "access-control-allow-origin" not in local.headers
        vista = await client.options("/graphql", headers=preflight("https://vista.shelcaster.example"))
        assert vista.status_code == 200
        assert vista.headers["access-control-allow-origin"] == "https://vista.shelcaster.example"


async def test_production_without_origins_allows_none(service_with: ServiceFactory) -> None:
    async with _client(service_with, env="production") as client:
        response = await client.options("/graphql", headers=preflight("http://localhost:5173"))
        assert "access-control-allow-origin" not in response.headers


def test_production_refuses_a_wildcard_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANNELS_ENV", "production")
    monkeypatch.setenv("CHANNELS_CORS_ORIGINS", "https://vista.shelcaster.example,*")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.problems == [
        "CHANNELS_CORS_ORIGINS: '*' is refused in production; list the frontends' origins (https://...)."
    ]


async def test_a_request_without_origin_gets_vary_origin_and_no_cors_headers(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.headers.get_list("vary") == ["Origin"]
    assert "access-control-allow-origin" not in response.headers


async def test_a_request_without_origin_merges_vary_with_the_answers_own() -> None:
    from starlette.types import Message, Receive, Scope, Send

    from app.cors import ALLOWED_HEADERS, CorsMiddleware

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"vary", b"Accept")]})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    middleware = CorsMiddleware(answer, allow_origins=["https://app.example"], allow_headers=ALLOWED_HEADERS)
    await middleware({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
    assert sent[0]["headers"] == [(b"vary", b"Accept, Origin")]


# Tracing and Apollo's other headers: a preflight naming a header not allowed is refused, and the
# browser then never sends the request.

TRACING_HEADERS = [
    "traceparent",  # W3C trace context (OpenTelemetry)
    "tracestate",
    "sentry-trace",  # Sentry
    "baggage",
    "x-datadog-trace-id",  # Datadog RUM's own propagator
    "x-datadog-parent-id",
    "x-datadog-origin",
    "x-datadog-sampling-priority",
    "x-datadog-tags",
]
APOLLO_OTHER_HEADERS = ["apollo-require-preflight", "x-apollo-operation-name"]


@pytest.mark.parametrize("header", TRACING_HEADERS + APOLLO_OTHER_HEADERS)
async def test_preflight_allows_the_header(http: httpx.AsyncClient, header: str) -> None:
    response = await http.options("/graphql", headers=preflight(LOCAL, f"content-type,{header}"))
    assert response.status_code == 200, response.text
    assert header in allowed_headers(response)


async def test_preflight_allows_every_tracing_header_at_once(http: httpx.AsyncClient) -> None:
    response = await http.options("/graphql", headers=preflight(LOCAL, ",".join([*TRACING_HEADERS, APOLLO_HEADERS])))
    assert response.status_code == 200, response.text


async def test_preflight_refuses_a_header_not_allowed(http: httpx.AsyncClient) -> None:
    response = await http.options("/graphql", headers=preflight(LOCAL, "content-type,x-feature-flag"))
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Disallowed CORS headers", "extensions": {"code": "BAD_USER_INPUT"}}]}


async def test_cors_allow_headers_adds_headers(service_with: ServiceFactory) -> None:
    async with _client(service_with, cors_allow_headers="X-Feature-Flag, x-b3-traceid") as client:
        response = await client.options("/graphql", headers=preflight(LOCAL, "traceparent,x-feature-flag,x-b3-traceid"))
    assert response.status_code == 200, response.text
    assert {"traceparent", "x-feature-flag", "x-b3-traceid"} <= allowed_headers(response)


async def test_cors_allow_headers_adds_headers_in_production(service_with: ServiceFactory) -> None:
    vista = "https://vista.shelcaster.example"
    async with _client(service_with, env="production", cors_origins=vista, cors_allow_headers="x-feature-flag") as client:
        response = await client.options("/graphql", headers=preflight(vista, "sentry-trace,baggage,x-feature-flag"))
    assert response.status_code == 200, response.text


def test_cors_allow_headers_refuses_what_is_not_a_header_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANNELS_CORS_ALLOW_HEADERS", "x-good, x bad;, x-also-good")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.problems == [
        "CHANNELS_CORS_ALLOW_HEADERS: 'x bad;' is not a header name "
        "(letters, digits and !#$%&'*+-.^_`|~; names are separated by commas)."
    ]


def test_cors_allow_headers_refuses_a_wildcard_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANNELS_ENV", "production")
    monkeypatch.setenv("CHANNELS_CORS_ALLOW_HEADERS", "x-feature-flag,*")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.problems == [
        "CHANNELS_CORS_ALLOW_HEADERS: '*' is refused in production; list the headers the frontends send."
    ]


def test_the_readme_lists_every_header_allowed_by_default() -> None:
    from pathlib import Path

    from app.cors import ALLOWED_HEADERS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `CHANNELS_CORS_ALLOW_HEADERS` |")]
    assert [header for header in ALLOWED_HEADERS if f"`{header}`" not in row] == []
