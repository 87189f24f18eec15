"""The service on its embedded backend, built in this process, with tokens and a GraphQL client."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.bootstrap import Service, bootstrap
from app.http import create_app
from app.settings import Settings
from bench.seed import Seal, sealer

BENCH_ADMIN = "bench-admin"


@dataclass
class LocalService:
    service: Service

    def token(self, user_id: str, *, admin: bool = False) -> str:
        assert self.service.dev_key is not None  # embedded mode always has one
        return self.service.dev_key.mint(user_id, admin=admin, admin_group=self.service.settings.auth_admin_group)

    @property
    def admin_token(self) -> str:
        return self.token(BENCH_ADMIN, admin=True)

    @property
    def seal(self) -> Seal | None:
        """How seeded records seal their stream keys; None when the service stores them in plain text."""
        cipher = self.service.backend.stream_keys
        return sealer(cipher.kms, cipher.kms_key_id, cipher.table) if cipher is not None else None


def embedded_settings(table: str, limit: int, dev_dir: Path) -> Settings:
    """Settings of an embedded service, all given here so that the caller's environment plays no part."""
    return Settings(backend="embedded", table=table, limit=limit, dev_dir=dev_dir, env="production")


@contextlib.contextmanager
def local_service(table: str, limit: int = 100) -> Iterator[LocalService]:
    """An embedded service (its own moto server on loopback, table provisioned) in this process."""
    with tempfile.TemporaryDirectory(prefix="bench-dev-") as dev_dir:
        service = bootstrap(embedded_settings(table, limit, Path(dev_dir)), live_updates=False)
        try:
            yield LocalService(service)
        finally:
            service.close()


class GraphQL:
    """Posts GraphQL documents to the app in this process (ASGI, no socket) and fails loudly on errors."""

    def __init__(self, local: LocalService) -> None:
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(local.service)),
                                         base_url="http://bench.invalid")

    async def __aenter__(self) -> GraphQL:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *, token: str,
                       refused_with: str | None = None) -> dict[str, Any]:
        """The answer's data; with `refused_with`, the answer must be exactly that error code (its data returned)."""
        response = await self._client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
        )
        body: dict[str, Any] = response.json()
        if refused_with is not None:
            codes = [error.get("extensions", {}).get("code") for error in body.get("errors") or []]
            if codes != [refused_with]:
                raise RuntimeError(f"GraphQL request not refused with {refused_with} ({response.status_code}): {body}")
            return {"data": body.get("data")}
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"GraphQL request failed ({response.status_code}): {body}")
        data: dict[str, Any] = body["data"]
        return data
