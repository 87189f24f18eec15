"""Every function that reads client-controlled bytes costs in proportion to them, up to the input's cap
(docs/hostile-input.md): each timed at n and 8n = cap, its growth a ratio (tests.growth)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from starlette.datastructures import QueryParams
from strawberry.http import GraphQLRequestData

from app.auth import bearer_token
from app.graphql_over_http import media_type_of, prefers_graphql_response
from app.header_limits import MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_URL_BYTES, refusal_of_head
from app.persisted_documents import AutomaticPersistedQueries, PersistedDocumentError, PersistedDocuments
from app.request_log import describe_operation
from app.transport_errors import TransportError, decode_request_json
from data.pagination import decode_cursor
from schema.client_strings import cut_short
from tests.growth import MAX_GROWTH, growth

BODY_CAP = 64 * 1024  # Settings.max_body_bytes' default
CURSOR_CAP = 1024  # data.pagination's


def refused(call: Callable[[], object], *errors: type[Exception]) -> Callable[[], object]:
    """`call`, its expected refusal swallowed: a refusal's cost counts like an answer's."""

    def run() -> object:
        try:
            return call()
        except errors:
            return None

    return run


def _decoded(body: bytes) -> Callable[[], object]:
    return lambda: decode_request_json(body)


READERS: dict[str, tuple[Callable[[int], Callable[[], object]], int]] = {
    # Headers (each at most MAX_HEADER_BYTES; app.header_limits)
    "content-type-semicolons": (lambda n: lambda: media_type_of("application/json" + ";" * n), MAX_HEADER_BYTES),
    "accept-many-ranges": (
        lambda n: lambda: prefers_graphql_response("application/json;q=0.5," * (n // 23)), MAX_HEADER_BYTES),
    "accept-many-parameters": (
        lambda n: lambda: prefers_graphql_response("application/graphql-response+json" + ";a" * (n // 2)),
        MAX_HEADER_BYTES),
    "head-header-count": (
        lambda n: lambda: refusal_of_head({"path": "/graphql", "headers": [(b"x-h%d" % i, b"v" * 60) for i in range(n)]}),
        MAX_HEADER_COUNT * 8),  # past the cap too: the refusal is linear as well
    "authorization": (lambda n: refused(lambda: bearer_token("Bearer " + "a" * n), Exception), MAX_HEADER_BYTES),
    "authorization-spaces": (
        lambda n: refused(lambda: bearer_token("Bearer" + " " * n + "t"), Exception), MAX_HEADER_BYTES),
    # Query string and path (MAX_URL_BYTES)
    "query-string": (lambda n: lambda: QueryParams("query=" + "%20" * (n // 3) + "&x=1"), MAX_URL_BYTES),
    "query-string-many-pairs": (lambda n: lambda: QueryParams("a=1&" * (n // 4)), MAX_URL_BYTES),
    "path-in-log-line": (lambda n: lambda: cut_short("/" + "p" * n), MAX_URL_BYTES),
    "quoted-run-in-message": (lambda n: lambda: cut_short("'" + "a " * (n // 2)), MAX_URL_BYTES),
    # Body (the request's JSON) and its values
    "body-whitespace": (
        lambda n: refused(lambda: decode_request_json(b'{"query": "{ a }"' + b" " * n + b"}"), TransportError), BODY_CAP),
    "body-nesting": (
        lambda n: refused(lambda: decode_request_json(b"[" * n + b"]" * n), TransportError), BODY_CAP // 2),
    "json-surrogate-pairs": (
        lambda n: refused(lambda: decode_request_json(b'{"v": "' + b"\\ud83d\\ude00" * (n // 12) + b'"}'),
                          TransportError), BODY_CAP),
    "json-many-strings": (
        lambda n: refused(lambda: decode_request_json(b'{"v": [' + b'"\\ud83d\\ude00",' * (n // 15) + b'"\\ud800"]}'),
                          TransportError), BODY_CAP),
    "json-many-keys": (lambda n: _decoded(json.dumps({f"k{i}": i for i in range(n // 12)}).encode()), BODY_CAP),
    # Documents, as the request log describes them
    "document-whitespace": (lambda n: lambda: describe_operation(None, " " * n), BODY_CAP),
    "document-whitespace-no-brace": (lambda n: lambda: describe_operation(None, "query" + " " * n), BODY_CAP),
    "document-comments-cr": (lambda n: lambda: describe_operation(None, "#\r" * (n // 2)), BODY_CAP),
    "document-alias-whitespace": (lambda n: lambda: describe_operation(None, "{a:" + " " * n), BODY_CAP),
    "document-keywords": (lambda n: lambda: describe_operation(None, "mutation " * (n // 9)), BODY_CAP),
    # Cursors
    "cursor-garbage": (lambda n: lambda: decode_cursor("A" * n, {"pk", "sk"}), CURSOR_CAP),
    "cursor-json": (
        lambda n: lambda: decode_cursor(base64.urlsafe_b64encode(b"[" * (n * 3 // 4)).decode(), {"pk"}), CURSOR_CAP),
}


@pytest.mark.parametrize(("make", "cap"), READERS.values(), ids=READERS.keys())
def test_reader_grows_linearly_up_to_its_cap(make: Callable[[int], Callable[[], object]], cap: int) -> None:
    assert growth(make, cap) <= MAX_GROWTH


def _persisted(trusted_only: bool) -> PersistedDocuments:
    return PersistedDocuments({}, trusted_only=trusted_only, apq=AutomaticPersistedQueries(16))


PERSISTED: dict[str, Callable[[int], GraphQLRequestData]] = {
    "apq-hash": lambda n: GraphQLRequestData(
        query=None, variables=None, operation_name=None,
        extensions={"persistedQuery": {"version": 1, "sha256Hash": "a" * n}}),
    "apq-query-hashed": lambda n: GraphQLRequestData(
        query="{ a }" + " " * n, variables=None, operation_name=None,
        extensions={"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}),
}


@pytest.mark.parametrize("request_of", PERSISTED.values(), ids=PERSISTED.keys())
@pytest.mark.parametrize("trusted_only", [False, True], ids=["apq", "trusted-only"])
def test_persisted_hash_check_grows_linearly(request_of: Callable[[int], GraphQLRequestData], trusted_only: bool) -> None:
    documents = _persisted(trusted_only)

    def make(n: int) -> Callable[[], object]:
        data = request_of(n)
        return refused(lambda: documents.resolve(data), PersistedDocumentError)

    assert growth(make, BODY_CAP) <= MAX_GROWTH


@pytest.mark.parametrize("trusted_only", [False, True], ids=["apq", "trusted-only"])
def test_document_id_check_grows_linearly(trusted_only: bool) -> None:
    documents = _persisted(trusted_only)
    data = GraphQLRequestData(query=None, variables=None, operation_name=None, extensions=None)

    def make(n: int) -> Callable[[], object]:
        return refused(lambda: documents.resolve(data, "sha256:" + "a" * n), PersistedDocumentError)

    assert growth(make, BODY_CAP) <= MAX_GROWTH


def test_trusted_only_hashes_any_document_text_linearly() -> None:
    documents = _persisted(trusted_only=True)

    def make(n: int) -> Callable[[], object]:
        data = GraphQLRequestData(query="{ a }" + "é" * n, variables=None, operation_name=None, extensions=None)
        return refused(lambda: documents.resolve(data), PersistedDocumentError)

    assert growth(make, BODY_CAP) <= MAX_GROWTH
