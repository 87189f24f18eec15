"""GraphiQL offline (CONTRACT.md section 9): the page and everything it loads come from the service."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.graphiql import CONTENT_SECURITY_POLICY, PACKAGE_FILES, PAGE_FILES
from tests.frontend.conftest import ServiceFactory
from tests.support import app_client

HTML = {"accept": "text/html"}


async def test_page_loads_only_the_services_own_files_under_a_self_only_policy(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'; script-src 'self'; style-src 'self';" in CONTENT_SECURITY_POLICY
    assert "https://" not in page.text and "http://" not in page.text and "<script>" not in page.text
    for name in [*PACKAGE_FILES, *PAGE_FILES]:
        assert f'"/graphiql/{name}"' in page.text
        asset = await http.get(f"/graphiql/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert len(asset.content) > 50


@pytest.mark.parametrize("name", ["package.json", "..%2Fpackage.json", "graphiql.js", "index.html"])
async def test_only_the_named_files_are_served(http: httpx.AsyncClient, name: str) -> None:
    assert (await http.get(f"/graphiql/{name}")).status_code == 404


async def test_production_serves_no_graphiql(service_with: ServiceFactory) -> None:
    async with app_client(service_with(env="production")) as client:
        assert (await client.get("/graphql", headers=HTML)).status_code == 404
        assert (await client.get("/graphiql/graphiql.min.js")).status_code == 404


async def test_missing_packages_are_named_instead_of_a_white_page(
    service_with: ServiceFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relative folder in an empty directory: the message names the same path wherever the tests run,
    # and a long temporary path (pytest-xdist adds popen-gwN/) would be cut short as any run over 100 characters is.
    monkeypatch.chdir(tmp_path)
    async with app_client(service_with(graphiql_assets=Path("node_modules"))) as client:
        page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 503
    # Coded JSON like every non-2xx answer of /graphql (CONTRACT.md section 9); a browser shows it as text.
    [error] = page.json()["errors"]
    assert error["message"].startswith(
        "GraphiQL's files are not installed: node_modules/react/umd/react.production.min.js is missing."
    )
