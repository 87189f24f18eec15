"""Test doubles that are real parts: a JWKS served on loopback and Cognito-shaped tokens signed for it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import data.aiodynamo_connection
from app.http import create_app

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
CLIENT_ID = "testclient1234567890abcdef"
# The app client of the platform's session service (client-credentials flow), also in the audience.
SERVICE_CLIENT_ID = "sessionservice1234567890ab"
SCOPE_PREFIX = "shelcaster-channels"
ADMIN_GROUP = "admin"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class JwksServer:
    """Serves a JWKS document on 127.0.0.1 and counts how often it is fetched."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.fetches += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/.well-known/jwks.json"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class TokenFactory:
    """Mints tokens in the exact claim shapes Cognito gives ID and access tokens."""

    key: rsa.RSAPrivateKey
    kid: str

    def id_token(self, sub: str, groups: list[str] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "aud": CLIENT_ID,
            "email_verified": True,
            "token_use": "id",
            "auth_time": now,
            "iss": ISSUER,
            "cognito:username": sub,
            "cognito:groups": groups or [],
            "exp": now + 3600,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
            "email": f"{sub}@example.com",
        }
        return self.sign(_merge(claims, overrides))

    def access_token(self, sub: str, groups: list[str] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "cognito:groups": groups or [],
            "iss": ISSUER,
            "client_id": CLIENT_ID,
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "username": sub,
        }
        return self.sign(_merge(claims, overrides))

    def service_token(self, *scopes: str, client_id: str = SERVICE_CLIENT_ID, **overrides: Any) -> str:
        """A client-credentials access token: `sub` is the client id, no user, no groups; `scopes`
        are scope names of this API (`sessions` becomes `shelcaster-channels/sessions`) unless they
        hold a '/' already."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": client_id,
            "token_use": "access",
            "scope": " ".join(scope if "/" in scope else f"{SCOPE_PREFIX}/{scope}" for scope in scopes),
            "auth_time": now,
            "iss": ISSUER,
            "exp": now + 3600,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client_id,
        }
        return self.sign(_merge(claims, overrides))

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, **header})

    def admin(self, sub: str = "admin-1") -> str:
        return self.id_token(sub, [ADMIN_GROUP])

    def host(self, sub: str) -> str:
        return self.id_token(sub)


def _merge(claims: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**claims, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


class GraphQLClient:
    """Posts GraphQL documents to the ASGI app over httpx, as the frontends do."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()


def error_codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


class CallCounter:
    """Counts AWS API calls through botocore's event hooks: {(service, operation): count}."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".")
        self.calls.append((service, operation))

    def attach(self, *clients: Any) -> CallCounter:
        for client in clients:
            client.meta.events.register("before-call", self)
        return self

    def detach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.unregister("before-call", self)

    def reset(self) -> None:
        self.calls.clear()

    def count(self, service: str | None = None, operation: str | None = None) -> int:
        return sum(
            1 for s, o in self.calls if (service is None or s == service) and (operation is None or o == operation)
        )


def run_main(capsys: Any, *arguments: str) -> tuple[int, list[str], str]:
    """Run `shelcaster-channels ARGUMENTS` in-process: (exit status, stdout lines, stderr)."""
    from commands.cli import main

    try:
        main(list(arguments))
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 1
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def recorded_sessions(monkeypatch: Any) -> list[aiohttp.ClientSession]:
    """Every aiohttp session the queries' reader (data.dynamo_reads) opens from now on."""
    opened: list[aiohttp.ClientSession] = []

    def open_session(**options: Any) -> aiohttp.ClientSession:
        opened.append(aiohttp.ClientSession(**options))
        return opened[-1]

    monkeypatch.setattr(data.aiodynamo_connection, "ClientSession", open_session)
    return opened


@contextlib.asynccontextmanager
async def app_client(service: Any, app: Any = None, *, base_url: str = "http://channels.test",
                     **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of `app` (the service's own by default) in this event loop. On exit, what the
    served app's shutdown does for the queries' reads (httpx's transport runs no lifespan): this loop's
    aiohttp session closed, before the loop is."""
    transport = httpx.ASGITransport(app=create_app(service) if app is None else app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url, **options) as client:
            yield client
    finally:
        if service.backend.reader is not None:
            await service.backend.reader.close()
