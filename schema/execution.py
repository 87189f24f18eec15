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
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import GraphQLField, GraphQLLeafType, GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_UNANSWERED = object()  # the fast path declined: graphql-core's own path answers (or raises)


@dataclass(frozen=True)
class PlainLeaf:
    """How to answer one plain leaf field: the Python attribute and the GraphQL type that coerces it."""

    python_name: str
    leaf_type: GraphQLLeafType
    non_null: bool

    def answer(self, source: object) -> object:
        try:
            value = getattr(source, self.python_name)
            if value is None:
                return _UNANSWERED if self.non_null else None
            if isinstance(value, Exception):
                return _UNANSWERED
            coerced = self.leaf_type.coerce_output_value(value)
        except Exception:  # noqa: BLE001 (graphql-core's path raises it again, located)
            return _UNANSWERED
        return _UNANSWERED if coerced is None or coerced is Undefined else coerced


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
    return PlainLeaf(definition.python_name, named, non_null)


_plans: WeakKeyDictionary[GraphQLObjectType, Mapping[str, PlainLeaf]] = WeakKeyDictionary()


def plain_leaves_of(object_type: GraphQLObjectType) -> Mapping[str, PlainLeaf]:
    """The object type's plain leaf fields by GraphQL name, worked out once per type."""
    found = _plans.get(object_type)
    if found is None:
        found = {name: plan for name, field in object_type.fields.items() if (plan := plain_leaf(field)) is not None}
        _plans[object_type] = found
    return found


class PlainLeavesExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, answering plain leaf fields without the per-field machinery."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        # Strawberry always passes a manager; it wraps resolvers only when a schema extension has a
        # `resolve` hook (then every field goes the usual way).
        middleware = self.middleware_manager
        plans = plain_leaves_of(parent_type) if middleware is None or not middleware.middlewares else None
        if not plans:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        answered: dict[str, Any] = {}
        others: GroupedFieldSet = {}
        for response_name, field_details_list in grouped_field_set.items():
            plan = plans.get(field_details_list[0].node.name.value)
            if plan is not None:
                value = plan.answer(source_value)
                if value is not _UNANSWERED:
                    answered[response_name] = value
                    continue
            others[response_name] = field_details_list
        if not others:
            return answered
        rest = super().execute_fields(parent_type, source_value, path, others, position_context)
        if not answered:
            return rest
        order = list(grouped_field_set)
        if isinstance(rest, dict):
            return _merged(order, answered, rest)
        return _merged_when_done(order, answered, rest)


def _merged(order: list[str], answered: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Both parts' answers in the document's order (the order of the response's keys)."""
    return {name: answered[name] if name in answered else rest[name] for name in order if name in answered or name in rest}


async def _merged_when_done(order: list[str], answered: dict[str, Any], rest: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return _merged(order, answered, await rest)
