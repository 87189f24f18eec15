"""The one place that reads a library's private name: Strawberry keeps graphql-core's schema as
`Schema._schema`, with no public accessor, and the bounded preparer validates against it
(schema.prepared_documents). tests/unit/test_library_hooks.py fails loudly if an upgrade moves it."""

from __future__ import annotations

import strawberry.schema.base
from graphql import GraphQLSchema


class LibraryChanged(RuntimeError):
    """A library no longer has what this module reads: pin the old version or follow the new name."""


def graphql_schema_of(schema: strawberry.schema.base.BaseSchema) -> GraphQLSchema:
    """graphql-core's schema of a Strawberry schema."""
    found = getattr(schema, "_schema", None)
    if not isinstance(found, GraphQLSchema):
        raise LibraryChanged("strawberry.Schema._schema is no longer graphql-core's schema (schema/library_hooks.py).")
    return found
