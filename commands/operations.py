"""The named GraphQL documents of `operations/` (one operation per `.graphql` file, grouped by who
sends it) and their manifests for `shelcaster-channels export-documents`.

What is sent, and kept in a manifest, is not a file's text but the text GraphQL Code Generator's
client preset prints for it (commands/client_preset_print.py: sorted, without comments, one line), and
its id is the preset's `sha256:<hex>` of that text. So the manifest `export-documents` prints and
the ones the frontends' builds write name a document alike, and an operator can merge them into the
one CHANNELS_TRUSTED_DOCUMENTS (docs/frontend-clients.md). `smoke` sends the same text by hash.

A frontend that normalises Apollo's or urql's cache builds its documents with `__typename` added
(`addTypenameSelectionDocumentTransform`); `add_typename` prints the frontends' groups that way.
smoke's group is always printed as smoke sends it, without.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from app.persisted_documents import APOLLO_MANIFEST_FORMAT, sha256_hex
from commands.client_preset_print import client_preset_id, client_preset_print

SMOKE_GROUP = "smoke"

_OPERATION = re.compile(r"^(query|mutation|subscription)\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Operation:
    group: str  # vista-stream, program-manager, smoke
    name: str  # the file's name and the operation's
    kind: str  # query, mutation, subscription
    document: str  # the file's text, exactly

    def sent(self, *, add_typename: bool = False) -> str:
        """The text a client sends for this operation: the client preset's print of the file, with
        `__typename` added when `add_typename` and the operation is a frontend's (not smoke's)."""
        return client_preset_print(self.document, add_typename=add_typename and self.group != SMOKE_GROUP)


def load_operations() -> list[Operation]:
    """Every operation of `operations/`, by group then name."""
    operations = []
    root = resources.files("operations")
    for group in sorted((entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("_")),
                        key=lambda entry: entry.name):
        for file in sorted((entry for entry in group.iterdir() if entry.name.endswith(".graphql")),
                           key=lambda entry: entry.name):
            document = file.read_text(encoding="utf-8")
            match = _OPERATION.search(document)
            kind = match.group(1) if match else "query"
            operations.append(Operation(group.name, file.name.removesuffix(".graphql"), kind, document))
    return operations


def document(name: str) -> str:
    """The text sent for the operation named `name` (operation names are unique across groups)."""
    for operation in load_operations():
        if operation.name == name:
            return operation.sent()
    raise KeyError(f"no operation {name!r} in operations/")


def codegen_manifest(operations: list[Operation], *, add_typename: bool = False) -> dict[str, str]:
    """`sha256:<hex>` → document: the manifest client preset 6 writes (`persisted-documents.json`),
    CHANNELS_TRUSTED_DOCUMENTS's first format."""
    sent = (operation.sent(add_typename=add_typename) for operation in operations)
    return {client_preset_id(text): text for text in sent}


def apollo_manifest(operations: list[Operation], *, add_typename: bool = False) -> dict[str, Any]:
    """Apollo's persisted query manifest (version 1) of the same documents (its ids are bare hex)."""
    return {
        "format": APOLLO_MANIFEST_FORMAT,
        "version": 1,
        "operations": [
            {"id": sha256_hex(body), "name": operation.name, "type": operation.kind, "body": body}
            for operation in operations
            for body in [operation.sent(add_typename=add_typename)]
        ],
    }
