"""The queries' aiohttp connections (data.dynamo_reads) live as long as the served app: opened by the
first read, shared by the requests, closed by the app's shutdown."""

from __future__ import annotations

import httpx
import pytest

import app.http
from app.bootstrap import Service
from app.http import create_app
from tests.api import queries
from tests.support import recorded_sessions


async def test_the_served_apps_shutdown_closes_the_connections_its_requests_shared(
    service: Service, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = recorded_sessions(monkeypatch)
    monkeypatch.setattr(app.http, "_heap_frozen", True)  # the lifespan would freeze this test process's heap
    served = create_app(service)
    async with served.router.lifespan_context(served):
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://channels.test") as client:
            for _ in range(3):
                response = await client.post("/graphql", json={"query": queries.CAPACITY},
                                             headers={"Authorization": f"Bearer {admin}"})
                assert response.json()["data"]["capacity"]["used"] == 0
        assert len(opened) == 1 and not opened[0].closed
    assert opened[0].closed
