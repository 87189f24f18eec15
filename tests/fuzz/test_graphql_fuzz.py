"""Property-based fuzzing over the exported schema (hypothesis-graphql), valid and invalid documents,
as an admin and as a host: no response is a 5xx, every error carries a contract code, and nothing is
an INTERNAL_SERVER_ERROR.

The default run is modest (FUZZ_EXAMPLES, default 60 per case); run it long with
`make test PYTEST_ARGS="tests/fuzz" FUZZ_EXAMPLES=2000`.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from app.bootstrap import Service
from schema.schema import export_sdl
from tests.support import TokenFactory, app_client

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
CONTRACT_CODES = frozenset(
    {
        "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "CAPACITY_EXCEEDED", "INVALID_STATE_TRANSITION",
        "BAD_USER_INPUT", "UPSTREAM_ERROR", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
    }
)
SDL = export_sdl()
# DateTime arguments (schedules' times): any instant, as ISO-8601 text, on or off the whole minute.
CUSTOM_SCALARS = {"DateTime": st.datetimes().map(lambda moment: nodes.String(moment.isoformat() + "Z"))}


def post(service: Service, document: str, token: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    async def send() -> httpx.Response:
        async with app_client(service, base_url="http://fuzz.test") as client:
            return await client.post(
                "/graphql",
                json={"query": document, "variables": variables or {}},
                headers={"Authorization": f"Bearer {token}"},
            )

    return asyncio.run(send())


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        return
    body = response.json()
    for error in body.get("errors", []):
        code = error.get("extensions", {}).get("code")
        assert code in CONTRACT_CODES, json.dumps(error)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: CI stays stable, a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("role", ["admin", "host"])
@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
@FUZZ
@given(data=st.data())
def test_fuzzed_documents_get_contract_codes_and_no_5xx(
    service: Service, tokens: TokenFactory, role: str, mode: Mode, data: st.DataObject
) -> None:
    token = tokens.admin() if role == "admin" else tokens.host("fuzz-host")
    # Queries and mutations over every field of the exported schema.
    document = data.draw(from_schema(SDL, mode=mode, custom_scalars=CUSTOM_SCALARS))
    check(post(service, str(document), token))


@FUZZ
@given(
    variables=st.dictionaries(
        st.sampled_from(["id", "first", "after", "state", "name"]),
        st.one_of(st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(), st.booleans(),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    )
)
def test_fuzzed_variables_get_contract_codes_and_no_5xx(service: Service, tokens: TokenFactory, variables: dict[str, Any]) -> None:
    document = (
        "query($id: ID!, $first: Int!, $after: String, $state: ChannelState, $name: String!) {"
        " channel(id: $id) { id } channels(first: $first, after: $after, state: $state) { edges { cursor } } }"
    )
    check(post(service, document, tokens.admin(), variables))
