"""Each draft-2 feature lands exactly as drafted (CONTRACT.md, "Each draft-2 feature lands with its part
of schema-draft2.graphql exactly"): every type, field, argument, input field and enum value of
`contract/schema-draft2.graphql` that the service's schema has is there with the drafted name, type,
nullability and default. Generic: it compares whatever is present, so each part lands on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    print_ast,
)
from graphql import build_schema as parse_sdl

from schema.schema import export_sdl

ROOT = Path(__file__).resolve().parents[1]
DRAFT2 = ROOT / "contract" / "schema-draft2.graphql"  # draft 2's SDL, vendored
SHARED_DRAFT2 = ROOT.parent / "shared" / "contract" / "schema-draft2.graphql"

# The channel requests' part of draft 2 (CONTRACT.md section 8): the service has all of it.
CHANNEL_REQUESTS_PART = {
    "Query": {"channelRequests", "myChannelRequests"},
    "Mutation": {"requestChannel", "approveChannelRequest", "rejectChannelRequest", "cancelChannelRequest"},
    "Capacity": {"pendingRequests"},
    "ChannelRequest": None,  # every field
    "ChannelRequestStatus": None,
    "RequestChannelInput": None,
    "ChannelRequestConnection": None,
    "ChannelRequestEdge": None,
}
# The live streams' part (CONTRACT.md section 7).
LIVE_STREAMS_PART = {
    "Channel": {"stream", "sessions"},
    "Mutation": {"rotateStreamKey", "stopBroadcast"},
    "LiveStream": None,
    "StreamHealth": None,
    "StreamSession": None,
    "SessionEndReason": None,
    "StreamSessionConnection": None,
    "StreamSessionEdge": None,
}
LANDED_PARTS = {"channel requests": CHANNEL_REQUESTS_PART, "live streams": LIVE_STREAMS_PART}


def _default(argument: GraphQLArgument | GraphQLInputField) -> str:
    # Both schemas are built from SDL, so each default is read as written (`= 20`, `= null`, `= STANDARD`).
    node = argument.ast_node.default_value if argument.ast_node is not None else None
    return f" = {print_ast(node)}" if node is not None else ""


def _input_value(name: str, argument: GraphQLArgument | GraphQLInputField) -> str:
    return f"{name}: {argument.type}{_default(argument)}"


def signatures(named: GraphQLNamedType) -> dict[str, str]:
    """Each member of a type as drafted SDL would spell it: `field(arg: T = default): T`, `value`."""
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        return {
            name: f"{name}({', '.join(_input_value(a, arg) for a, arg in field.args.items())}): {field.type}"
            for name, field in named.fields.items()
        }
    if isinstance(named, GraphQLInputObjectType):
        return {name: _input_value(name, field) for name, field in named.fields.items()}
    if isinstance(named, GraphQLEnumType):
        return {name: name for name in named.values}
    return {}


def own_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {name: named for name, named in schema.type_map.items() if not name.startswith("__")}


@pytest.fixture(scope="module")
def draft() -> GraphQLSchema:
    return parse_sdl(DRAFT2.read_text())


@pytest.fixture(scope="module")
def service() -> GraphQLSchema:
    return parse_sdl(export_sdl())


def test_every_draft2_type_the_service_has_is_of_the_drafted_kind(draft: GraphQLSchema, service: GraphQLSchema) -> None:
    drafted = own_types(draft)
    mismatched = [
        f"{name}: {type(named).__name__}, drafted {type(drafted[name]).__name__}"
        for name, named in own_types(service).items()
        if name in drafted and type(named) is not type(drafted[name])
    ]
    assert mismatched == []


def test_every_draft2_member_the_service_has_is_exactly_as_drafted(draft: GraphQLSchema, service: GraphQLSchema) -> None:
    drafted = own_types(draft)
    differences = []
    for name, named in own_types(service).items():
        if name not in drafted:
            continue
        expected = signatures(drafted[name])
        for member, signature in signatures(named).items():
            if member in expected and signature != expected[member]:
                differences.append(f"{name}.{signature}, drafted {name}.{expected[member]}")
    assert differences == []


def test_inputs_and_enums_the_service_has_are_whole(draft: GraphQLSchema, service: GraphQLSchema) -> None:
    # A partial input or enum would accept or answer something draft 2 does not.
    drafted = own_types(draft)
    partial = [
        f"{name}: {sorted(signatures(named).keys() ^ signatures(drafted[name]).keys())}"
        for name, named in own_types(service).items()
        if name in drafted and isinstance(named, (GraphQLInputObjectType, GraphQLEnumType))
        and signatures(named).keys() != signatures(drafted[name]).keys()
    ]
    assert partial == []


@pytest.mark.parametrize("part", LANDED_PARTS.values(), ids=LANDED_PARTS.keys())
def test_each_landed_part_is_whole(draft: GraphQLSchema, service: GraphQLSchema, part: dict[str, set[str] | None]) -> None:
    types = own_types(service)
    missing = []
    for name, members in part.items():
        if name not in types:
            missing.append(name)
            continue
        wanted = set(signatures(own_types(draft)[name])) if members is None else members
        missing += [f"{name}.{member}" for member in sorted(wanted - set(signatures(types[name])))]
    assert missing == []


def test_vendored_draft2_is_the_shared_draft2() -> None:
    if not SHARED_DRAFT2.exists():
        pytest.skip(f"{SHARED_DRAFT2} is not beside this clone")
    assert DRAFT2.read_text() == SHARED_DRAFT2.read_text()
