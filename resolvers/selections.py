"""What a document selects under a field: lets a resolver load, up front, data its children will ask for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection


def selects(selections: Iterable[Selection], path: Sequence[str]) -> bool:
    """Whether `selections` (Strawberry's `info.selected_fields`) ask for the field at `path`, by GraphQL
    names, through fragments. A selection carrying a directive (`@skip`, `@include`) on the way counts as
    not selected: the field then loads for itself, so that nothing is read that the answer leaves out."""
    if not path:
        return True
    for selection in selections:
        if selection.directives:
            continue
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            if selects(selection.selections, path):
                return True
        elif selection.name == path[0] and selects(selection.selections, path[1:]):
            return True
    return False
