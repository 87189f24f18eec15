"""Every AWS call the code makes, recorded through botocore's event system, and what IAM authorises for it.

`AwsCallRecorder.installed()` wraps `botocore.session.Session.create_client` (botocore's public API) so
that every client made meanwhile -- data/clients.py builds them all, lazily or not, and any client a
future change adds -- reports each call: `before-parameter-build` gives the operation and its
parameters as the code passed them, `after-call` the answer (the ARNs IVS gives what it creates). Each
call is attributed to the function acting at the time (`acting_as`) and to the code that made it (the
innermost frames of the service's own packages on the stack).

`iam_requests` turns a call into the authorisations IAM makes for it, with the context keys the
template's conditions read: `dynamodb:LeadingKeys` (the partition keys named), the index in the
resource ARN, `aws:ResourceTag/*` of the IVS resource acted on (the tags the recorded calls gave it),
`aws:RequestTag/*` and `aws:TagKeys` of tags in the request, and `kms:EncryptionContext:*`.
Rules from AWS's Service Authorization Reference (DynamoDB, IVS, KMS, SQS) and the DynamoDB
Developer Guide ("Using IAM policy conditions for fine-grained access control"):

- TransactWriteItems and TransactGetItems have no action of their own: each item is authorised as the
  PutItem / UpdateItem / DeleteItem / ConditionCheckItem / GetItem it is.
- BatchGetItem and BatchWriteItem are their own actions, with every partition key of a table's
  requests in `dynamodb:LeadingKeys`.
- A Query on an index is authorised on `table/<name>/index/<index>`; on the table, on the table.
- DynamoDB Streams' calls are `dynamodb:` actions on the stream's ARN (`table/<name>/stream/<label>`).
- IVS: each action is authorised on the resource types AWS's policy data gives it (as cfn-lint ships
  it: CreateChannel on the channel and the stream key it makes, DeleteChannel on the channel and
  its key, ListStreams on channels); the ARN is the one the request or its answer names, else
  every resource of the type (`channel/*`). A create with tags needs ivs:TagResource too.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session

from tests.deploy.iam_policy import IamRequest

ROOT = Path(__file__).resolve().parents[2]
# The packages whose frames name "the code that made the call" (tests and botocore are not).
SERVICE_PACKAGES = ("app", "data", "domain", "resolvers", "schema", "services", "server.py")
_NOT_THE_CALLER = ("data/clients.py",)  # LazyClient's __getattr__: a door, not a caller
PARTITION_KEY = "pk"  # data/table.py: the platform table's partition key


@dataclass
class AwsCall:
    function: str
    service: str
    operation: str
    params: dict[str, Any]
    origin: str
    response: dict[str, Any] | None = None

    def describe(self) -> str:
        return f"{self.service}.{self.operation} by {self.function}, from {self.origin}"


@dataclass
class AwsCallRecorder:
    """The calls of every client made while installed; `function` names who is acting."""

    calls: list[AwsCall] = field(default_factory=list)
    function: str = "test set-up"
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # resource ARN -> its tags
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def installed(self) -> Iterator[AwsCallRecorder]:
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build", recorder._before)
            client.meta.events.register("after-call", recorder._after)
            return client

        botocore.session.Session.create_client = create_client
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original

    @contextlib.contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        previous, self.function = self.function, function
        try:
            yield
        finally:
            self.function = previous

    def of(self, function: str) -> list[AwsCall]:
        return [call for call in self.calls if call.function == function]

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        call = AwsCall(self.function, model.service_model.endpoint_prefix, model.name, dict(params), _origin())
        context["recorded_call"] = call
        with self._lock:
            self.calls.append(call)

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = context.get("recorded_call")
        if call is None:
            return
        call.response = parsed
        if call.service == "ivs" and "Error" not in parsed:
            self._remember_tags(call, parsed)

    def _remember_tags(self, call: AwsCall, parsed: dict[str, Any]) -> None:
        tags = call.params.get("tags") or {}
        if call.operation == "CreateChannel":
            self.tags[parsed["channel"]["arn"]] = dict(tags)
            self.tags.setdefault(parsed["streamKey"]["arn"], {})  # IVS tags the channel, not its key
        elif call.operation == "CreateStreamKey":
            self.tags[parsed["streamKey"]["arn"]] = dict(tags)
        elif call.operation == "TagResource":
            self.tags.setdefault(call.params["resourceArn"], {}).update(tags)


def _origin() -> str:
    """The innermost frames of the service's own code: `data/ivs.py:190 create_stream_key < ...`."""
    frames = []
    for frame in reversed(traceback.extract_stack()):
        try:
            relative = Path(frame.filename).resolve().relative_to(ROOT).as_posix()
        except ValueError:
            continue
        if relative.startswith(SERVICE_PACKAGES) and not relative.startswith(_NOT_THE_CALLER):
            frames.append(f"{relative}:{frame.lineno} {frame.name}")
        if len(frames) == 3:
            break
    return " < ".join(frames) or "no service frame (a test's own call)"


# --- What IAM authorises for a call ---------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """The account the calls went to, and the KMS key a Decrypt without KeyId opened."""

    region: str
    account: str
    default_kms_key: str = ""
    tags: dict[str, dict[str, str]] = field(default_factory=dict)


def iam_requests(call: AwsCall, where: Where) -> list[IamRequest]:
    build = {"dynamodb": _dynamodb, "streams.dynamodb": _dynamodb_streams, "ivs": _ivs, "kms": _kms,
             "sqs": _sqs}.get(call.service)
    if build is None:
        return [IamRequest(f"{call.service}:{call.operation}", "*")]
    return build(call, where)


def _table_arn(where: Where, table: str) -> str:
    return f"arn:aws:dynamodb:{where.region}:{where.account}:table/{table}"


def _pk(key: dict[str, Any]) -> str:
    return str(key[PARTITION_KEY]["S"])


def _dynamodb(call: AwsCall, where: Where) -> list[IamRequest]:
    params, operation = call.params, call.operation

    def item(action: str, table: str, keys: list[str]) -> IamRequest:
        return IamRequest(f"dynamodb:{action}", _table_arn(where, table), {"dynamodb:LeadingKeys": tuple(keys)})

    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [item(operation, params["TableName"], [_pk(params["Key"])])]
    if operation == "PutItem":
        return [item(operation, params["TableName"], [_pk(params["Item"])])]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        requests = []
        for entry in params["TransactItems"]:
            ((kind, request),) = entry.items()
            action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                      "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}[kind]
            requests.append(item(action, request["TableName"], [_pk(request.get("Item") or request["Key"])]))
        return requests
    if operation == "BatchGetItem":
        return [item(operation, table, [_pk(key) for key in request["Keys"]])
                for table, request in params["RequestItems"].items()]
    if operation == "BatchWriteItem":
        return [item(operation, table, [_pk((r.get("PutRequest") or {}).get("Item") or r["DeleteRequest"]["Key"])
                                        for r in requests])
                for table, requests in params["RequestItems"].items()]
    if operation == "Query":
        arn = _table_arn(where, params["TableName"])
        if params.get("IndexName"):
            return [IamRequest("dynamodb:Query", f"{arn}/index/{params['IndexName']}")]
        return [IamRequest("dynamodb:Query", arn, {"dynamodb:LeadingKeys": (_queried_partition(params),)})]
    if "TableName" in params:
        return [IamRequest(f"dynamodb:{operation}", _table_arn(where, params["TableName"]))]
    return [IamRequest(f"dynamodb:{operation}", "*")]


def _dynamodb_streams(call: AwsCall, where: Where) -> list[IamRequest]:
    """DynamoDB Streams' actions are DynamoDB's, on the stream's ARN. GetRecords names only an iterator,
    which begins with its stream's ARN (`<stream ARN>|1|<position>`, as DynamoDB Streams gives it)."""
    params = call.params
    arn = params.get("StreamArn") or str(params.get("ShardIterator", "")).split("|", 1)[0]
    assert arn.startswith("arn:"), f"{call.operation} names no stream: {params}"
    return [IamRequest(f"dynamodb:{call.operation}", arn)]


def _queried_partition(params: dict[str, Any]) -> str:
    """The partition key value a table Query names (`#pk = :pk` in its key condition)."""
    names = params.get("ExpressionAttributeNames", {})
    for name, value in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params["KeyConditionExpression"]):
        if names.get(name, name) == PARTITION_KEY:
            return str(params["ExpressionAttributeValues"][value]["S"])
    raise AssertionError(f"no partition key in the key condition {params['KeyConditionExpression']!r}")


def _resource_tags(where: Where, arn: str) -> dict[str, str | tuple[str, ...]]:
    return {f"aws:ResourceTag/{key}": value for key, value in where.tags.get(arn, {}).items()}


def _request_tags(tags: dict[str, str]) -> dict[str, str | tuple[str, ...]]:
    if not tags:
        return {}
    return {**{f"aws:RequestTag/{key}": value for key, value in tags.items()}, "aws:TagKeys": tuple(tags)}


def _ivs(call: AwsCall, where: Where) -> list[IamRequest]:
    """One authorisation per resource type the action names in IAM's data (cfn-lint ships AWS's
    policy data): the ARN the request or its answer names for that type, else every one (`type/*`)."""
    params, operation, response = call.params, call.operation, call.response or {}
    action = f"ivs:{operation}"
    tags = _request_tags(params.get("tags") or {})
    named = {
        "Channel": params.get("channelArn") or response.get("channel", {}).get("arn")
        or (params.get("arn") if ":channel/" in params.get("arn", "") else None),
        "Stream-Key": response.get("streamKey", {}).get("arn")
        or (params.get("arn") if ":stream-key/" in params.get("arn", "") else None),
    }
    if "resourceArn" in params:
        named = {"Channel" if ":channel/" in params["resourceArn"] else "Stream-Key": params["resourceArn"]}
    requests = []
    for kind in _ivs_resource_types(operation) or ["*"]:
        if kind == "*":
            requests.append(IamRequest(action, "*", tags))
            continue
        arn = named.get(kind) or f"arn:aws:ivs:{where.region}:{where.account}:{kind.lower()}/*"
        created = operation.startswith("Create")
        requests.append(IamRequest(action, arn, {**({} if created else _resource_tags(where, arn)), **tags}))
    if tags and operation.startswith("Create"):
        requests += [IamRequest("ivs:TagResource", request.resource, tags) for request in requests[:1]]
    return requests


@functools.cache
def _ivs_policy_data() -> dict[str, Any]:
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    return dict(load_resource(AdditionalSpecs, "Policies.json")["ivs"]["Actions"])


def _ivs_resource_types(operation: str) -> list[str]:
    """The resource types IAM authorises the action on (Channel, Stream-Key); empty: none (`*`)."""
    return [kind for kind in _ivs_policy_data()[operation.lower()].get("Resources", [])
            if kind in ("Channel", "Stream-Key")]


def _kms(call: AwsCall, where: Where) -> list[IamRequest]:
    key = call.params.get("KeyId") or where.default_kms_key
    context: dict[str, str | tuple[str, ...]] = {
        f"kms:EncryptionContext:{name}": value for name, value in (call.params.get("EncryptionContext") or {}).items()
    }
    if call.params.get("EncryptionContext"):
        context["kms:EncryptionContextKeys"] = tuple(call.params["EncryptionContext"])
    return [IamRequest(f"kms:{call.operation}", key, context)]


def _sqs(call: AwsCall, where: Where) -> list[IamRequest]:
    url = call.params.get("QueueUrl", "")
    name = url.rstrip("/").rsplit("/", 1)[-1] if url else "*"
    return [IamRequest(f"sqs:{call.operation}", f"arn:aws:sqs:{where.region}:{where.account}:{name}")]
