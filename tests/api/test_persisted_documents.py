"""Apollo's automatic persisted queries and trusted documents (CONTRACT.md section 9), over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bootstrap import Service, bootstrap
from app.persisted_documents import AutomaticPersistedQueries, sha256_hex
from app.settings import SettingsError, load_settings
from data.clients import AwsConnection
from tests.conftest import make_settings
from tests.support import app_client

GQL = "application/graphql-response+json"
ID_FORMS = '"sha256:" and 64 lowercase hex digits, or the 64 hex digits alone'
TYPENAME = "query Typename { __typename }"
TRUSTED = "query Trusted { __typename }"
UNTRUSTED = "query Untrusted { __typename }"


def apq(document: str | None, sha256: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256 or sha256_hex(document or "")}}}
    if document is not None:
        body["query"] = document
    return body


def hash_only(document: str) -> dict[str, Any]:
    return apq(None, sha256_hex(document))


def only_error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return dict(errors[0])


# Automatic persisted queries (the default http app: no manifest)


async def test_unknown_hash_is_persisted_query_not_found_with_200(http: httpx.AsyncClient) -> None:
    for accept in ("application/json", f"{GQL},application/json;q=0.9"):
        response = await http.post("/graphql", json=hash_only(TYPENAME), headers={"accept": accept})
        assert response.status_code == 200
        assert only_error(response) == {
            "message": "PersistedQueryNotFound",
            "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
        }


async def test_registered_hash_runs_over_post_and_get(http: httpx.AsyncClient) -> None:
    registered = await http.post("/graphql", json=apq(TYPENAME))
    assert registered.json() == {"data": {"__typename": "Query"}}

    by_post = await http.post("/graphql", json=hash_only(TYPENAME))
    assert by_post.json() == {"data": {"__typename": "Query"}}

    # Apollo's useGETForHashedQueries: operationName, variables and extensions as query parameters.
    params = {"operationName": "Typename", "variables": "{}", "extensions": json.dumps(hash_only(TYPENAME)["extensions"])}
    by_get = await http.get("/graphql", params=params, headers={"accept": "*/*"})
    assert by_get.status_code == 200 and by_get.json() == {"data": {"__typename": "Query"}}


async def test_get_registers_too(http: httpx.AsyncClient) -> None:
    body = apq(TYPENAME)
    params = {"query": TYPENAME, "extensions": json.dumps(body["extensions"])}
    assert (await http.get("/graphql", params=params)).json() == {"data": {"__typename": "Query"}}
    assert (await http.post("/graphql", json=hash_only(TYPENAME))).json() == {"data": {"__typename": "Query"}}


async def test_apq_hash_in_the_appendix_form_registers_the_document_for_both_forms(http: httpx.AsyncClient) -> None:
    # Client preset 6's `__meta__.hash`, sent as Apollo's persisted-queries link sends a hash.
    registered = await http.post("/graphql", json=apq(TYPENAME, f"sha256:{sha256_hex(TYPENAME)}"))
    assert registered.json() == {"data": {"__typename": "Query"}}
    for sha256 in (sha256_hex(TYPENAME), f"sha256:{sha256_hex(TYPENAME)}"):
        assert (await http.post("/graphql", json=apq(None, sha256))).json() == {"data": {"__typename": "Query"}}


async def test_apq_hash_in_the_appendix_form_that_does_not_match_its_query_is_bad_user_input(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/graphql", json=apq(TYPENAME, f"sha256:{sha256_hex(UNTRUSTED)}"))
    assert only_error(response) == {"message": "provided sha does not match query", "extensions": {"code": "BAD_USER_INPUT"}}


async def test_hash_that_does_not_match_its_query_is_bad_user_input(http: httpx.AsyncClient) -> None:
    body = apq(TYPENAME, sha256_hex(UNTRUSTED))
    response = await http.post("/graphql", json=body)
    assert response.status_code == 200
    assert only_error(response) == {"message": "provided sha does not match query", "extensions": {"code": "BAD_USER_INPUT"}}
    strict = await http.post("/graphql", json=body, headers={"accept": GQL})
    assert strict.status_code == 400 and strict.headers["content-type"] == f"{GQL}; charset=utf-8"
    assert "data" not in strict.json()
    # Nothing was registered under either hash.
    for document in (TYPENAME, UNTRUSTED):
        assert only_error(await http.post("/graphql", json=hash_only(document)))["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("persisted", "message"),
    [
        ({"version": 2, "sha256Hash": "0" * 64}, "extensions.persistedQuery.version must be 1."),
        ({"version": 1, "sha256Hash": "not-a-hash"}, f"extensions.persistedQuery.sha256Hash must be {ID_FORMS}."),
        ({"version": 1, "sha256Hash": f"sha1:{'0' * 40}"}, f"extensions.persistedQuery.sha256Hash must be {ID_FORMS}."),
        ({"version": 1, "sha256Hash": f"SHA256:{'0' * 64}"}, f"extensions.persistedQuery.sha256Hash must be {ID_FORMS}."),
        ("v1", "extensions.persistedQuery.version must be 1."),
        ({"version": True, "sha256Hash": "0" * 64}, "extensions.persistedQuery.version must be 1."),
        ({"version": 1.0, "sha256Hash": "0" * 64}, "extensions.persistedQuery.version must be 1."),
        ({"version": "1", "sha256Hash": "0" * 64}, "extensions.persistedQuery.version must be 1."),
    ],
    ids=["version-2", "not-a-hash", "sha1-prefix", "upper-case-prefix", "not-an-object", "version-true",
         "version-float", "version-string"],
)
async def test_malformed_persisted_query_is_bad_user_input(http: httpx.AsyncClient, persisted: object, message: str) -> None:
    response = await http.post("/graphql", json={"extensions": {"persistedQuery": persisted}})
    assert only_error(response) == {"message": message, "extensions": {"code": "BAD_USER_INPUT"}}


async def test_hashed_get_from_a_browser_is_an_operation_not_graphiql(http: httpx.AsyncClient) -> None:
    params = {"extensions": json.dumps(hash_only(TYPENAME)["extensions"])}
    response = await http.get("/graphql", params=params, headers={"accept": "text/html,*/*"})
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_unknown_document_id_is_not_found(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"documentId": f"sha256:{sha256_hex(TYPENAME)}"})
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("document_id", [f"sha1:{'0' * 40}", "channels:Typename", f"sha256:{'0' * 63}", 7])
async def test_document_id_in_another_form_is_bad_user_input(http: httpx.AsyncClient, document_id: object) -> None:
    response = await http.post("/graphql", json={"documentId": document_id})
    assert only_error(response) == {
        "message": 'documentId must be "sha256:" and 64 hex digits, or the 64 hex digits alone.',
        "extensions": {"code": "BAD_USER_INPUT"},
    }


def test_apq_store_is_bounded_least_recently_used_first() -> None:
    store = AutomaticPersistedQueries(max_entries=2, max_bytes=100)
    store.put("a", "A")
    store.put("b", "B")
    assert store.get("a") == "A"  # now b is the least recently used
    store.put("c", "C")
    assert (store.get("a"), store.get("b"), store.get("c")) == ("A", None, "C")
    store.put("d", "x" * 100)  # the size bound evicts the rest
    assert len(store) == 1 and store.get("d") is not None
    store.put("e", "x" * 101)  # larger than the whole store: not kept
    assert store.get("e") is None


# Trusted documents


def codegen_manifest(path: Path, *documents: str) -> Path:
    """Client preset 5's form: bare hex keys."""
    path.write_text(json.dumps({sha256_hex(document): document for document in documents}))
    return path


def client_preset_6_manifest(path: Path, *documents: str) -> Path:
    """Client preset 6's form: the appendix's `sha256:<hex>` keys."""
    path.write_text(json.dumps({f"sha256:{sha256_hex(document)}": document for document in documents}))
    return path


def apollo_manifest(path: Path, *documents: str) -> Path:
    operations = [
        {"id": sha256_hex(document), "name": document.split()[1], "type": "query", "body": document}
        for document in documents
    ]
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}))
    return path


AppFactory = Callable[..., Any]


@pytest.fixture
def app_with(aws_connection: AwsConnection, service: Service) -> Iterator[AppFactory]:
    """An app over the test backend with other settings (the `service` fixture's verifier and table)."""
    built: list[Service] = []

    def make(**overrides: object) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        settings = make_settings(table=service.settings.table, **overrides)
        other = bootstrap(settings, connection=aws_connection, verifier=service.verifier)
        built.append(other)
        return app_client(other)

    yield make
    for other in built:
        other.close()


MANIFEST_WRITERS = {"codegen": codegen_manifest, "client-preset-6": client_preset_6_manifest, "apollo": apollo_manifest}


@pytest.fixture(params=list(MANIFEST_WRITERS))
def manifest(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return MANIFEST_WRITERS[request.param](tmp_path / "manifest.json", TRUSTED)


@pytest.fixture
async def trusted_only(app_with: AppFactory, manifest: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with(trusted_documents=manifest, trusted_documents_only=True) as client:
        yield client


async def test_trusted_document_runs_by_document_id_by_hash_and_as_text(trusted_only: httpx.AsyncClient) -> None:
    expected = {"data": {"__typename": "Query"}}
    assert (await trusted_only.post("/graphql", json={"documentId": f"sha256:{sha256_hex(TRUSTED)}"})).json() == expected
    assert (await trusted_only.post("/graphql", json={"documentId": sha256_hex(TRUSTED)})).json() == expected
    assert (await trusted_only.post("/graphql", json=hash_only(TRUSTED))).json() == expected
    assert (await trusted_only.post("/graphql", json=apq(None, f"sha256:{sha256_hex(TRUSTED)}"))).json() == expected
    assert (await trusted_only.post("/graphql", json=apq(TRUSTED))).json() == expected
    assert (await trusted_only.post("/graphql", json={"query": TRUSTED})).json() == expected
    get = await trusted_only.get("/graphql", params={"documentId": f"sha256:{sha256_hex(TRUSTED)}"})
    assert get.json() == expected


@pytest.mark.parametrize(
    "body",
    [
        {"query": UNTRUSTED},
        {"query": "{ this does not parse"},  # refused before parsing: no GRAPHQL_PARSE_FAILED
        apq(UNTRUSTED),  # APQ cannot register a document in trusted-only mode
    ],
    ids=["untrusted", "unparseable", "apq-register"],
)
async def test_trusted_only_refuses_other_documents_before_parsing(trusted_only: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await trusted_only.post("/graphql", json=body)
    assert response.status_code == 200
    error = only_error(response)
    assert error["extensions"] == {"code": "PERSISTED_QUERY_NOT_ALLOWED"}
    assert error["message"].startswith("This service accepts trusted documents only")
    strict = await trusted_only.post("/graphql", json=body, headers={"accept": GQL})
    assert strict.status_code == 400 and only_error(strict)["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_trusted_only_unknown_hash_is_not_found(trusted_only: httpx.AsyncClient) -> None:
    response = await trusted_only.post("/graphql", json=hash_only(UNTRUSTED))
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_manifest_without_trusted_only_accepts_other_documents_too(app_with: AppFactory, manifest: Path) -> None:
    async with app_with(trusted_documents=manifest) as client:
        assert (await client.post("/graphql", json=hash_only(TRUSTED))).json() == {"data": {"__typename": "Query"}}
        assert (await client.post("/graphql", json={"query": UNTRUSTED})).json() == {"data": {"__typename": "Query"}}


def test_a_manifest_in_production_means_trusted_only_by_default(manifest: Path) -> None:
    assert make_settings(trusted_documents=manifest, env="production").only_trusted_documents is True
    assert make_settings(trusted_documents=manifest).only_trusted_documents is False
    assert make_settings(trusted_documents=manifest, env="production", trusted_documents_only=False).only_trusted_documents is False
    assert make_settings(env="production").only_trusted_documents is False


# The manifest is checked at start, one line per fault


def _problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    return refused.value.problems


def test_trusted_only_without_a_manifest_stops_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _problems(monkeypatch, CHANNELS_TRUSTED_DOCUMENTS_ONLY="true") == [
        "CHANNELS_TRUSTED_DOCUMENTS_ONLY: needs CHANNELS_TRUSTED_DOCUMENTS, the manifest of the documents to accept."
    ]


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ("{not json", "is not a JSON document"),
        ("[]", "expected a JSON object from sha256 document id to document"),
        (json.dumps({"abc": TRUSTED}), f"the key 'abc' is not a sha256 document id ({ID_FORMS})"),
        (json.dumps({f"sha1:{'0' * 40}": TRUSTED}), f"the key 'sha1:{'0' * 40}' is not a sha256 document id"),
        (json.dumps({sha256_hex(UNTRUSTED): TRUSTED}), "is not the sha256 of its document"),
        (json.dumps({f"sha256:{sha256_hex(UNTRUSTED)}": TRUSTED}), "is not the sha256 of its document"),
        (json.dumps({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}), "with \"version\": 1 is supported"),
        (json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]}),
         "operations[0] needs a non-empty string id and a string body"),
    ],
)
def test_wrong_manifest_stops_the_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str, fault: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    [problem] = _problems(monkeypatch, CHANNELS_TRUSTED_DOCUMENTS=str(path))
    assert problem.startswith(f"CHANNELS_TRUSTED_DOCUMENTS: {path}") and fault in problem


def test_missing_manifest_stops_the_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    [problem] = _problems(monkeypatch, CHANNELS_TRUSTED_DOCUMENTS=str(tmp_path / "absent.json"))
    assert problem == f"CHANNELS_TRUSTED_DOCUMENTS: cannot read {tmp_path / 'absent.json'}: No such file or directory."

