"""Validation in a child process (the served service): the same outcomes as in the thread, and a
document past its budget ends the child, which the next document replaces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from graphql import specified_rules

from schema.library_hooks import graphql_schema_of
from schema.prepared_documents import DocumentBounds, DocumentPreparer
from schema.schema import build_schema
from schema.validation_process import ValidationProcess

GRAPHQL_SCHEMA = graphql_schema_of(build_schema())


def bounds(budget_seconds: float = 10.0) -> DocumentBounds:
    return DocumentBounds(max_depth=10, max_aliases=30, max_fields=100, max_tokens=2000, hide_suggestions=False,
                          cache_size=8, cache_bytes=4096, budget_seconds=budget_seconds)


@pytest.fixture
def isolated() -> Iterator[DocumentPreparer]:
    preparer = DocumentPreparer(bounds())
    preparer.isolate()
    yield preparer
    preparer.close()


async def test_a_valid_document_is_parsed_for_execution(isolated: DocumentPreparer) -> None:
    prepared = await isolated.prepare("{ capacity { used } }", GRAPHQL_SCHEMA, specified_rules)
    assert prepared.errors == ()
    assert prepared.document is not None and prepared.document.definitions


async def test_validation_errors_come_back_located_and_coded(isolated: DocumentPreparer) -> None:
    prepared = await isolated.prepare("{ ...Nope }", GRAPHQL_SCHEMA, specified_rules)
    assert [error.formatted for error in prepared.errors] == [
        {"message": "Unknown fragment 'Nope'.", "locations": [{"line": 1, "column": 6}],
         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    ]


async def test_a_parse_error_comes_back_without_a_document(isolated: DocumentPreparer) -> None:
    prepared = await isolated.prepare("{ capacity { used }", GRAPHQL_SCHEMA, specified_rules)
    assert prepared.document is None
    assert [error.extensions for error in prepared.errors] == [{"code": "GRAPHQL_PARSE_FAILED"}]


def test_a_document_past_its_budget_ends_the_child_and_the_next_gets_a_new_one() -> None:
    process = ValidationProcess(bounds())
    process.start()
    try:
        first = process._child
        assert process.check("{ capacity { used } }", timeout=0) is None  # no answer within 0 s
        assert first is not None and not first.is_alive()
        assert process.check("{ capacity { limit } }", timeout=10) == (True, [])
        assert process._child is not first
    finally:
        process.close()


def test_a_child_that_died_is_replaced_before_the_next_document() -> None:
    process = ValidationProcess(bounds())
    process.start()
    try:
        process._child.kill()
        process._child.join(5)
        assert process.check("{ capacity { limit } }", timeout=10) == (True, [])
    finally:
        process.close()
