"""The compiled JSON parser (data/json_responses.py) reads every response exactly as botocore's own.

For every operation of every service the service's sessions make clients for (DynamoDB, IVS, KMS, SQS:
the JSON-protocol ones), bodies are generated from the operation's output shape and from its error
shapes, well-formed and not: members missing, explicit nulls, keys the model does not know, tagged
structures of one key (as each DynamoDB AttributeValue is), none, two, an unknown one or a `__type`,
nested to depth, values of the wrong kind, blobs and timestamps valid and not. Both parsers must give the same answer, or raise the same
exception.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import string
import zlib
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel, Shape
from botocore.parsers import JSONParser

from data.clients import SERVICES, AwsConnection, build_clients
from data.json_responses import CompiledJSONParser, CompiledResponseParsers

BODIES_PER_SHAPE = 40
MAX_DEPTH = 5


def json_protocol_operations() -> Iterator[tuple[str, OperationModel]]:
    loader = botocore.session.get_session()
    for service in SERVICES:
        model = loader.get_service_model(service)
        if model.resolved_protocol != "json":
            continue
        for name in model.operation_names:
            yield service, model.operation_model(name)


OPERATIONS = list(json_protocol_operations())


class Bodies:
    """Random JSON values shaped (mostly) by a botocore shape."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def text(self) -> str:
        return "".join(self.random.choices(string.ascii_letters + "é-_/", k=self.random.randint(0, 8)))

    def value(self, shape: Shape, depth: int = 0) -> Any:
        chance = self.random.random
        if chance() < 0.03:
            return self.stray(depth)  # a value of the wrong kind
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, depth)
        if kind == "list":
            if depth > MAX_DEPTH:
                return []
            return [None if chance() < 0.1 else self.value(shape.member, depth + 1)  # type: ignore[attr-defined]
                    for _ in range(self.random.randint(0, 3))]
        if kind == "map":
            if depth > MAX_DEPTH:
                return {}
            return {self.text(): None if chance() < 0.05 else self.value(shape.value, depth + 1)  # type: ignore[attr-defined]
                    for _ in range(self.random.randint(0, 3))}
        if kind == "blob":
            return "not base64!" if chance() < 0.05 else base64.b64encode(self.random.randbytes(self.random.randint(0, 9))).decode()
        if kind == "timestamp":
            return self.random.choice([self.random.uniform(0, 2e9), "2026-12-02T10:00:00Z", "2026-12-02T10:00:00.123Z",
                                       self.random.randint(0, 2_000_000_000), "not a time"])
        if kind == "boolean":
            return chance() < 0.5
        if kind in ("integer", "long"):
            return self.random.randint(-(2**40), 2**40)
        if kind in ("double", "float"):
            return self.random.uniform(-1e6, 1e6)
        return self.text()

    def structure(self, shape: Any, depth: int) -> Any:
        chance = self.random.random
        if shape.is_document_type:
            return self.stray(depth)
        members = list(shape.members.items())
        if shape.is_tagged_union:
            count = self.random.choices([1, 0, 2], weights=[0.85, 0.05, 0.1])[0]
            if depth > MAX_DEPTH:  # no deeper than this: a member that holds no union
                members = [(n, m) for n, m in members if m.type_name not in ("structure", "list", "map")] or members[:1]
            chosen = self.random.sample(members, min(count, len(members)))
            body = {member.serialization.get("name", name): self.value(member, depth + 1) for name, member in chosen}
            if chance() < 0.05:
                body = {"UnknownMember" + self.text(): self.text()}
            if chance() < 0.05:
                body["__type"] = self.text()
            if chance() < 0.03:
                body[next(iter(body), "S")] = None
            return body
        body = {}
        for name, member in members:
            if chance() < 0.7:
                body[member.serialization.get("name", name)] = None if chance() < 0.1 else self.value(member, depth + 1)
        if chance() < 0.2:
            body["NotInTheModel" + self.text()] = self.stray(depth)
        return body

    def stray(self, depth: int) -> Any:
        options: list[Any] = [self.text(), self.random.randint(0, 9), None, True, 1.5]
        if depth <= MAX_DEPTH:
            options += [[self.text()], {"k": self.text()}]
        return self.random.choice(options)


def parsed(parser: JSONParser, response: dict[str, Any], shape: Shape) -> tuple[str, Any]:
    try:
        return "answer", parser.parse(copy.deepcopy(response), shape)
    except Exception as error:  # noqa: BLE001 (the same failure is what is compared)
        return "raised", type(error)


def response_of(body: Any, status: int) -> dict[str, Any]:
    return {"status_code": status, "headers": {"x-amzn-RequestId": "r-1"}, "body": json.dumps(body).encode(),
            "context": {"operation_name": "test"}}


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=[f"{s}.{o.name}" for s, o in OPERATIONS])
def test_every_output_and_error_shape_parses_exactly_as_botocore(service: str, operation: OperationModel) -> None:
    compiled = CompiledJSONParser()
    shapes = [(operation.output_shape, 200)] if operation.output_shape is not None else []
    shapes += [(error, 400) for error in operation.error_shapes]
    bodies = Bodies(seed=zlib.crc32(f"{service}.{operation.name}".encode()))
    for shape, status in shapes:
        for _ in range(BODIES_PER_SHAPE):
            body = bodies.value(shape)
            if status >= 300 and isinstance(body, dict):
                body["__type"] = shape.name
            response = response_of(body, status)
            assert parsed(compiled, response, shape) == parsed(JSONParser(), response, shape), (shape.name, body)


def test_nested_attribute_values_blobs_and_unknown_members_as_botocore() -> None:
    model = botocore.session.get_session().get_service_model("dynamodb")
    shape = model.operation_model("GetItem").output_shape
    item = {
        "pk": {"S": "channel#1"}, "n": {"N": "1.50"}, "b": {"B": base64.b64encode(b"\x00\xff").decode()},
        "bs": {"BS": [base64.b64encode(b"a").decode()]}, "ss": {"SS": ["x", "y"]}, "nil": {"NULL": True},
        "m": {"M": {"deep": {"L": [{"M": {"b": {"B": "AAE="}}}, {"BOOL": False}, {"NS": ["1", "2"]}]}}},
        "future": {"Vector": [1, 2]},  # a type this SDK's model does not know: dropped, as botocore drops it
        "typed": {"__type": "x", "S": "kept"},
        "two": {"S": "a", "N": "1"},
    }
    response = response_of({"Item": item, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}, 200)
    kind, answer = parsed(CompiledJSONParser(), response, shape)
    assert (kind, answer) == parsed(JSONParser(), response, shape)
    assert answer["Item"]["m"]["M"]["deep"]["L"][0]["M"]["b"]["B"] == b"\x00\x01"
    assert answer["Item"]["future"] == {}
    assert answer["Item"]["typed"] == {"S": "kept"}
    assert answer["Item"]["two"] == {"S": "a", "N": "1"}
    assert answer["ConsumedCapacity"] == {"TableName": "t", "CapacityUnits": 0.5}


def test_the_service_clients_read_json_responses_with_the_compiled_parser(
    aws_connection: AwsConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies: list[Shape] = []
    original = CompiledJSONParser._handle_json_body

    def counted(self: CompiledJSONParser, raw_body: bytes, shape: Shape) -> Any:
        bodies.append(shape)
        return original(self, raw_body, shape)

    monkeypatch.setattr(CompiledJSONParser, "_handle_json_body", counted)
    client = build_clients(aws_connection).dynamodb
    client.list_tables(Limit=1)
    client.list_tables(Limit=1)
    assert [shape.name for shape in bodies] == ["ListTablesOutput"] * 2
    parsers = CompiledResponseParsers()
    assert parsers.create_parser("json") is parsers.create_parser("json")  # one, its shapes compiled once
    assert not isinstance(parsers.create_parser("rest-json"), CompiledJSONParser)  # IVS: botocore's own
