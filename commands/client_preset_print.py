"""The document text GraphQL Code Generator's client preset (6.x) hashes for its persisted-documents
manifest, reproduced so that `export-documents` and the frontends' builds give a document one id.

The preset's `persistedDocuments` option hashes, for each operation, the print of
`normalizeAndPrintDocumentNode` (packages/presets/client/src/persisted-documents.ts):

1. the build's document transforms first; `addTypenameSelectionDocumentTransform` (the one frontends
   using Apollo's or urql's cache add) puts `__typename` first in every selection set that does not
   select it, except a subscription's root;
2. typed-document-node's document: the operation, printed with its backslashes doubled and parsed
   again, and the fragments it uses;
3. fields, fragment spreads and inline fragments marked `@client` are dropped, and `@connection`
   directives;
4. `printExecutableGraphQLDocument` of @graphql-tools/documents: definitions, variable definitions,
   selections, directives and directive arguments sorted by name (a mutation's root selections keep
   their order: they run in it), printed by graphql-js, every run of white space made one space;
5. `"sha256:" + hex(sha256(print))`, the GraphQL-over-HTTP persisted-documents appendix's id.

Field arguments and an operation's own directives are not sorted: the preset leaves them as written.
tests/frontend/fixtures/client-preset/ holds the real tool's manifests of operations/ to compare with.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from graphql import (
    ArgumentNode,
    DefinitionNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    parse,
    print_ast,
)

from app.persisted_documents import sha256_hex

# JavaScript's `\s` (the preset's `str.replace(/\s+/g, ' ').trim()`); Python's is wider (\x1c-\x1f, \x85).
_JS_WHITE_SPACE_CHARS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
                        "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_WHITE_SPACE = re.compile(f"[{_JS_WHITE_SPACE_CHARS}]+")
# graphql-js's kind names, which order a document's definitions (fragments before operations).
_JS_KIND = {OperationDefinitionNode: "OperationDefinition", FragmentDefinitionNode: "FragmentDefinition"}

N = TypeVar("N", bound=Node)


def client_preset_print(document: str, *, add_typename: bool = False) -> str:
    """The text the client preset stores for `document`, one operation and the fragments it uses (its
    manifest's value), with `__typename` added as `addTypenameSelectionDocumentTransform` adds it when
    `add_typename`. ValueError unless `document` holds exactly one operation."""
    node = parse(document, no_location=True)
    if add_typename:
        node = _with_typename(node)
    node = _without_client_only(_as_typed_document_node_builds(node))
    return _collapse_white_space(print_ast(_DocumentSorter().sort(node)))


def client_preset_id(printed: str) -> str:
    """The client preset's id of a document it printed: `sha256:` and the hex digest of its UTF-8."""
    return f"sha256:{sha256_hex(printed)}"


def _collapse_white_space(text: str) -> str:
    return _JS_WHITE_SPACE.sub(" ", text).strip(_JS_WHITE_SPACE_CHARS)


# 1. __typename in every selection set (addTypenameSelectionDocumentTransform)


def _with_typename(document: DocumentNode) -> DocumentNode:
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            root_is_exempt = (isinstance(definition, OperationDefinitionNode)
                              and definition.operation == OperationType.SUBSCRIPTION)
            definition = _replace(definition, selection_set=_typename_set(definition.selection_set,
                                                                           add_here=not root_is_exempt))
        definitions.append(definition)
    return _replace(document, definitions=tuple(definitions))


def _typename_set(selection_set: SelectionSetNode, *, add_here: bool = True) -> SelectionSetNode:
    selections: list[SelectionNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
            selection = _replace(selection, selection_set=_typename_set(selection.selection_set))
        selections.append(selection)
    selects_typename = any(isinstance(s, FieldNode) and s.name.value == "__typename" for s in selections)
    if add_here and not selects_typename:
        selections.insert(0, FieldNode(name=NameNode(value="__typename"), arguments=(), directives=()))
    return _replace(selection_set, selections=tuple(selections))


# 2. The document typed-document-node hands the preset


def _as_typed_document_node_builds(document: DocumentNode) -> DocumentNode:
    """The operation printed, its backslashes doubled (for a JavaScript template literal) and parsed
    again, then the fragments it uses: ClientSideBaseVisitor._gql. The doubling changes what an escape
    in a string literal means (`"a\\tb"` becomes `"a\\\\tb"`); the manifest holds that, so this does too."""
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ValueError(f"expected one operation in the document, found {len(operations)}")
    operation = parse(print_ast(operations[0]).replace("\\", "\\\\"), no_location=True).definitions[0]
    fragments = {node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)}
    used: dict[str, FragmentDefinitionNode] = {}
    pending = [operations[0].selection_set]
    while pending:
        for name in _spread_names(pending.pop()):
            if name in fragments and name not in used:
                used[name] = fragments[name]
                pending.append(fragments[name].selection_set)
    return _replace(document, definitions=(operation, *used.values()))


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    names = []
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            names.append(selection.name.value)
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
            names.extend(_spread_names(selection.selection_set))
    return names


# 3. Client-only parts dropped


def _without_client_only(document: DocumentNode) -> DocumentNode:
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            definition = _replace(definition, directives=_server_directives(definition.directives),
                                  selection_set=_server_selections(definition.selection_set))
        definitions.append(definition)
    return _replace(document, definitions=tuple(definitions))


def _server_directives(directives: Sequence[DirectiveNode] | None) -> tuple[DirectiveNode, ...]:
    return tuple(directive for directive in directives or () if directive.name.value != "connection")


def _server_selections(selection_set: SelectionSetNode) -> SelectionSetNode:
    selections: list[SelectionNode] = []
    for selection in selection_set.selections:
        if any(directive.name.value == "client" for directive in selection.directives or ()):
            continue
        selection = _replace(selection, directives=_server_directives(selection.directives))
        if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
            selection = _replace(selection, selection_set=_server_selections(selection.selection_set))
        selections.append(selection)
    return _replace(selection_set, selections=tuple(selections))


# 4. Sorted as @graphql-tools/documents' sortExecutableDocument sorts


class _DocumentSorter:
    """sortExecutableDocument, step for step. Its visitor sorts a node's lists on entering it, then
    visits the sorted children; a mutation's root selections keep their order, and so do those of an
    inline fragment among them. (It also leaves unsorted a fragment spread at a mutation's root, but
    only once it has seen that spread, and fragment definitions sort before operations: never.)"""

    def sort(self, document: DocumentNode) -> DocumentNode:
        definitions = _sorted_by(document.definitions, lambda node: _JS_KIND.get(type(node)), _name_of)
        return _replace(document, definitions=tuple(self._definition(node) for node in definitions))

    def _definition(self, node: DefinitionNode) -> DefinitionNode:
        if isinstance(node, OperationDefinitionNode):
            return _replace(
                node,
                variable_definitions=_variables(_sorted_variables(node.variable_definitions)),
                directives=_directives(node.directives),
                selection_set=self._selection_set(node.selection_set,
                                                  in_order=node.operation == OperationType.MUTATION),
            )
        if not isinstance(node, FragmentDefinitionNode):
            return node  # not executable: graphql-js's print shows it as parsed
        return _replace(node, variable_definitions=_variables(_sorted_variables(node.variable_definitions)),
                        directives=_directives(_sorted_directives(node.directives)),
                        selection_set=self._selection_set(node.selection_set))

    def _selection_set(self, node: SelectionSetNode, *, in_order: bool = False) -> SelectionSetNode:
        selections = node.selections if in_order else _sorted_selections(node.selections)
        return _replace(node, selections=tuple(self._selection(selection, in_order) for selection in selections))

    def _selection(self, node: SelectionNode, in_ordered_set: bool) -> SelectionNode:
        if isinstance(node, FieldNode):
            selection_set = None if node.selection_set is None else self._selection_set(node.selection_set)
            return _replace(node, directives=_directives(node.directives), selection_set=selection_set)
        if isinstance(node, FragmentSpreadNode):
            return _replace(node, directives=_directives(_sorted_directives(node.directives)))
        assert isinstance(node, InlineFragmentNode)
        directives = node.directives if in_ordered_set else _sorted_directives(node.directives)
        return _replace(node, directives=_directives(directives),
                        selection_set=self._selection_set(node.selection_set, in_order=in_ordered_set))


def _variables(variables: Sequence[VariableDefinitionNode] | None) -> tuple[VariableDefinitionNode, ...]:
    return tuple(_replace(node, directives=_directives(node.directives)) for node in variables or ())


def _directives(directives: Sequence[DirectiveNode] | None) -> tuple[DirectiveNode, ...]:
    """Every directive's arguments sorted (the visitor's Directive hook, wherever a directive is)."""
    return tuple(_replace(node, arguments=_sorted_arguments(node.arguments)) for node in directives or ())


def _sorted_directives(directives: Sequence[DirectiveNode] | None) -> tuple[DirectiveNode, ...]:
    return _sorted_by(directives or (), _name_of)


def _sorted_arguments(arguments: Sequence[ArgumentNode] | None) -> tuple[ArgumentNode, ...]:
    return _sorted_by(arguments or (), _name_of)


def _sorted_variables(variables: Sequence[VariableDefinitionNode] | None) -> tuple[VariableDefinitionNode, ...]:
    return _sorted_by(variables or (), lambda node: node.variable.name.value)


def _sorted_selections(selections: Sequence[SelectionNode]) -> tuple[SelectionNode, ...]:
    return _sorted_by(selections, _selection_key)


def _selection_key(node: SelectionNode) -> str:
    # Fields, then fragment spreads, then inline fragments (by type condition and printed selections).
    if isinstance(node, FieldNode):
        return "0" + node.name.value
    if isinstance(node, FragmentSpreadNode):
        return "1" + node.name.value
    assert isinstance(node, InlineFragmentNode)
    condition = node.type_condition.name.value if node.type_condition else ""
    printed = " ".join(print_ast(selection) for selection in _sorted_selections(node.selection_set.selections))
    return "2" + condition + _collapse_white_space(printed)


def _name_of(node: Node) -> str | None:
    name = getattr(node, "name", None)
    return name.value if isinstance(name, NameNode) else None


def _sorted_by(nodes: Sequence[N], *keys: Callable[[N], str | None]) -> tuple[N, ...]:
    """A stable sort by `keys` in turn, a missing key (None) after every present one, as the preset's
    `compareKeys` orders them."""
    return tuple(sorted(nodes, key=lambda node: tuple((key(node) is None, key(node) or "") for key in keys)))


def _replace(node: N, **changes: object) -> N:
    """A copy of an AST node with `changes` (graphql-core's nodes are frozen dataclasses)."""
    return dataclasses.replace(node, **changes)  # type: ignore[arg-type]
