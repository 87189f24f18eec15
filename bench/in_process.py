"""GraphQL executed in this process with a prebuilt context: no HTTP, no token check.

`RecordingTable` remembers every read a request made against the real backend; `MemoryTable` then
answers the same reads from memory, so that GraphQL execution (resolvers, DataLoaders, the thread
pool hops, record mapping, stream-key decryption, serialisation to dicts) is timed alone.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension

from data.clients import AwsClients
from data.dynamo import DynamoTable
from data.ivs import IvsGateway
from data.loaders import build_loaders
from data.repository import ChannelRepository
from data.stream_keys import StreamKeyCipher
from domain.access import Caller
from schema.context import Context
from services.backend import ChannelsBackend

# Long enough that no data key expires while a timing loop runs.
CIPHER_CACHE_SECONDS = 3600

Key = tuple[str, str]


def _key(item: Mapping[str, Any]) -> Key:
    return str(item["pk"]), str(item["sk"])


def _signature(query: Mapping[str, Any]) -> str:
    return json.dumps(query, sort_keys=True, default=str)


class RecordingTable(DynamoTable):
    """The real table, remembering what each read returned."""

    def __init__(self, client: Any, name: str) -> None:
        super().__init__(client, name)
        self.items: dict[Key, dict[str, Any]] = {}
        self.queries: dict[str, tuple[list[dict[str, Any]], int]] = {}

    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        item = super().get(key, consistent=consistent)
        if item is not None:
            self.items[_key(item)] = item
        return item

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        items = super().batch_get(keys)
        self.items.update((_key(item), item) for item in items)
        return items

    def query(self, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
        result = super().query(**kwargs)
        self.queries[_signature(kwargs)] = result
        return result


class MemoryTable(DynamoTable):
    """Answers, from memory, the reads a RecordingTable saw; anything else is a bench error."""

    def __init__(self, recorded: RecordingTable) -> None:
        super().__init__(client=None, name=recorded.name)
        self.items = dict(recorded.items)
        self.queries = dict(recorded.queries)

    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        return self.items.get(_key(key))

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        return [self.items[_key(key)] for key in keys if _key(key) in self.items]

    def query(self, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
        try:
            return self.queries[_signature(kwargs)]
        except KeyError:
            raise LookupError(f"MemoryTable: this Query was not recorded: {kwargs}") from None


def backend_over(table: DynamoTable, clients: AwsClients, kms_key_id: str | None, limit: int) -> ChannelsBackend:
    """A backend as app.bootstrap builds it, over `table`."""
    cipher = None
    if kms_key_id is not None:
        cipher = StreamKeyCipher(clients.kms, kms_key_id, table, cache_seconds=CIPHER_CACHE_SECONDS)
    return ChannelsBackend(
        repository=ChannelRepository(table),
        ivs=IvsGateway(clients.ivs),
        channel_limit=limit,
        recording_configuration_arn=None,
        stream_keys=cipher,
    )


def in_memory(backend: ChannelsBackend, recorded: RecordingTable) -> ChannelsBackend:
    """The same backend (its stream-key cipher already holds the data key) reading from memory."""
    return dataclasses.replace(backend, repository=ChannelRepository(MemoryTable(recorded)))


def context_for(backend: ChannelsBackend, caller: Caller) -> Context:
    """What ChannelsGraphQL.get_context builds for a verified caller: fresh DataLoaders included."""
    return Context(request_id="bench", backend=backend, loaders=build_loaders(backend.repository), caller=caller)


class PhaseTimer(SchemaExtension):
    """Times the phases of one execution into `sink`. Put first in the extensions, it wraps the others'
    hooks too (a parser cache's lookup counts as parsing, a validation cache's as validation)."""

    def __init__(self, sink: list[dict[str, float]]) -> None:
        super().__init__()
        self.sink = sink
        self.phases: dict[str, float] = {}

    def _timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.phases[phase] = time.perf_counter() - started

    def on_operation(self) -> Iterator[None]:
        yield from self._timed("total")
        self.sink.append(self.phases)

    def on_parse(self) -> Iterator[None]:
        yield from self._timed("parse")

    def on_validate(self) -> Iterator[None]:
        yield from self._timed("validate")

    def on_execute(self) -> Iterator[None]:
        yield from self._timed("execute")


def timed(schema: strawberry.Schema, sink: list[dict[str, float]]) -> strawberry.Schema:
    """`schema` with a PhaseTimer around its own extensions."""
    schema.extensions = (functools.partial(PhaseTimer, sink), *schema.extensions)
    return schema
