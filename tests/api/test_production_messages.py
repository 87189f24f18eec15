"""Production hides the schema in every message (issue 23): for a corpus of invalid documents and
variables, no error names a type, argument or input field of the schema that the request did not
write itself. Development keeps graphql-core's full messages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLObjectType, build_schema as parse_sdl

from schema.schema import export_sdl
from tests.support import GraphQLClient

CORPUS: list[tuple[str, dict[str, Any] | None]] = [
    ('mutation { assignChannel(channelId: "x") { channelId } }', None),
    ('mutation { setChannelState(channelId: "x", state: BOGUS) { id } }', None),
    ('mutation { createChannel(input: {name: "x", bogus: 1}) { id } }', None),
    ("mutation { createChannel(input: {}) { id } }", None),
    ('mutation { createChannel(input: "x") { id } }', None),
    ('mutation { createChannel(input: {name: "x", type: "BASIC"}) { id } }', None),
    ('query { channels(state: "LIVE") { edges { cursor } } }', None),
    ("query { channels }", None),
    ("query { capacity { limit { x } } }", None),
    ("query($s: String) { channels(state: $s) { edges { cursor } } }", None),
    ('query { channel(id: "x") { ... on Assignment { channelId } } }', None),
    ("query { channel { id } }", None),
    ("query { nope }", None),
    ('query { channel(id: "x") { nope } }', None),
    ('query { channel(id: "x", bogus: 1) { id } }', None),
    ('mutation { stopBroadcast(channelId: "x", keepStreamKey: "yes") { id } }', None),
    ("mutation($i: CreateChannelInput!) { createChannel(input: $i) { id } }", {"i": {"name": "x", "bogus": 1}}),
    ("mutation($i: CreateChannelInput!) { createChannel(input: $i) { id } }", {"i": {}}),
    ("mutation($i: CreateChannelInput!) { createChannel(input: $i) { id } }", {"i": {"name": "x", "type": "NOPE"}}),
    ("query($s: ChannelState) { channels(state: $s) { edges { cursor } } }", {"s": "BOGUS"}),
    ("mutation($r: RequestChannelInput!) { requestChannel(input: $r) { id } }", {"r": {"reason": "x"}}),
]
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def schema_names() -> set[str]:
    """Every type of the schema, and every argument and input field name."""
    schema = parse_sdl(export_sdl())
    names = {name for name in schema.type_map if not name.startswith("__") and name not in BUILT_IN}
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType):
            names |= {argument for field in named.fields.values() for argument in field.args}
        if isinstance(named, GraphQLInputObjectType):
            names |= set(named.fields)
    return names


def leaked(messages: list[str], request: str, names: set[str]) -> list[str]:
    """The schema's names a message quotes ('Name', 'Type.field(arg:)') that the request never wrote."""
    written = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", request))
    quoted = [name for message in messages for run in re.findall(r"'([^']*)'", message)
              for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", run)]
    return sorted({name for name in quoted if name in names and name not in written})


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
async def test_production_names_only_what_the_request_wrote(gql: GraphQLClient, admin: str) -> None:
    names = schema_names()
    found = {}
    for document, variables in CORPUS:
        result = await gql(document, variables, token=admin)
        messages = [error["message"] for error in result.get("errors", [])]
        assert messages, document
        request = document + json.dumps(variables or {})
        if leaked(messages, request, names):
            found[document] = (leaked(messages, request, names), messages)
    assert found == {}


@pytest.mark.parametrize("settings", [{"env": "production"}], indirect=True)
async def test_production_still_says_what_is_wrong(gql: GraphQLClient, admin: str) -> None:
    missing = await gql('mutation { assignChannel(channelId: "x") { channelId } }', token=admin)
    enum = await gql('mutation { setChannelState(channelId: "x", state: BOGUS) { id } }', token=admin)
    assert missing["errors"][0]["message"] == "A required argument of field 'assignChannel' was not provided."
    assert enum["errors"][0]["message"] == "Value 'BOGUS' is not one of the allowed values."


async def test_development_keeps_graphql_cores_messages(gql: GraphQLClient, admin: str) -> None:
    missing = await gql('mutation { assignChannel(channelId: "x") { channelId } }', token=admin)
    assert missing["errors"][0]["message"] == (
        "Argument 'Mutation.assignChannel(hostUserId:)' of type 'ID!' is required, but it was not provided.")
