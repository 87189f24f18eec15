"""Persisted documents (docs/frontend-clients.md): Apollo's automatic persisted queries and trusted
documents, resolved before anything is parsed.

- APQ, protocol version 1: `extensions.persistedQuery = {"version": 1, "sha256Hash": hex}`. A hash
  alone runs the document registered under it, or answers `PersistedQueryNotFound` (HTTP 200, code
  PERSISTED_QUERY_NOT_FOUND), which makes Apollo Client send the hash again with the query; that
  request registers it (the hash must be the document's sha256, else BAD_USER_INPUT). The store is
  per process and bounded (least recently used documents go first).
- Trusted documents: a manifest (`CHANNELS_TRUSTED_DOCUMENTS`) read at start, either a JSON object
  from document id to document (graphql-codegen's client preset) or Apollo's persisted query
  manifest. Its documents are always known, by APQ hash or by `"documentId"`. With trusted-only,
  every other document is refused with PERSISTED_QUERY_NOT_ALLOWED, and the APQ store is not used.

A document's id is the sha256 of its UTF-8 text, written either as the GraphQL-over-HTTP
persisted-documents appendix writes it, `sha256:<hex>` (client preset 6's manifest keys and
`__meta__.hash`), or as the 64 hex digits alone (APQ's `sha256Hash`, client preset 5). Both name
the same document wherever an id is accepted (manifest keys, `documentId`, `sha256Hash`); another
prefix (`sha1:`, a custom id with a colon) is refused with a message saying which forms are read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from strawberry.http import GraphQLRequestData

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
BAD_USER_INPUT = "BAD_USER_INPUT"
# Apollo Client's persisted-queries link recognises exactly this message.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
# Bounds the APQ store's memory beside its entry count: documents are at most a request body each.
APQ_STORE_MAX_BYTES = 8 * 1024 * 1024

_SHA256_ID = re.compile(r"(?:sha256:)?([0-9a-f]{64})")
_DOCUMENT_ID = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")
SHA256_ID_FORMS = '"sha256:" and 64 lowercase hex digits, or the 64 hex digits alone'


def sha256_hex(document: str) -> str:
    """The hash APQ and trusted documents name a document by: sha256 of its UTF-8 text, in hex."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def sha256_of_id(document_id: str) -> str | None:
    """The hex digest a document id names, `sha256:<hex>` or `<hex>` (lowercase); None for another form."""
    match = _SHA256_ID.fullmatch(document_id)
    return match.group(1) if match else None


class PersistedDocumentError(Exception):
    """A persisted-document request refused before parsing; `code` goes to `extensions.code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def is_request_error(self) -> bool:
        # PersistedQueryNotFound is an invitation to send the query, answered 200 as Apollo expects.
        return self.code != NOT_FOUND


class ManifestError(ValueError):
    """A trusted-documents manifest that cannot be used; the message names the file and the fault."""


def load_manifest(path: Path) -> dict[str, str]:
    """The trusted documents of `path` by id (sha256 hex, whether the key had the `sha256:` prefix or
    not, or an Apollo manifest's operation id; an Apollo operation is also known by the sha256 of its body)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path} is not a JSON document ({exc})") from None
    if isinstance(data, dict) and "format" in data:
        return _apollo_manifest(path, data)
    if not isinstance(data, dict):
        raise ManifestError(
            f"{path}: expected a JSON object from sha256 document id to document, "
            f'or an Apollo persisted query manifest ("format": "{APOLLO_MANIFEST_FORMAT}")'
        )
    documents: dict[str, str] = {}
    for key, document in data.items():
        if not isinstance(document, str):
            raise ManifestError(f"{path}: the value of {key[:80]!r} is not a document (a string)")
        sha256 = sha256_of_id(key)
        if sha256 is None:
            raise ManifestError(f"{path}: the key {key[:80]!r} is not a sha256 document id ({SHA256_ID_FORMS})")
        if sha256_hex(document) != sha256:
            raise ManifestError(f"{path}: the key {key} is not the sha256 of its document")
        documents[sha256] = document
    return documents


def _apollo_manifest(path: Path, data: dict[str, Any]) -> dict[str, str]:
    if data.get("format") != APOLLO_MANIFEST_FORMAT or not _is_one(data.get("version")):
        raise ManifestError(
            f'{path}: only "format": "{APOLLO_MANIFEST_FORMAT}" with "version": 1 is supported, '
            f"got format {str(data.get('format'))[:80]!r}, version {str(data.get('version'))[:20]!r}"
        )
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise ManifestError(f'{path}: "operations" must be a list')
    documents: dict[str, str] = {}
    for index, operation in enumerate(operations):
        if not (isinstance(operation, dict) and isinstance(operation.get("id"), str) and operation["id"]
                and isinstance(operation.get("body"), str)):
            raise ManifestError(f"{path}: operations[{index}] needs a non-empty string id and a string body")
        documents[sha256_of_id(operation["id"]) or operation["id"]] = operation["body"]
        documents[sha256_hex(operation["body"])] = operation["body"]
    return documents


class AutomaticPersistedQueries:
    """The per-process APQ store: at most `max_entries` documents and APQ_STORE_MAX_BYTES characters of text,
    the least recently used evicted first. Used from the event loop only (no await inside)."""

    def __init__(self, max_entries: int, max_bytes: int = APQ_STORE_MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    def put(self, sha256: str, document: str) -> None:
        size = len(document)
        if sha256 in self._documents or self.max_entries == 0 or size > self.max_bytes:
            return
        self._documents[sha256] = document
        self._bytes += size
        while len(self._documents) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._documents.popitem(last=False)
            self._bytes -= len(evicted)


class PersistedDocuments:
    """Turns a request naming a document by hash into one carrying the document, or refuses it."""

    def __init__(self, trusted: dict[str, str], *, trusted_only: bool, apq: AutomaticPersistedQueries) -> None:
        self.trusted = trusted
        self.trusted_only = trusted_only
        self.apq = apq

    def resolve(self, data: GraphQLRequestData, document_id: object = None) -> GraphQLRequestData:
        if document_id is not None:
            return dataclasses.replace(data, query=self._by_document_id(data.query, document_id))
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is not None:
            return dataclasses.replace(data, query=self._by_apq(data.query, persisted))
        if self.trusted_only and data.query is not None and sha256_hex(data.query) not in self.trusted:
            raise _not_allowed()
        return data

    def _by_document_id(self, query: str | None, document_id: object) -> str:
        match = _DOCUMENT_ID.fullmatch(document_id) if isinstance(document_id, str) else None
        if match is None:
            raise PersistedDocumentError(
                BAD_USER_INPUT, 'documentId must be "sha256:" and 64 hex digits, or the 64 hex digits alone.'
            )
        if query is not None:
            raise PersistedDocumentError(BAD_USER_INPUT, "Send either query or documentId, not both.")
        return self._known(match.group(1).lower())

    def _by_apq(self, query: str | None, persisted: object) -> str:
        if not isinstance(persisted, dict) or not _is_one(persisted.get("version")):
            raise PersistedDocumentError(BAD_USER_INPUT, "extensions.persistedQuery.version must be 1.")
        sha256_hash = persisted.get("sha256Hash")
        sha256 = sha256_of_id(sha256_hash) if isinstance(sha256_hash, str) else None
        if sha256 is None:
            raise PersistedDocumentError(
                BAD_USER_INPUT, f"extensions.persistedQuery.sha256Hash must be {SHA256_ID_FORMS}."
            )
        if query is None:
            return self._known(sha256)
        if sha256_hex(query) != sha256:
            # Apollo Server's wording.
            raise PersistedDocumentError(BAD_USER_INPUT, "provided sha does not match query")
        if sha256 not in self.trusted:
            if self.trusted_only:
                raise _not_allowed()
            self.apq.put(sha256, query)
        return query

    def _known(self, sha256: str) -> str:
        document = self.trusted.get(sha256)
        if document is None and not self.trusted_only:
            document = self.apq.get(sha256)
        if document is None:
            raise PersistedDocumentError(NOT_FOUND, NOT_FOUND_MESSAGE)
        return document


def _not_allowed() -> PersistedDocumentError:
    return PersistedDocumentError(
        NOT_ALLOWED,
        "This service accepts trusted documents only: send a document of its manifest, "
        'by hash (extensions.persistedQuery or "documentId": "sha256:<hex>") or as its exact text.',
    )


async def document_id_of(request: AsyncHTTPRequestAdapter) -> object:
    """The request's `documentId` parameter, if any (strawberry's request data has no field for it)."""
    if request.method == "GET":
        return request.query_params.get("documentId")
    body = await request.get_body()  # read once already; Starlette keeps it
    if b"documentId" not in body:
        return None  # the common case: no second JSON decode
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("documentId") if isinstance(data, dict) else None


def names_a_persisted_document(query_params: Any) -> bool:
    """A GET that names a document by hash is an operation, even from a browser (not GraphiQL's page)."""
    return query_params.get("extensions") is not None or query_params.get("documentId") is not None


def _is_one(version: object) -> bool:
    """The integer 1 itself: JSON's `true` and `1.0` equal 1 in Python, and are not protocol version 1."""
    return type(version) is int and version == 1
