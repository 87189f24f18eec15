"""The named GraphQL documents of `operations/` (one operation per `.graphql` file, grouped by who
sends it) and their manifests for `shelcaster-channels export-documents`.

A document's id is the sha256 of its file's exact text: what `smoke` sends by hash, what Apollo's
persisted-queries link computes over the same text, and the key of the manifest a deployment loads
as CHANNELS_TRUSTED_DOCUMENTS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from app.persisted_documents import APOLLO_MANIFEST_FORMAT, sha256_hex

_OPERATION = re.compile(r"^(query|mutation|subscription)\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Operation:
    group: str  # vista-stream, program-manager, smoke
    name: str  # the file's name and the operation's
    kind: str  # query, mutation, subscription
    document: str  # the file's text, exactly

    @property
    def sha256(self) -> str:
        return sha256_hex(self.document)


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
    """The text of the operation named `name` (operation names are unique across groups)."""
    for operation in load_operations():
        if operation.name == name:
            return operation.document
    raise KeyError(f"no operation {name!r} in operations/")


def codegen_manifest(operations: list[Operation]) -> dict[str, str]:
    """sha256 hex → document: graphql-codegen's client-preset format, CHANNELS_TRUSTED_DOCUMENTS's first."""
    return {operation.sha256: operation.document for operation in operations}


def apollo_manifest(operations: list[Operation]) -> dict[str, Any]:
    """Apollo's persisted query manifest (version 1) of the same documents."""
    return {
        "format": APOLLO_MANIFEST_FORMAT,
        "version": 1,
        "operations": [
            {"id": operation.sha256, "name": operation.name, "type": operation.kind, "body": operation.document}
            for operation in operations
        ],
    }
