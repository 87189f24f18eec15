"""Text is valid Unicode or refused: a lone surrogate (JSON's `\\ud800` without its pair) anywhere in a
request is BAD_USER_INPUT, never a 500 from hashing, logging or rendering it (docs/hostile-input.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_persisted_documents import AppFactory, app_with, codegen_manifest  # noqa: F401 (fixture)
from tests.api.test_transport_errors import assert_coded

LONE = "The request's JSON holds a string that is not valid Unicode (a lone surrogate)."
JSON = {"content-type": "application/json"}
SESSIONS = 'query S($id: ID!, $after: String) { channel(id: $id) { sessions(first: 1, after: $after) { edges { cursor } } } }'

BODIES = {
    "variables": b'{"query": "query C($id: ID!) { channel(id: $id) { id } }", "variables": {"id": "\\ud800"}}',
    "variable-name": b'{"query": "{ capacity { used } }", "variables": {"\\udfff": 1}}',
    "operation-name": b'{"query": "query C { capacity { used } }", "operationName": "C\\ud800"}',
    "document": b'{"query": "{ channel(id: \\"\\ud800\\") { id } }"}',
    "document-comment": b'{"query": "# \\udc00\\n{ capacity { used } }"}',
    "cursor": (b'{"query": "' + SESSIONS.replace('"', '\\"').encode()
               + b'", "variables": {"id": "c", "after": "\\ud800"}}'),
    "extensions": b'{"query": "{ capacity { used } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "\\ud800"}}}',
    "nested-list": b'{"query": "{ capacity { used } }", "variables": {"x": [[["ok", "\\udbff"]]]}}',
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_lone_surrogate_is_bad_user_input(http: httpx.AsyncClient, admin: str, body: bytes) -> None:
    response = await http.post("/graphql", content=body, headers={**JSON, "Authorization": f"Bearer {admin}"})
    assert_coded(response, 400, "BAD_USER_INPUT", LONE)


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_lone_surrogate_is_bad_user_input_anonymous(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post("/graphql", content=body, headers=JSON)
    assert_coded(response, 400, "BAD_USER_INPUT", LONE)


async def test_lone_surrogate_in_get_variables_is_bad_user_input(http: httpx.AsyncClient, admin: str) -> None:
    response = await http.get("/graphql", params={"query": SESSIONS, "variables": '{"id": "c", "after": "\\ud800"}'},
                              headers={"Authorization": f"Bearer {admin}"})
    assert_coded(response, 400, "BAD_USER_INPUT", LONE)


async def test_surrogate_pair_is_one_character_and_served(http: httpx.AsyncClient, admin: str) -> None:
    body = b'{"query": "query C($id: ID!) { channel(id: $id) { id } }", "variables": {"id": "\\ud83d\\ude00"}}'
    response = await http.post("/graphql", content=body, headers={**JSON, "Authorization": f"Bearer {admin}"})
    assert response.json() == {"data": {"channel": None}}


async def test_escaped_backslash_before_u_is_plain_text(http: httpx.AsyncClient, admin: str) -> None:
    body = b'{"query": "query C($id: ID!) { channel(id: $id) { id } }", "variables": {"id": "\\\\ud800"}}'
    response = await http.post("/graphql", content=body, headers={**JSON, "Authorization": f"Bearer {admin}"})
    assert response.json() == {"data": {"channel": None}}


@pytest.fixture
async def trusted_only(app_with: AppFactory, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    manifest = codegen_manifest(tmp_path / "manifest.json", "{ __typename }")
    async with app_with(trusted_documents=manifest, trusted_documents_only=True, env="production") as client:
        yield client


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_lone_surrogate_is_bad_user_input_in_trusted_only_production(
    trusted_only: httpx.AsyncClient, body: bytes
) -> None:
    response = await trusted_only.post("/graphql", content=body, headers=JSON)
    assert_coded(response, 400, "BAD_USER_INPUT", LONE)
