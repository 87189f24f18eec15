"""graphql-core's executor with a fast path for plain leaf fields (issue #12, item 3).

A full page is ~580 fields, most of them leaves read straight off a Strawberry object (`name`,
`state`, `createdAt`...). For each, graphql-core builds a path, a resolve info and a list of nodes,
calls Strawberry's basic-field wrapper (two more calls), checks for an awaitable and completes the
value: ~6 µs of bookkeeping to read one attribute. Here such a field is answered by reading the
attribute and coercing it with its own GraphQL type (what graphql-core's `complete_leaf_value` does).

Only fields where that is exactly what would happen take the fast path: a Strawberry field with no
resolver, no field extension (permissions are one) and no argument, read with `getattr` (Strawberry's
default resolver), whose type is a scalar or an enum (nullable or not, not a list), in an executor
without middleware (a schema extension with a `resolve` hook is one). Anything out of the ordinary
on the way (an exception, null for a non-null field, a value its type cannot coerce) goes through
graphql-core's own path instead, which then raises the same error, at the same path, as always.

`execute_fields` is graphql-core's own loop (3.3's `ExecutionContext.execute_fields`) with that one
shortcut in it, so that the answer keeps the document's key order and awaitables settle as there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_UNANSWERED = object()  # the fast path declined: graphql-core's own path answers (or raises)


@dataclass(frozen=True)
class PlainLeaf:
    """How to answer one plain leaf field: the Python attribute and how its GraphQL type coerces it."""

    python_name: str
    leaf_type: GraphQLLeafType
    non_null: bool
    # The values the type passes through unchanged (str for String and ID, bool for Boolean), or an
    # enum's names by member: the common cases, answered without calling the type's coercion.
    passes_through: type | None = None
    enum_class: type | None = None
    enum_names: Mapping[object, str] = dataclasses.field(default_factory=dict)

    def answer(self, source: object) -> object:
        try:
            value = getattr(source, self.python_name)
            if type(value) is self.passes_through:
                return value
            if self.enum_class is not None and type(value) is self.enum_class:
                return self.enum_names[value]
            if value is None:
                return _UNANSWERED if self.non_null else None
            if isinstance(value, Exception):
                return _UNANSWERED
            coerced = self.leaf_type.coerce_output_value(value)
        except Exception:  # noqa: BLE001 (graphql-core's path raises it again, located)
            return _UNANSWERED
        return _UNANSWERED if coerced is None or coerced is Undefined else coerced


def _passes_through(leaf_type: GraphQLLeafType) -> type | None:
    """The Python type whose values `leaf_type` answers unchanged (graphql-core's serialize_string,
    serialize_id and serialize_boolean return such a value as it is)."""
    if leaf_type is GraphQLString or leaf_type is GraphQLID:
        return str
    if leaf_type is GraphQLBoolean:
        return bool
    return None


def plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    """The fast path for `field`, or None when Strawberry or graphql-core must resolve it."""
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or field.args:
        return None
    if definition.base_resolver is not None or definition.extensions or definition.default_resolver is not getattr:
        return None
    # Strawberry gives a basic field its `_get_basic_result`, marked `_is_default`; anything else (an
    # exception handler's wrapper) is left to it.
    if not getattr(field.resolve, "_is_default", False):
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not is_leaf_type(named):
        return None
    if isinstance(named, CustomGraphQLEnumType):
        members: list[object] = list(named.wrapped_cls)
        # Each member's name as the enum's own coercion gives it, worked out once.
        names: dict[object, str] = {member: named.coerce_output_value(member) for member in members}
        return PlainLeaf(definition.python_name, named, non_null, enum_class=named.wrapped_cls, enum_names=names)
    return PlainLeaf(definition.python_name, named, non_null, passes_through=_passes_through(named))


_plans: WeakKeyDictionary[GraphQLObjectType, Mapping[str, PlainLeaf]] = WeakKeyDictionary()


def plain_leaves_of(object_type: GraphQLObjectType) -> Mapping[str, PlainLeaf]:
    """The object type's plain leaf fields by GraphQL name, worked out once per type."""
    found = _plans.get(object_type)
    if found is None:
        found = {name: plan for name, field in object_type.fields.items() if (plan := plain_leaf(field)) is not None}
        _plans[object_type] = found
    return found


# One field of a selection set as this executor runs it: its response name, its field group and how
# to answer it without graphql-core (None: graphql-core's execute_field answers).
_Entry = tuple[str, FieldDetailsList, Callable[[object], object] | None]


class PlainLeavesExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, answering plain leaf fields without the per-field machinery."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per execution, like graphql-core's collect_subfields memo: the entries of each grouped field
        # set by its parent type and identity (siblings in a list share one), the set kept alive beside.
        self._entries: dict[tuple[GraphQLObjectType, int], tuple[GroupedFieldSet, list[_Entry]]] = {}

    def _entries_of(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> list[_Entry]:
        key = (parent_type, id(grouped_field_set))
        cached = self._entries.get(key)
        if cached is not None:
            return cached[1]
        # Strawberry always passes a manager; it wraps resolvers only when a schema extension has a
        # `resolve` hook (then every field goes the usual way).
        middleware = self.middleware_manager
        plans = plain_leaves_of(parent_type) if middleware is None or not middleware.middlewares else {}
        entries: list[_Entry] = []
        for response_name, field_details_list in grouped_field_set.items():
            plan = plans.get(field_details_list[0].node.name.value)
            entries.append((response_name, field_details_list, plan.answer if plan is not None else None))
        self._entries[key] = (grouped_field_set, entries)
        return entries

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        execute_field = self.execute_field
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, answer in self._entries_of(parent_type, grouped_field_set):
                if answer is not None:
                    value = answer(source_value)
                    if value is not _UNANSWERED:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = execute_field(parent_type, source_value, field_details_list, field_path, position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # Awaitables other fields started may fail too: let them settle (as graphql-core does).
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _awaited(results, awaitable_fields)


async def _awaited(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """`results` with its awaitables' values in place, awaited together (graphql-core's get_results)."""
    if len(awaitable_fields) == 1:
        name = awaitable_fields[0]
        results[name] = await results[name]
    else:
        values = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, values, strict=True))
    return results
