"""Bounded work for every document (CONTRACT.md section 10): the attacks of issue 9, each answered
with a contract code before any resolver runs."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query

from app.bootstrap import Service
from tests.faults import Spy
from tests.support import GraphQLClient, error_codes


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the previous one twice: 2^levels fields from a document of ~40*levels bytes."""
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} " + " ".join(fragments)


def repeated_fields(count: int) -> str:
    return "query { " + "myChannel { channelId } " * count + "}"


@pytest.mark.parametrize("levels", [20, 30, 150])
async def test_fragment_bomb_is_refused_by_the_field_limit(
    gql: GraphQLClient, admin: str, service: Service, levels: int
) -> None:
    with Spy(service.clients.dynamodb, service.clients.ivs) as spy:
        result = await gql(fragment_bomb(levels), token=admin)
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert f"{2**levels} field selections found (fragments counted at each spread). Allowed: 100" in (
        result["errors"][0]["message"]
    )
    assert spy.operations == []


async def test_fragments_spread_often_count_their_aliases_at_each_spread(gql: GraphQLClient, admin: str) -> None:
    document = (
        "query { ...A ...A ...A ...A } "
        "fragment A on Query { a1: capacity { used } a2: capacity { used } a3: capacity { used } "
        "a4: capacity { used } a5: capacity { used } a6: capacity { used } a7: capacity { used } "
        "a8: capacity { used } }"
    )
    result = await gql(document, token=admin)
    assert result["errors"][0]["message"] == "32 aliases found. Allowed: 30"


async def test_depth_counts_through_fragments(gql: GraphQLClient, admin: str) -> None:
    chain = ["fragment D0 on Assignment { hostUserId }"]
    chain += [f"fragment D{n} on Assignment {{ channel {{ assignments {{ ...D{n - 1} }} }} }}" for n in range(1, 7)]
    result = await gql("query Deep { myChannel { ...D6 } } " + " ".join(chain), token=admin)
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert result["errors"][0]["message"] == "'Deep' exceeds maximum operation depth of 10"


async def test_repeated_fields_past_the_field_limit_are_refused(gql: GraphQLClient, admin: str) -> None:
    result = await gql(repeated_fields(400), token=admin)
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "800 field selections found" in result["errors"][0]["message"]


async def test_repeated_fields_within_the_limit_are_answered(gql: GraphQLClient, admin: str) -> None:
    result = await gql(repeated_fields(50), token=admin)
    assert result == {"data": {"myChannel": None}}


async def test_unknown_fragment_is_a_validation_failure(gql: GraphQLClient, admin: str) -> None:
    result = await gql("{ ...Nope }", token=admin)
    assert result["errors"] == [
        {"message": "Unknown fragment 'Nope'.", "locations": [{"line": 1, "column": 6}],
         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    ]


async def test_fragment_cycle_is_a_validation_failure(gql: GraphQLClient, admin: str) -> None:
    result = await gql("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", token=admin)
    assert set(error_codes(result)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Cannot spread fragment 'A' within itself" in result["errors"][0]["message"]


async def test_several_operations_without_a_name_run_nothing(gql: GraphQLClient, admin: str, service: Service) -> None:
    document = (
        "mutation Make { createChannel(input: {name: \"x\"}) { id } } "
        "query Look { capacity { used } }"
    )
    with Spy(service.clients.dynamodb, service.clients.ivs) as spy:
        result = await gql(document, token=admin)
    assert result["errors"] == [
        {"message": "The document has several operations: name the one to run in operationName.",
         "extensions": {"code": "BAD_USER_INPUT"}}
    ]
    assert "data" not in result or result["data"] is None
    assert spy.operations == []


async def test_several_operations_with_a_name_run_that_one(gql: GraphQLClient, admin: str) -> None:
    document = "query A { capacity { used } } query B { capacity { limit } }"
    response = await gql.http.post("/graphql", json={"query": document, "operationName": "B"},
                                   headers={"Authorization": f"Bearer {admin}"})
    assert response.json() == {"data": {"capacity": {"limit": 20}}}


async def test_oversized_integer_literal_is_a_clean_validation_failure(gql: GraphQLClient, admin: str) -> None:
    result = await gql("{ channels(first: " + "9" * 5000 + ") { pageInfo { hasNextPage } } }", token=admin)
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert result["errors"][0]["message"] == "An integer literal of 5000 digits is out of range."


async def test_document_nested_past_the_interpreter_stack_is_a_parse_failure(gql: GraphQLClient, admin: str) -> None:
    result = await gql("{ " + "a { " * 900 + "b" + " }" * 900 + " }", token=admin)
    assert error_codes(result) == ["GRAPHQL_PARSE_FAILED"]


# Each document misspells a name; the last item is the name graphql-core would suggest.
SUGGESTING = [
    ("{ capacit { used } }", None, "capacity"),
    ("mutation ($i: CreateChanelInput!) { createChannel(input: $i) { id } }", {"i": {"name": "x"}},
     "CreateChannelInput"),
    ('{ channel(idd: "x") { id } }', None, "'id'"),
    ("{ channels(state: LIV) { pageInfo { hasNextPage } } }", None, "LIVE"),
    ("query ($s: ChannelState) { channels(state: $s) { pageInfo { hasNextPage } } }", {"s": "LIV"}, "LIVE"),
    ("mutation ($i: CreateChannelInput!) { createChannel(input: $i) { id } }", {"i": {"name": "x", "nme": "y"}},
     "'name'"),
    ('mutation { createChannel(input: {name: "x", nme: "y"}) { id } }', None, "'name'"),
]


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
@pytest.mark.parametrize(("document", "variables", "suggestion"), SUGGESTING,
                         ids=["field", "type", "argument", "enum-literal", "enum-variable", "input-field-variable",
                              "input-field-literal"])
async def test_production_suggests_no_name(
    gql: GraphQLClient, admin: str, document: str, variables: dict[str, object] | None, suggestion: str
) -> None:
    result = await gql(document, variables, token=admin)
    assert result["errors"]
    for error in result["errors"]:
        assert error["extensions"]["code"] in {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}
        assert "Did you mean" not in error["message"]
        assert suggestion not in error["message"]


@pytest.mark.parametrize(("document", "variables", "suggestion"), SUGGESTING)
async def test_development_still_suggests(
    gql: GraphQLClient, admin: str, document: str, variables: dict[str, object] | None, suggestion: str
) -> None:
    result = await gql(document, variables, token=admin)
    assert any("Did you mean" in error["message"] and suggestion in error["message"] for error in result["errors"])


async def test_long_unknown_name_is_cut_short_in_the_error(gql: GraphQLClient, admin: str) -> None:
    result = await gql("{ " + "x" * 60_000 + " }", token=admin)
    assert result["errors"] == [
        {"message": f"Cannot query field '{'x' * 100}…' on type 'Query'.", "locations": [{"line": 1, "column": 3}],
         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    ]


async def test_long_string_variable_is_cut_short_in_the_error(gql: GraphQLClient, admin: str) -> None:
    result = await gql("query ($n: Int!) { channels(first: $n) { pageInfo { hasNextPage } } }", {"n": "y" * 50_000}, token=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert len(result["errors"][0]["message"]) < 300


async def test_validation_stops_after_twenty_errors(gql: GraphQLClient, admin: str) -> None:
    result = await gql("{ " + " ".join(f"unknown{n}" for n in range(60)) + " }", token=admin)
    assert len(result["errors"]) == 21
    assert result["errors"][-1] == {
        "message": "Too many validation errors, error limit reached. Validation aborted.",
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }


async def test_graphiqls_introspection_query_is_answered_in_development(gql: GraphQLClient, admin: str) -> None:
    result = await gql(get_introspection_query(descriptions=True), token=admin)
    assert "errors" not in result
    assert result["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
async def test_graphiqls_introspection_query_is_refused_in_production(gql: GraphQLClient, admin: str) -> None:
    result = await gql(get_introspection_query(descriptions=True), token=admin)
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_aliased_sessions_count_toward_one_budget_of_backend_calls_per_request(
    gql: GraphQLClient, admin: str, service: Service
) -> None:
    from schema.context import FAN_OUT_CALLS_MAX
    from tests.api.test_errors import create

    for number in range(5):
        await create(gql, admin, name=f"Fan {number}")
    # 24 aliases of sessions on a page of 5 channels: 120 Queries asked for, 100 allowed.
    aliases = " ".join(f"s{n}: sessions(first: 1) {{ edges {{ cursor }} }}" for n in range(24))
    document = f"query {{ channels(first: 5) {{ edges {{ node {{ id {aliases} }} }} }} }}"
    with Spy(service.clients.dynamodb) as spy:
        result = await gql(document, token=admin)
    assert spy.operations.count("Query") <= FAN_OUT_CALLS_MAX + 1  # the sessions' Queries and the page's own
    assert set(error_codes(result)) == {"BAD_USER_INPUT"}
    assert result["errors"][0]["message"] == (
        f"This request asks for sessions of more than {FAN_OUT_CALLS_MAX} channels; "
        "ask for fewer (a smaller 'first', fewer aliases)."
    )


async def test_sessions_of_a_full_page_stay_within_the_budget(gql: GraphQLClient, admin: str) -> None:
    from tests.api.test_errors import create

    for number in range(3):
        await create(gql, admin, name=f"Page {number}")
    document = "query { channels(first: 100) { edges { node { id sessions(first: 5) { edges { cursor } } } } } }"
    result = await gql(document, token=admin)
    assert "errors" not in result and len(result["data"]["channels"]["edges"]) == 3
