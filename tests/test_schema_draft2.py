"""Each draft-2 feature lands exactly as drafted: every type, field, argument and enum value of
contract/schema-draft2.graphql that the service's schema has is the same there (kind, type,
nullability, arguments, defaults). What the service has not built yet is simply absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
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
DRAFT2 = ROOT / "contract" / "schema-draft2.graphql"  # vendored
SHARED_DRAFT2 = ROOT.parent / "shared" / "contract" / "schema-draft2.graphql"


def _default(node: Any) -> str:
    """A default as written in the SDL (both schemas are parsed from SDL, so both have the AST)."""
    value = getattr(getattr(node, "ast_node", None), "default_value", None)
    return print_ast(value) if value is not None else "(none)"


def _describe(named: GraphQLNamedType) -> dict[str, str]:
    """What must match, as text: each field's type and arguments, each enum value."""
    shape: dict[str, str] = {"kind": type(named).__name__}
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        for name, field in named.fields.items():
            arguments = ", ".join(f"{a}: {arg.type} = {_default(arg)}" for a, arg in field.args.items())
            shape[name] = f"({arguments}): {field.type}"
    elif isinstance(named, GraphQLInputObjectType):
        for name, input_field in named.fields.items():
            shape[name] = f"{input_field.type} = {_default(input_field)}"
    elif isinstance(named, GraphQLEnumType):
        shape["values"] = ", ".join(sorted(named.values))
    return shape


def _user_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {name: named for name, named in schema.type_map.items() if not name.startswith("__")}


def test_every_draft2_type_and_field_the_service_has_is_as_drafted() -> None:
    draft = _user_types(parse_sdl(DRAFT2.read_text()))
    service = _user_types(parse_sdl(export_sdl()))
    differences = []
    for name, drafted in draft.items():
        if name not in service:
            continue  # not built yet
        expected, actual = _describe(drafted), _describe(service[name])
        for member, shape in expected.items():
            if member in actual and actual[member] != shape:
                differences.append(f"{name}.{member}: drafted {shape}, service has {actual[member]}")
    assert differences == []


def test_the_live_stream_part_of_draft2_has_landed() -> None:
    service = _user_types(parse_sdl(export_sdl()))
    channel = service["Channel"]
    mutation = service["Mutation"]
    assert isinstance(channel, GraphQLObjectType) and isinstance(mutation, GraphQLObjectType)
    assert {"stream", "sessions"} <= set(channel.fields)
    assert {"LiveStream", "StreamHealth", "StreamSession", "SessionEndReason", "StreamSessionConnection",
            "StreamSessionEdge"} <= set(service)


def test_vendored_draft2_is_the_shared_draft2() -> None:
    if not SHARED_DRAFT2.exists():
        pytest.skip(f"{SHARED_DRAFT2} is not beside this clone")
    assert DRAFT2.read_text() == SHARED_DRAFT2.read_text()
