"""operations/: every document is one named operation, valid against the service's schema, and
`export-documents` prints their manifest; smoke sends them by hash to a trusted-only deployment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, validate

from app.bootstrap import Service
from commands.cli import main
from commands.operations import apollo_manifest, codegen_manifest, document, load_operations
from commands.client_preset_print import client_preset_id
from app.persisted_documents import load_manifest, sha256_hex
from commands.smoke import run_smoke
from schema.library_hooks import graphql_schema_of
from schema.schema import SchemaLimits, build_schema
from tests.frontend.conftest import ServiceFactory, served
from tests.support import TokenFactory

OPERATIONS = load_operations()
GROUPS = {"vista-stream", "program-manager", "smoke"}


def test_operations_are_grouped_by_who_sends_them() -> None:
    assert {operation.group for operation in OPERATIONS} == GROUPS
    names = [operation.name for operation in OPERATIONS]
    assert len(names) == len(set(names)), "operation names must be unique across groups"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{o.group}/{o.name}" for o in OPERATIONS])
def test_operation_is_one_named_operation_valid_against_the_schema(operation: Any) -> None:
    schema = build_schema(SchemaLimits(max_depth=10, max_aliases=30, max_tokens=2000, hide_schema=False))
    document = parse(operation.document)
    definitions = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    assert len(definitions) == 1 and definitions[0].name is not None
    assert definitions[0].name.value == operation.name  # the file is named for its operation
    assert definitions[0].operation.value == operation.kind
    assert validate(graphql_schema_of(schema), document) == []


def test_export_documents_prints_the_manifest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main(["export-documents"])
    manifest = json.loads(capsys.readouterr().out)
    assert manifest == codegen_manifest(OPERATIONS)
    assert all(client_preset_id(document) == key for key, document in manifest.items())
    assert len(manifest) == len(OPERATIONS)
    # The service loads what it prints, in both formats (by bare hex, whatever form the keys have).
    by_hex = {sha256_hex(document): document for document in manifest.values()}
    (tmp_path / "codegen.json").write_text(json.dumps(manifest))
    assert load_manifest(tmp_path / "codegen.json") == by_hex
    main(["export-documents", "--format", "apollo"])
    apollo = json.loads(capsys.readouterr().out)
    assert apollo == apollo_manifest(OPERATIONS)
    (tmp_path / "apollo.json").write_text(json.dumps(apollo))
    assert load_manifest(tmp_path / "apollo.json") == by_hex


def test_export_documents_add_typename_prints_the_frontends_documents_with_typename(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["export-documents", "--add-typename"])
    manifest = json.loads(capsys.readouterr().out)
    assert manifest == codegen_manifest(OPERATIONS, add_typename=True)
    frontends = [operation for operation in OPERATIONS if operation.group != "smoke"]
    assert all("__typename" in operation.sent(add_typename=True) for operation in frontends)
    # smoke's documents stay as smoke sends them, so the same manifest serves smoke.
    assert {document(operation.name) for operation in OPERATIONS if operation.group == "smoke"} <= set(manifest.values())


class Recording(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_smoke_sends_documents_by_hash_to_a_trusted_only_deployment(
    service_with: ServiceFactory, tokens: TokenFactory, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(codegen_manifest(OPERATIONS)))
    service: Service = service_with(trusted_documents=manifest, trusted_documents_only=True)
    transport = Recording()
    lines: list[str] = []
    with served(service) as base_url:
        assert run_smoke(base_url, tokens.admin(), report=lines.append, transport=transport) == 0, lines
    assert len(lines) == 19 and all(line.startswith("PASS") for line in lines)  # 18 steps and the cleanup
    # Every document went by hash alone: the deployment knows them all from its manifest.
    assert transport.bodies and all(
        "query" not in body and body["extensions"]["persistedQuery"]["version"] == 1 for body in transport.bodies
    )


def test_smoke_registers_its_documents_with_a_deployment_that_has_no_manifest(
    service: Service, tokens: TokenFactory
) -> None:
    transport = Recording()
    lines: list[str] = []
    with served(service) as base_url:
        assert run_smoke(base_url, tokens.admin(), report=lines.append, transport=transport) == 0, lines
    # First use of each document: hash (PersistedQueryNotFound), then hash and text; later uses: hash.
    with_text = [body["query"] for body in transport.bodies if "query" in body]
    # Every smoke document but SmokeCancelRequest, which cleanup sends only for a request left PENDING.
    sent = {operation.sent() for operation in OPERATIONS if operation.group == "smoke"}
    assert sorted(with_text) == sorted(sent - {document("SmokeCancelRequest")})
