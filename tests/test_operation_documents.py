"""The documents the frontends and `smoke` send (operations/, one file per named operation, grouped by
frontend) parse, are named after their file, and validate against the service's schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate
from graphql import build_schema as parse_sdl

from app import smoke_request_documents as smoke
from schema.schema import export_sdl

OPERATIONS = Path(__file__).resolve().parents[1] / "operations"
DOCUMENTS = sorted(OPERATIONS.rglob("*.graphql"))
SCHEMA = parse_sdl(export_sdl())


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(path.relative_to(OPERATIONS)) for path in DOCUMENTS])
def test_each_document_is_one_operation_named_as_its_file_and_valid(path: Path) -> None:
    document = parse(path.read_text())
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    assert [node.name.value if node.name else None for node in operations] == [path.stem]
    assert [error.message for error in validate(SCHEMA, document)] == []


def test_the_documents_are_grouped_by_frontend() -> None:
    assert {path.parent.name for path in DOCUMENTS} <= {"program-manager", "vista-stream", "smoke"}


@pytest.mark.parametrize(
    "document",
    [smoke.REQUEST_CHANNEL, smoke.PENDING_REQUESTS, smoke.APPROVE_REQUEST, smoke.MY_CHANNEL, smoke.MY_REQUESTS,
     smoke.CANCEL_REQUEST],
)
def test_smoke_sends_the_exact_text_of_operations_smoke(document: str) -> None:
    # Exactly: a trusted-documents manifest knows a document by the sha256 of its file's text.
    parsed = parse(document)
    name = next(node.name.value for node in parsed.definitions if isinstance(node, OperationDefinitionNode) and node.name)
    assert document == (OPERATIONS / "smoke" / f"{name}.graphql").read_text()
