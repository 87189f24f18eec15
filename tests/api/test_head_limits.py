"""A request's URL and headers have caps, refused as coded JSON before any layer reads them
(docs/hostile-input.md; CONTRACT.md section 9)."""

from __future__ import annotations

import httpx

from app.header_limits import MAX_CONTENT_TYPE_BYTES, MAX_HEAD_BYTES, MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_URL_BYTES
from tests.api.test_transport_errors import assert_coded

QUERY = b'{"query": "{ capacity { limit } }"}'


async def test_megabyte_content_type_is_431(http: httpx.AsyncClient, admin: str) -> None:
    content_type = "application/json" + ";" * 1_000_000
    response = await http.post("/graphql", content=QUERY,
                               headers={"content-type": content_type, "Authorization": f"Bearer {admin}"})
    assert_coded(response, 431, "BAD_USER_INPUT", "A request header is longer than 8192 bytes.")


async def test_content_type_over_its_cap_is_431(http: httpx.AsyncClient, admin: str) -> None:
    content_type = "application/json" + ";" * MAX_CONTENT_TYPE_BYTES
    response = await http.post("/graphql", content=QUERY,
                               headers={"content-type": content_type, "Authorization": f"Bearer {admin}"})
    assert_coded(response, 431, "BAD_USER_INPUT", "The Content-Type header is longer than 256 bytes.")


async def test_content_type_at_its_cap_is_served(http: httpx.AsyncClient, admin: str) -> None:
    content_type = "application/json; charset=utf-8"
    content_type += " " * (MAX_CONTENT_TYPE_BYTES - len(content_type))
    response = await http.post("/graphql", content=QUERY,
                               headers={"content-type": content_type, "Authorization": f"Bearer {admin}"})
    assert response.json() == {"data": {"capacity": {"limit": 20}}}


async def test_long_header_is_431(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"x-padding": "a" * MAX_HEADER_BYTES})
    assert_coded(response, 431, "BAD_USER_INPUT", "A request header is longer than 8192 bytes.")


async def test_too_many_headers_is_431(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={f"x-h{i}": "1" for i in range(MAX_HEADER_COUNT + 1)})
    assert_coded(response, 431, "BAD_USER_INPUT", "The request has more than 100 headers.")


async def test_headers_over_their_total_are_431(http: httpx.AsyncClient) -> None:
    count = MAX_HEAD_BYTES // (MAX_HEADER_BYTES - 100) + 1
    response = await http.get("/healthz", headers={f"x-h{i}": "a" * (MAX_HEADER_BYTES - 100) for i in range(count)})
    assert_coded(response, 431, "BAD_USER_INPUT", "The request's headers total more than 32768 bytes.")


async def test_long_url_is_414(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "{ capacity { limit } }" + " " * MAX_URL_BYTES})
    assert_coded(response, 414, "BAD_USER_INPUT", "The request's URL is longer than 8192 bytes.")


async def test_refusal_of_head_is_logged_with_its_status(http: httpx.AsyncClient, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("INFO", logger="shelcaster.channels.requests"):
        await http.get("/healthz", headers={"x-padding": "a" * MAX_HEADER_BYTES})
    line = [record.getMessage() for record in caplog.records if record.name == "shelcaster.channels.requests"][-1]
    assert '"status":431' in line and '"outcome":"BAD_USER_INPUT"' in line
