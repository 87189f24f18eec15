"""Depth, alias and field limits measured in one pass over a document, each fragment costed once.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread, so a
document of n fragments that each spread the previous one twice costs 2^n (docs/security.md).
Here a fragment's cost is computed the first time it is spread and reused at every other spread:
the work is linear in the document, while the *counts* keep their meaning (a fragment's aliases and
fields count at every spread, as the executor would resolve them at every spread).

The meanings are strawberry's: depth is the longest chain of fields with sub-selections, introspection
fields (`__schema`, `__type`, `__typename`) and what is under them not counted; aliases are counted
over every operation of the document. Fields are every field selection with fragments expanded: the
number that bounds graphql-core's overlapping-fields rule, which is quadratic in it. Where introspection
is allowed (development) what is under `__schema` and `__type` is not counted: GraphiQL's own
introspection query selects 220 fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

# No Int or Float argument takes an integer literal of more digits (Int is 32-bit), and Python refuses
# to convert one of more than 4,300 digits with a message that names its own internals.
MAX_INTEGER_DIGITS = 100


@dataclass(frozen=True)
class DocumentCost:
    depth: int
    aliases: int
    fields: int


_NOTHING = DocumentCost(0, 0, 0)


class _Costing:
    def __init__(self, document: DocumentNode, count_introspection: bool) -> None:
        self.count_introspection = count_introspection
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self.costs: dict[str, DocumentCost] = {}
        self.in_progress: set[str] = set()

    def of_selection_set(self, selection_set: SelectionSetNode) -> DocumentCost:
        depth = aliases = fields = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost = self.of_field(selection)
            elif isinstance(selection, InlineFragmentNode):
                cost = self.of_selection_set(selection.selection_set)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                cost = self.of_fragment(selection.name.value)
            depth = max(depth, cost.depth)
            aliases += cost.aliases
            fields += cost.fields
        return DocumentCost(depth, aliases, fields)

    def of_field(self, field: FieldNode) -> DocumentCost:
        alias = 1 if field.alias else 0
        if field.selection_set is None:
            return DocumentCost(0, alias, 1)
        inner = self.of_selection_set(field.selection_set)
        if not field.name.value.startswith("__"):
            return DocumentCost(1 + inner.depth, alias + inner.aliases, 1 + inner.fields)
        return DocumentCost(0, alias + inner.aliases, 1 + inner.fields if self.count_introspection else 1)

    def of_fragment(self, name: str) -> DocumentCost:
        cost = self.costs.get(name)
        if cost is not None:
            return cost
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:
            # An unknown fragment or a cycle: graphql-core's own rules name it (KnownFragmentNames,
            # NoFragmentCycles); it adds nothing here.
            return _NOTHING
        self.in_progress.add(name)
        cost = self.costs[name] = self.of_selection_set(fragment.selection_set)
        self.in_progress.discard(name)
        return cost


def check_document_limits(
    document: DocumentNode, *, max_depth: int, max_aliases: int, max_fields: int, count_introspection: bool = True
) -> list[GraphQLError]:
    """The errors of a document over a limit; empty when it is within all of them. Linear in its size."""
    costing = _Costing(document, count_introspection)
    errors: list[GraphQLError] = []
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    aliases = fields = 0
    try:
        for operation in operations:
            cost = costing.of_selection_set(operation.selection_set)
            if cost.depth > max_depth:
                name = operation.name.value if operation.name else "anonymous"
                errors.append(
                    GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", [operation])
                )
            aliases += cost.aliases
            fields += cost.fields
        integer = _oversized_integer(document)
    except RecursionError:
        # Only a document nested deeper than the interpreter's stack gets here: far past any depth limit.
        return [GraphQLError(f"The document exceeds maximum operation depth of {max_depth}")]
    if aliases > max_aliases:
        errors.append(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}"))
    if fields > max_fields:
        errors.append(
            GraphQLError(f"{fields} field selections found (fragments counted at each spread). Allowed: {max_fields}")
        )
    if integer is not None:
        errors.append(
            GraphQLError(f"An integer literal of {len(integer.value)} digits is out of range.", [integer])
        )
    return errors


def _oversized_integer(document: DocumentNode) -> IntValueNode | None:
    """The first integer literal (argument, directive argument or variable default) of too many digits."""
    pending: list[Node] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, IntValueNode):
            if len(node.value.lstrip("-")) > MAX_INTEGER_DIGITS:
                return node
            continue
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                pending.append(child)
            elif isinstance(child, tuple | list):
                pending.extend(item for item in child if isinstance(item, Node))
    return None
