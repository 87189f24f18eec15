"""botocore's parser of JSON-protocol responses (DynamoDB's, KMS's), with each output shape compiled once.

botocore reads a JSON response by walking its output shape for every value it holds: a page of 20
channels is ~600 DynamoDB attribute values, each a structure of ten members (S, N, B, M, L...) that
botocore's structure handler visits one by one, looked up by name on the parser (`_handle_<type>`). That walk is
~60% of the CPU a BatchGetItem or Query costs the service (issue #12). Here the walk is worked out
once per shape, as nested functions that do exactly what botocore's handlers do (JSONParser and its
BaseJSONParser and ResponseParser), and nothing where a handler returns its value unchanged:

- a structure keeps its modelled members that are present and not null, under their member names (a
  value of one key, as each DynamoDB attribute value is, is looked up by that key rather than by
  visiting every member); a tagged union is left to botocore's own structure handler;
- a list is copied, its nulls kept; a map is copied, its keys and values converted; a blob is
  base64-decoded and a timestamp parsed by the parser's own blob and timestamp parsers; every other
  type is the JSON value itself.

Error responses, event streams and everything around the body (ResponseMetadata, modelled error
fields) stay botocore's own code. tests/data/test_json_responses.py compares both parsers on every
output shape of the services this one calls, on generated bodies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.model import Shape, StructureShape
from botocore.parsers import PROTOCOL_PARSERS, JSONParser, ResponseParserFactory

# Compiled shapes kept per parser at most (a client has one output shape per operation it calls, and
# botocore caches them; the bound only stops a shape made afresh for each response from piling up).
MAX_COMPILED_SHAPES = 512

# A compiled shape: converts one JSON value as botocore's handler for that shape would. A shape whose
# handler returns the value as it is (strings, numbers, booleans) compiles to None: nothing to call.
Converter = Callable[[Any], Any]


class CompiledJSONParser(JSONParser):
    """JSONParser whose bodies are converted by their compiled output shapes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._compiled: dict[int, tuple[Shape, Converter]] = {}
        self._lock = threading.Lock()

    def _handle_json_body(self, raw_body: bytes, shape: Shape) -> Any:
        return self.converter(shape)(self._parse_body_as_json(raw_body))

    def converter(self, shape: Shape) -> Converter:
        """The compiled form of `shape` (an operation's output or error shape), built on first use. The
        shape is kept beside it: botocore caches a service's operation models, so its id stays its own."""
        found = self._compiled.get(id(shape))
        if found is None:
            with self._lock:
                found = self._compiled.get(id(shape))
                if found is None:
                    if len(self._compiled) >= MAX_COMPILED_SHAPES:
                        self._compiled.clear()
                    found = (shape, _Compiler(self).whole(shape))
                    self._compiled[id(shape)] = found
        return found[1]


class _Compiler:
    """Turns one shape tree into converters; shapes are looked up by name (a service's names are unique,
    and no member-level trait changes how a JSON value is read), so that a recursive shape
    (AttributeValue holds maps of AttributeValue) is compiled once."""

    def __init__(self, parser: CompiledJSONParser) -> None:
        self.parser = parser
        self.done: dict[str, Converter | None] = {}
        self.pending: dict[str, list[Converter | None]] = {}  # structures being compiled: filled once done

    def whole(self, shape: Shape) -> Converter:
        compiled = self.of(shape)
        return compiled if compiled is not None else _unchanged

    def of(self, shape: Shape) -> Converter | None:
        name = shape.name
        if name in self.done:
            return self.done[name]
        if name in self.pending:  # a shape that holds itself: call through its cell, filled later
            cell = self.pending[name]
            return lambda value: cell[0](value)  # type: ignore[misc] # filled before any response is read
        compiled = self._compile(shape)
        self.done[name] = compiled
        return compiled

    def _compile(self, shape: Shape) -> Converter | None:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            cell: list[Converter | None] = [None]
            self.pending[shape.name] = cell
            compiled = self._structure(shape)
            cell[0] = compiled
            del self.pending[shape.name]
            return compiled
        if kind == "list":
            return _list(self.of(shape.member))
        if kind == "map":
            return _map(self.of(shape.key), self.of(shape.value))
        if kind == "blob":
            return self.parser._blob_parser
        if kind == "timestamp":
            return self.parser._timestamp_parser
        return None  # BaseJSONParser's _default_handle: the value itself

    def _structure(self, shape: StructureShape) -> Converter:
        if shape.is_document_type:
            return _unchanged
        if shape.is_tagged_union:  # none in the services called here; botocore's own handler, as it is
            parser, union = self.parser, shape
            return lambda value: parser._handle_structure(union, value)
        return _plain_structure([
            (name, member.serialization.get("name", name), self.of(member)) for name, member in shape.members.items()
        ])


def _unchanged(value: Any) -> Any:
    return value


def _list(member: Converter | None) -> Converter:
    if member is None:
        return list  # botocore copies the list item by item, nulls included

    def convert(node: Any) -> Any:
        return [None if item is None else member(item) for item in node]

    return convert


def _map(key: Converter | None, value: Converter | None) -> Converter:
    if key is None and value is None:
        return _copied_map
    convert_key = key or _unchanged
    convert_value = value or _unchanged

    def convert(node: Any) -> Any:
        return {convert_key(k): convert_value(v) for k, v in node.items()}

    return convert


def _copied_map(node: Any) -> Any:
    return dict(node.items())


def _plain_structure(members: list[tuple[str, str, Converter | None]]) -> Converter:
    by_json_name = {json_name: (name, member) for name, json_name, member in members}
    one_member_shortcut = len(by_json_name) == len(members)  # no two members read the same key

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if one_member_shortcut and type(value) is dict and len(value) == 1:
            # One key (every DynamoDB attribute value: {"S": ...}): its member, if the model has it.
            ((key, raw),) = value.items()
            found = by_json_name.get(key)
            if found is None or raw is None:
                return {}
            name, member = found
            return {name: raw if member is None else member(raw)}
        parsed = {}
        for name, json_name, member in members:
            raw = value.get(json_name)
            if raw is not None:
                parsed[name] = raw if member is None else member(raw)
        return parsed

    return convert


class CompiledResponseParsers(ResponseParserFactory):
    """botocore's parser factory, one CompiledJSONParser for the JSON protocol (it is stateless apart
    from its compiled shapes, and thread-safe), botocore's own parsers for the others."""

    def __init__(self) -> None:
        super().__init__()
        self._json: CompiledJSONParser | None = None
        self._lock = threading.Lock()

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name != "json":
            return super().create_parser(protocol_name)
        if self._json is None:
            with self._lock:
                if self._json is None:
                    self._json = CompiledJSONParser(**self._defaults)
        return self._json


assert PROTOCOL_PARSERS["json"] is JSONParser  # what CompiledJSONParser stands in for
