"""Fixtures: one moto server for the session (reset per test), a loopback JWKS, the app over httpx."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.auth import RemoteJwks, TokenVerifier
from app.bootstrap import Service, bootstrap
from app.http import create_app
from app.settings import Settings
from data.clients import AwsConnection
from data.provisioning import provision
from embedded.emulator import EmbeddedAws
from tests.support import (
    ADMIN_GROUP,
    CLIENT_ID,
    ISSUER,
    SERVICE_CLIENT_ID,
    GraphQLClient,
    JwksServer,
    TokenFactory,
    new_rsa_key,
    public_jwk,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files that hold slow tests first, each file's tests kept together and in order.

    pytest-xdist (`make test`, --dist loadfile) hands out files in this order: a long file handed out
    last would leave the other workers idle until it ends.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def aws() -> Iterator[EmbeddedAws]:
    """moto's server on loopback, behind the same serialising wrapper the embedded mode uses."""
    emulator = EmbeddedAws()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def aws_connection(aws: EmbeddedAws) -> AwsConnection:
    # Every test starts from an empty account (moto's reset API).
    request = urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    return aws.connection


@pytest.fixture(scope="session")
def signing() -> Iterator[tuple[TokenFactory, JwksServer]]:
    key = new_rsa_key()
    kid = "test-key-1"
    server = JwksServer({"keys": [public_jwk(key, kid)]})
    yield TokenFactory(key=key, kid=kid), server
    server.stop()


@pytest.fixture
def tokens(signing: tuple[TokenFactory, JwksServer]) -> TokenFactory:
    return signing[0]


@pytest.fixture
def jwks_server(signing: tuple[TokenFactory, JwksServer]) -> JwksServer:
    return signing[1]


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "backend": "aws",
        "table": f"channels-test-{uuid.uuid4().hex[:8]}",
        "auth_issuer": ISSUER,
        "auth_audience": f"{CLIENT_ID},{SERVICE_CLIENT_ID}",
        "auth_admin_group": ADMIN_GROUP,
        "limit": 20,
        "dev_dir": Path("/nonexistent"),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """Test settings; a test changes some with `@pytest.mark.parametrize("settings", [{...}], indirect=True)`."""
    return make_settings(**getattr(request, "param", {}))


@pytest.fixture
def service(settings: Settings, aws_connection: AwsConnection, jwks_server: JwksServer) -> Iterator[Service]:
    verifier = TokenVerifier(
        issuer=ISSUER,
        audiences=settings.audiences,
        admin_group=ADMIN_GROUP,
        keys=RemoteJwks(jwks_server.url),
        scope_prefix=settings.auth_scope_prefix,
    )
    built = bootstrap(settings, connection=aws_connection, verifier=verifier)
    provision(built.table, settings.entity_index)
    yield built
    built.close()


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://channels.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def admin(tokens: TokenFactory) -> str:
    return tokens.admin()
