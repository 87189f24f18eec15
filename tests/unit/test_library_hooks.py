"""The private names the service still reads from its libraries (schema/library_hooks.py): an upgrade
that moves one fails here, by name, before any request does."""

from __future__ import annotations

import pytest
import strawberry
from graphql import GraphQLSchema

from schema.library_hooks import LibraryChanged, graphql_schema_of
from schema.schema import build_schema


def test_strawberry_still_keeps_graphql_cores_schema_where_the_preparer_reads_it() -> None:
    schema = build_schema()
    found = graphql_schema_of(schema)
    assert isinstance(found, GraphQLSchema)
    assert found.query_type is not None and "capacity" in found.query_type.fields


def test_a_moved_schema_fails_loudly_by_name() -> None:
    @strawberry.type
    class Query:
        ok: bool = True

    schema = strawberry.Schema(query=Query)
    del schema._schema  # what an upgrade that renames it would leave  # noqa: SLF001
    with pytest.raises(LibraryChanged, match=r"strawberry\.Schema\._schema is no longer graphql-core's schema"):
        graphql_schema_of(schema)
