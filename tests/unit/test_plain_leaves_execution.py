"""The executor's fast path for plain leaf fields (schema/execution.py) answers exactly as graphql-core's
own path: same values, same key order, same errors at the same paths."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension

from schema.execution import PlainLeavesExecutionContext, plain_leaves_of


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    size: int

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            Item(name="a", note=None, colour=Colour.RED, size=1),
            Item(name=None, note="n", colour=Colour.RED, size=2),  # type: ignore[arg-type] # a broken record
            Item(name="c", note="n", colour="not a colour", size=3),  # type: ignore[arg-type]
        ]


class Upper(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        return result.upper() if isinstance(result, str) else result


DOCUMENT = "{ items { size __typename shout alias: name note colour } }"


def run(schema: strawberry.Schema) -> Any:
    result = schema.execute_sync(DOCUMENT)
    return result.data, [(error.message, error.path) for error in result.errors or []]


def test_plain_leaves_are_only_strawberry_fields_without_resolver_read_by_attribute() -> None:
    schema = strawberry.Schema(Query, execution_context_class=PlainLeavesExecutionContext)
    item = schema._schema.type_map["Item"]
    assert sorted(plain_leaves_of(item)) == ["colour", "name", "note", "size"]  # not `shout`


def test_fast_path_answers_and_fails_exactly_as_graphql_core() -> None:
    fast = run(strawberry.Schema(Query, execution_context_class=PlainLeavesExecutionContext))
    usual = run(strawberry.Schema(Query))
    assert fast == usual
    data, errors = fast
    assert data["items"][0] == {"size": 1, "__typename": "Item", "shout": "A", "alias": "a", "note": None,
                                "colour": "RED"}
    assert list(data["items"][0]) == ["size", "__typename", "shout", "alias", "note", "colour"]
    assert data["items"][1:] == [None, None]
    assert [path for _, path in errors] == [["items", 1, "shout"], ["items", 2, "colour"]]


def test_a_null_in_a_non_null_plain_leaf_is_graphql_cores_error_at_its_path() -> None:
    schema = strawberry.Schema(Query, execution_context_class=PlainLeavesExecutionContext)
    result = schema.execute_sync("{ items { alias: name } }")
    assert result.data == {"items": [{"alias": "a"}, None, {"alias": "c"}]}
    assert [(error.message, error.path) for error in result.errors or []] == [
        ("Cannot return null for non-nullable field Item.name.", ["items", 1, "alias"])]


def test_a_schema_extension_resolving_fields_still_sees_every_field() -> None:
    fast = run(strawberry.Schema(Query, extensions=[Upper], execution_context_class=PlainLeavesExecutionContext))
    assert fast == run(strawberry.Schema(Query, extensions=[Upper]))
    assert fast[0]["items"][0]["alias"] == "A"


@strawberry.type
class Odd:
    """Values the pass-through shortcuts must not take: each goes through its type's own coercion."""

    flag: bool
    label: str
    ident: strawberry.ID
    colour: Colour


@strawberry.type
class OddQuery:
    @strawberry.field
    def odd(self) -> list[Odd | None]:
        return [
            Odd(flag=True, label="x", ident=strawberry.ID("1"), colour=Colour.RED),
            Odd(flag=1, label=7, ident=42, colour="red"),  # type: ignore[arg-type] # coerced, or refused, by type
            Odd(flag="yes", label=True, ident=1.5, colour="RED"),  # type: ignore[arg-type]
        ]


def test_pass_through_and_enum_shortcuts_answer_exactly_as_each_types_coercion() -> None:
    document = "{ odd { flag label ident colour } }"
    fast = strawberry.Schema(OddQuery, execution_context_class=PlainLeavesExecutionContext).execute_sync(document)
    usual = strawberry.Schema(OddQuery).execute_sync(document)
    assert fast.data == usual.data
    assert [(e.message, e.path) for e in fast.errors or []] == [(e.message, e.path) for e in usual.errors or []]
    assert fast.data is not None and fast.data["odd"][0] == {"flag": True, "label": "x", "ident": "1", "colour": "RED"}
    # 1 is a Boolean, 7 a String and 42 an ID by coercion; "red" is Colour.RED's value: RED.
    assert fast.data["odd"][1] == {"flag": True, "label": "7", "ident": "42", "colour": "RED"}
    assert fast.data["odd"][2] is None and [e.path for e in fast.errors or []] == [["odd", 2, "flag"]]
