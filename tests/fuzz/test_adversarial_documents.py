"""Adversarial documents (CONTRACT.md section 10): fragment chains and bombs, repeated fields, many
fragments, many directives, long names, deep nesting, many aliases, huge literals, mixed together.
Each answer is a contract code: 200 with coded errors or data, or a coded 4xx; never a 5xx.

Sizes are drawn up to and past every limit, so both sides of each bound are exercised. The same
examples run every time (derandomize); FUZZ_EXAMPLES sets how many.
"""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.bootstrap import Service
from tests.support import TokenFactory, app_client

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
CONTRACT_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"}
)
LEAVES = ["channelId", "hostUserId", "assignedAt", "__typename"]
NAME_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")


@st.composite
def fragment_chain(draw: st.DrawFn) -> str:
    """F_n spreads F_{n-1} `fan_out` times: a chain (1) or a bomb (2, 3)."""
    levels = draw(st.integers(1, 60))
    fan_out = draw(st.integers(1, 3))
    fragments = ["fragment F0 on Query { myChannel { channelId } }"]
    fragments += [f"fragment F{n} on Query {{ {f'...F{n - 1} ' * fan_out}}}" for n in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} " + " ".join(fragments)


@st.composite
def repeated_fields(draw: st.DrawFn) -> str:
    times = draw(st.integers(1, 400))
    leaf = draw(st.sampled_from(LEAVES))
    return "query { " + f"myChannel {{ {leaf} }} " * times + "}"


@st.composite
def many_fragments(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 150))
    leaf = draw(st.sampled_from(LEAVES))
    spreads = " ".join(f"...M{n}" for n in range(count))
    return f"query {{ {spreads} }} " + " ".join(f"fragment M{n} on Query {{ myChannel {{ {leaf} }} }}" for n in range(count))


@st.composite
def many_directives(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 300))
    directive = draw(st.sampled_from(["@include(if: true)", "@skip(if: false)", "@unknown", "@deprecated"]))
    return "query { capacity " + f"{directive} " * count + "{ used } }"


@st.composite
def long_names(draw: st.DrawFn) -> str:
    length = draw(st.integers(1, 30_000))
    name = "n" + draw(st.text(NAME_CHARS, min_size=0, max_size=20)) * (length // 20 + 1)
    place = draw(st.sampled_from(["field", "operation", "argument", "fragment", "variable", "enum"]))
    return {
        "field": f"{{ {name} }}",
        "operation": f"query {name} {{ capacity {{ used }} }}",
        "argument": f'{{ channel({name}: "x") {{ id }} }}',
        "fragment": f"{{ ...{name} }}",
        "variable": f"query (${name}: Int) {{ capacity {{ used }} }}",
        "enum": f"{{ channels(state: {name}) {{ pageInfo {{ hasNextPage }} }} }}",
    }[place]


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    levels = draw(st.integers(1, 700))
    return "{ myChannel { " + "channel { assignments { " * levels + "hostUserId" + " } }" * levels + " } }"


@st.composite
def many_aliases(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 500))
    return "{ " + " ".join(f"a{n}: capacity {{ used }}" for n in range(count)) + " }"


@st.composite
def huge_literal(draw: st.DrawFn) -> str:
    digits = draw(st.integers(1, 20_000))
    return "{ channels(first: " + "7" * digits + ") { pageInfo { hasNextPage } } }"


ATTACKS = st.one_of(
    fragment_chain(), repeated_fields(), many_fragments(), many_directives(), long_names(), deep_nesting(),
    many_aliases(), huge_literal(),
)


BUSY_RETRIES = 4


@st.composite
def mixed(draw: st.DrawFn) -> str:
    """Two attacks in one document: the operations of each, the second named so both parse together."""
    first, second = draw(ATTACKS), draw(ATTACKS)
    return first + " " + second.replace("query {", "query Second {", 1)


def _busy(response: httpx.Response) -> bool:
    """The service's load refused the document unchecked (docs/hostile-input.md): retryable, not an answer."""
    errors = response.json().get("errors", []) if response.status_code == 200 else []
    return len(errors) == 1 and errors[0].get("extensions") == {"code": "UPSTREAM_ERROR", "retryable": True}


def answer(service: Service, token: str, document: str) -> httpx.Response:
    """The service's answer to `document`, retried as a client does while the service says it is busy
    (a loaded test machine can keep a document waiting past its budget): the answer is the document's."""
    async def send() -> httpx.Response:
        async with app_client(service, base_url="http://adversary.test") as client:
            for _ in range(BUSY_RETRIES):
                response = await client.post("/graphql", json={"query": document},
                                             headers={"Authorization": f"Bearer {token}"})
                if not _busy(response):
                    break
                await asyncio.sleep(0.5)
            return response

    return asyncio.run(send())


def assert_contract_answer(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    body = response.json()
    if response.status_code != 200:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        return
    for error in body.get("errors", []):
        assert error["extensions"]["code"] in CONTRACT_CODES, error
        assert len(error["message"]) <= 600, error["message"][:200]


ADVERSARY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("settings", [{"env": "development"}, {"env": "production"}], indirect=True,
                         ids=["development", "production"])
@ADVERSARY
@given(document=st.one_of(ATTACKS, mixed()))
def test_adversarial_documents_get_contract_codes(service: Service, tokens: TokenFactory, document: str) -> None:
    assert_contract_answer(answer(service, tokens.admin(), document))
