"""`export-documents` names documents as GraphQL Code Generator's client preset 6 does, proven against
the manifests the real tool wrote (fixtures/client-preset/README.md says how, with which versions),
and a deployment serves the frontends' manifest and smoke's from one merged file."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from commands.cli import main
from commands.client_preset_print import client_preset_id, client_preset_print
from commands.operations import SMOKE_GROUP, codegen_manifest, load_operations
from app.persisted_documents import sha256_hex
from commands.smoke import run_smoke
from tests.frontend.conftest import ServiceFactory, served
from tests.support import TokenFactory, app_client

FIXTURES = Path(__file__).parent / "fixtures" / "client-preset"
OPERATIONS = load_operations()
FRONTENDS = [operation for operation in OPERATIONS if operation.group != SMOKE_GROUP]
SMOKE = [operation for operation in OPERATIONS if operation.group == SMOKE_GROUP]
OPERATION_NAME = re.compile(r"(?:query|mutation|subscription) (\w+)")
EDGE_CASES = sorted((FIXTURES / "edge-cases").glob("*.graphql"))


def real_manifest(name: str) -> dict[str, str]:
    manifest: dict[str, str] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return manifest


def named(manifest: dict[str, str], names: set[str]) -> dict[str, str]:
    """The entries of `manifest` whose operation is one of `names`."""
    return {key: document for key, document in manifest.items() if OPERATION_NAME.match(document)[1] in names}


def test_export_documents_prints_the_client_presets_manifest_of_operations_byte_for_byte(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["export-documents"])
    # The same ids, documents, order and JSON layout (JSON.stringify's, 2 spaces), and a final newline.
    assert capsys.readouterr().out == (FIXTURES / "persisted-documents.json").read_text(encoding="utf-8") + "\n"


def test_export_documents_add_typename_writes_the_frontends_documents_as_the_typename_transform_does() -> None:
    with_typename = codegen_manifest(FRONTENDS, add_typename=True)
    assert with_typename == named(real_manifest("persisted-documents.typename.json"), {o.name for o in FRONTENDS})
    assert len(with_typename) == len(FRONTENDS)


@pytest.mark.parametrize("path", EDGE_CASES, ids=[path.stem for path in EDGE_CASES])
def test_edge_case_prints_as_the_client_preset_prints_it(path: Path) -> None:
    printed = client_preset_print(path.read_text(encoding="utf-8"))
    assert real_manifest("edge-cases.json")[client_preset_id(printed)] == printed


@pytest.mark.parametrize("path", EDGE_CASES, ids=[path.stem for path in EDGE_CASES])
def test_edge_case_with_typename_prints_as_the_client_preset_prints_it(path: Path) -> None:
    printed = client_preset_print(path.read_text(encoding="utf-8"), add_typename=True)
    assert real_manifest("edge-cases.typename.json")[client_preset_id(printed)] == printed


def test_the_edge_cases_are_all_of_the_real_manifests_documents() -> None:
    assert len(real_manifest("edge-cases.json")) == len(real_manifest("edge-cases.typename.json")) == len(EDGE_CASES)


def test_a_document_with_two_operations_is_refused() -> None:
    with pytest.raises(ValueError, match="^expected one operation in the document, found 2$"):
        client_preset_print("query A { __typename } query B { __typename }")


# The round trip: the real tool's manifest in, documents by id and by APQ hash in both forms


CAPACITY = next(operation for operation in FRONTENDS if operation.name == "Capacity")


@pytest.fixture
async def trusted_only(service_with: ServiceFactory, admin: str) -> AsyncIterator[httpx.AsyncClient]:
    service = service_with(trusted_documents=FIXTURES / "persisted-documents.typename.json", trusted_documents_only=True)
    async with app_client(service, headers={"authorization": f"Bearer {admin}"}) as client:
        yield client


def capacity_id() -> str:
    """Capacity's `__meta__.hash` in a frontend built with the typename transform."""
    [key] = [key for key, document in real_manifest("persisted-documents.typename.json").items()
             if document.startswith("query Capacity ")]
    return key


def assert_capacity(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["capacity"]["__typename"] == "Capacity"


async def test_client_preset_document_runs_by_document_id(trusted_only: httpx.AsyncClient) -> None:
    assert_capacity(await trusted_only.post("/graphql", json={"documentId": capacity_id()}))


async def test_client_preset_document_runs_by_document_id_over_get(trusted_only: httpx.AsyncClient) -> None:
    assert_capacity(await trusted_only.get("/graphql", params={"documentId": capacity_id()}))


@pytest.mark.parametrize("form", ["sha256:<hex>", "<hex>"])
async def test_client_preset_document_runs_by_apq_hash(trusted_only: httpx.AsyncClient, form: str) -> None:
    sha256 = capacity_id() if form == "sha256:<hex>" else capacity_id().removeprefix("sha256:")
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}}}
    assert_capacity(await trusted_only.post("/graphql", json=body))


async def test_client_preset_manifest_refuses_the_documents_file_text(trusted_only: httpx.AsyncClient) -> None:
    # The file's own text (comments, its order) is not what the build sent: ad hoc, refused.
    response = await trusted_only.post("/graphql", json={"query": CAPACITY.document})
    assert response.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_ALLOWED"}


async def test_client_preset_manifest_refuses_an_ad_hoc_document(trusted_only: httpx.AsyncClient) -> None:
    response = await trusted_only.post("/graphql", json={"query": "query Mine { capacity { used } }"})
    assert response.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_ALLOWED"}


# One manifest for smoke and the frontends


def test_the_frontends_manifest_merged_with_export_documents_serves_smoke_and_the_frontends(
    service_with: ServiceFactory, tokens: TokenFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["export-documents", "--add-typename"])
    exported: dict[str, Any] = json.loads(capsys.readouterr().out)
    frontends_build = real_manifest("persisted-documents.typename.json")
    # Ids are content hashes: the documents both hold are one entry, the merge a plain union.
    assert all(frontends_build[key] == document for key, document in exported.items() if key in frontends_build)
    merged = tmp_path / "trusted.json"
    merged.write_text(json.dumps({**frontends_build, **exported}))
    service = service_with(trusted_documents=merged, trusted_documents_only=True)
    lines: list[str] = []
    with served(service) as base_url:
        assert run_smoke(base_url, tokens.admin(), report=lines.append) == 0, lines
        frontend = httpx.post(f"{base_url}/graphql", json={"documentId": capacity_id()},
                              headers={"authorization": f"Bearer {tokens.admin()}"})
    assert len(lines) == 19 and all(line.startswith("PASS") for line in lines)
    assert_capacity(frontend)
    assert {sha256_hex(operation.sent()) for operation in SMOKE} <= {key.removeprefix("sha256:") for key in exported}


def test_typename_is_not_added_to_a_subscriptions_root() -> None:
    # A subscription selects a single root field (the transform's own rule). The schema has no
    # Subscription yet, so the fixtures cannot show it: the expected text is what client-preset 6.2.0
    # wrote for this document over `type Subscription { channel(id: ID!): Channel }`.
    assert client_preset_print("subscription S { channel(id: 1) { id } }", add_typename=True) == (
        "subscription S { channel(id: 1) { __typename id } }"
    )
