"""Each drafted feature lands exactly as drafted (CONTRACT.md: "Each draft-3 feature lands with its part of
`schema-draft3.graphql` exactly"): every type, field, argument, input field and enum value of the latest
draft (`contract/schema-draft3.graphql`, the whole surface the service is heading for, draft 2 included)
that the service's schema has is there with the drafted name, type, nullability and default. Generic: it
compares whatever is present, so each part lands on its own."""

from __future__ import annotations

import re
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
DRAFT3 = ROOT / "contract" / "schema-draft3.graphql"  # draft 3's SDL, vendored: the latest
SHARED_DRAFT3 = ROOT.parent / "shared" / "contract" / "schema-draft3.graphql"
# The contract's text, vendored so that the code's "CONTRACT.md section N" resolves inside the repository.
CONTRACT = ROOT / "contract" / "CONTRACT.md"
SHARED_CONTRACT = ROOT.parent / "shared" / "contract" / "CONTRACT.md"

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
# Broadcast truth (CONTRACT.md section 11, draft 3).
BROADCAST_TRUTH_PART = {
    "Mutation": {"setChannelState", "stopBroadcast"},
    "Recording": {"recordingSessionId"},
}
# Schedules on shared channels (CONTRACT.md section 12, draft 3).
SCHEDULES_PART = {
    "Query": {"mySlots"},
    "Mutation": {"bookSlot", "moveSlot", "cancelSlot"},
    "Channel": {"slots", "currentSlot"},
    "StreamSession": {"slotId"},
    "Slot": None,
    "BookSlotInput": None,
    "SlotConnection": None,
    "SlotEdge": None,
}
# Live updates (CONTRACT.md section 13, draft 3).
LIVE_UPDATES_PART = {
    "Subscription": None,
    "ChannelEvent": None,
    "ChannelEventKind": None,
    "ChannelRequestEvent": None,
    "ChannelRequestEventKind": None,
}
LANDED_PARTS = {
    "channel requests": CHANNEL_REQUESTS_PART,
    "live streams": LIVE_STREAMS_PART,
    "broadcast truth": BROADCAST_TRUTH_PART,
    "schedules": SCHEDULES_PART,
    "live updates": LIVE_UPDATES_PART,
}


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
    return parse_sdl(DRAFT3.read_text())


@pytest.fixture(scope="module")
def service() -> GraphQLSchema:
    return parse_sdl(export_sdl())


def test_every_drafted_type_the_service_has_is_of_the_drafted_kind(draft: GraphQLSchema, service: GraphQLSchema) -> None:
    drafted = own_types(draft)
    mismatched = [
        f"{name}: {type(named).__name__}, drafted {type(drafted[name]).__name__}"
        for name, named in own_types(service).items()
        if name in drafted and type(named) is not type(drafted[name])
    ]
    assert mismatched == []


def test_every_drafted_member_the_service_has_is_exactly_as_drafted(draft: GraphQLSchema, service: GraphQLSchema) -> None:
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
    # A partial input or enum would accept or answer something the draft does not.
    drafted = own_types(draft)
    partial = [
        f"{name}: {sorted(signatures(named).keys() ^ signatures(drafted[name]).keys())}"
        for name, named in own_types(service).items()
        if name in drafted and isinstance(named, (GraphQLInputObjectType, GraphQLEnumType))
        and signatures(named).keys() != signatures(drafted[name]).keys()
    ]
    assert partial == []


# The draft each part belongs to: a whole type (None) is whole as that draft has it.
PART_DRAFTS = {
    "channel requests": DRAFT2,
    "live streams": DRAFT2,
    "broadcast truth": DRAFT3,
    "schedules": DRAFT3,
    "live updates": DRAFT3,
}


@pytest.mark.parametrize("name", LANDED_PARTS.keys())
def test_each_landed_part_is_whole(service: GraphQLSchema, name: str) -> None:
    part, drafted = LANDED_PARTS[name], own_types(parse_sdl(PART_DRAFTS[name].read_text()))
    types = own_types(service)
    missing = []
    for name, members in part.items():
        if name not in types:
            missing.append(name)
            continue
        wanted = set(signatures(drafted[name])) if members is None else members
        missing += [f"{name}.{member}" for member in sorted(wanted - set(signatures(types[name])))]
    assert missing == []


def test_vendored_draft2_is_the_shared_draft2() -> None:
    if not SHARED_DRAFT2.exists():
        pytest.skip(f"{SHARED_DRAFT2} is not beside this clone")
    assert DRAFT2.read_text() == SHARED_DRAFT2.read_text()


def test_draft3_keeps_every_draft2_type() -> None:
    # Draft 3 is the whole surface: comparing with it alone leaves nothing of draft 2 unchecked.
    assert set(own_types(parse_sdl(DRAFT2.read_text()))) <= set(own_types(parse_sdl(DRAFT3.read_text())))


def test_vendored_draft3_is_the_shared_draft3() -> None:
    if not SHARED_DRAFT3.exists():
        pytest.skip(f"{SHARED_DRAFT3} is not beside this clone")
    assert DRAFT3.read_text() == SHARED_DRAFT3.read_text()


def test_vendored_contract_is_the_shared_contract() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"{SHARED_CONTRACT} is not beside this clone")
    assert CONTRACT.read_text() == SHARED_CONTRACT.read_text()


def test_every_contract_section_the_code_cites_exists() -> None:
    # Comments cite "CONTRACT.md section N" (or "sections N and M"): each N must be a heading of the vendored text.
    headings = {int(n) for n in re.findall(r"^## (\d+)\.", CONTRACT.read_text(), flags=re.MULTILINE)}
    cited: set[int] = set()
    for path in ROOT.glob("[a-z]*/**/*.py"):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        for match in re.finditer(r"CONTRACT\.md,? sections? ([\d, and]+)", path.read_text()):
            cited |= {int(n) for n in re.findall(r"\d+", match.group(1))}
    assert cited and cited <= headings
