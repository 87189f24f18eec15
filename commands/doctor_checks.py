"""The checks of `shelcaster-channels doctor` (commands.doctor runs them): one function per thing to check,
each answering a `Check` (OK, WARN, or FAIL with its fix)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from app.settings import Settings
from data.index_layout import (
    LISTING_INDEXES,
    REPLACEMENT_SUFFIX,
    ShapeProblem,
    indexes_of,
    required_indexes,
    serving_index,
    shape_problem,
)
from data.index_migration import REPLACE
from data.stream_specification import VIEW_TYPE, stream_view_type, switch_view_type_fix
from data.table import COUNTER_KEY, EXPIRY_ATTRIBUTE

Status = Literal["OK", "WARN", "FAIL"]
Printer = Callable[[str], None]
FetchJson = Callable[[str, float], Any]

PROVISION = "run `shelcaster-channels provision`"
JWKS_TIMEOUT_SECONDS = 5.0
IVS_SERVICE_CODE = "ivs"
# The IVS quota on the number of channels per account and region, found by name: Service Quotas
# documents ListServiceQuotas and the QuotaName as the way to find a quota's code, and IVS's
# documentation does not publish the code.
CHANNELS_QUOTA_NAME = "channels"
ACCESS_DENIED_CODES = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str
    fix: str | None = None

    def lines(self) -> list[str]:
        lines = [f"{self.status:<4}  {self.name}: {self.detail}"]
        if self.fix:
            lines.append(f"      fix: {self.fix}")
        return lines


def ok(name: str, detail: str) -> Check:
    return Check("OK", name, detail)


def warn(name: str, detail: str) -> Check:
    return Check("WARN", name, detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check("FAIL", name, detail, fix)


def not_checked(name: str, reason: str) -> Check:
    return warn(name, f"not checked: {reason}")


@dataclass(frozen=True)
class Target:
    """What the checks run against: the clients, and what the backend actually uses.

    In embedded mode bootstrap supplies a KMS key, a stand-in recording configuration and a dev
    signing key of its own; `service_quotas` is None there (the emulator has no IVS quotas).
    """

    dynamodb: Any
    ivs: Any
    kms: Any
    sts: Any
    service_quotas: Any | None
    embedded: bool
    kms_key_id: str | None
    recording_configuration_arn: str | None
    dev_jwks: dict[str, Any] | None = None


def _error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        # moto (and proxies) may answer an unknown operation with an HTML page: keep the line short.
        if message.lstrip().startswith("<"):
            return f"HTTP {exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', code)}"
        return f"{code}: {message}" if message and message != code else code
    return str(exc) or type(exc).__name__


def _code(exc: Exception) -> str | None:
    return str(exc.response.get("Error", {}).get("Code")) if isinstance(exc, ClientError) else None


# The checks


def check_credentials(sts: Any, settings: Settings, embedded: bool) -> Check:
    name = "credentials"
    try:
        identity = sts.get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError) as exc:
        return fail(
            name,
            f"no usable AWS credentials ({exc})",
            "give the process credentials: a role (instance, task or Lambda), AWS_PROFILE, "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    except ClientError as exc:
        return fail(name, f"STS refused the credentials: {_error(exc)}",
                    "the credentials are invalid or expired: refresh them (e.g. `aws sso login`) or use other keys")
    except BotoCoreError as exc:
        return fail(name, f"STS cannot be reached in region {settings.region}: {exc}",
                    "check AWS_REGION, the network and AWS_ENDPOINT_URL if set")
    where = "the embedded emulator" if embedded else f"region {settings.region}"
    endpoint = f", endpoint {settings.aws_endpoint_url}" if settings.aws_endpoint_url and not embedded else ""
    return ok(name, f"account {identity.get('Account')} as {identity.get('Arn')}, {where}{endpoint}")


def check_table(dynamodb: Any, table: str) -> tuple[Check, dict[str, Any] | None]:
    name = "table"
    try:
        description = dynamodb.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return fail(name, f"{table} does not exist",
                        f"check CHANNELS_TABLE (now '{table}'), or {PROVISION} to create it"), None
        return fail(name, f"{table} cannot be described: {_error(exc)}",
                    "allow dynamodb:DescribeTable on the table for these credentials"), None
    except BotoCoreError as exc:
        return fail(name, f"DynamoDB cannot be reached: {exc}", "check AWS_REGION and the network"), None
    status = description.get("TableStatus")
    items = description.get("ItemCount")
    if status == "ACTIVE":
        return ok(name, f"{table} ACTIVE ({items} items, as DynamoDB last counted)"), description
    if status == "UPDATING":
        # Still readable and writable: DynamoDB reports UPDATING while an index is added.
        return warn(name, f"{table} UPDATING (usable; an update such as a new index is in progress)"), description
    return fail(name, f"{table} is {status}", "wait for the table to become ACTIVE, then run doctor again"), description


def check_indexes(description: dict[str, Any], table: str, entity_index: str) -> list[Check]:
    present = indexes_of(description)
    return [_check_index(present, description, wanted, table) for wanted in required_indexes(entity_index)]


def _check_index(present: dict[str, dict[str, Any]], description: dict[str, Any], wanted: dict[str, Any],
                 table: str) -> Check:
    index_name = wanted["IndexName"]
    name = f"index {index_name}"
    index = present.get(index_name)
    serving = serving_index(description, wanted) if index_name in LISTING_INDEXES else None
    replacement = serving[0] if serving is not None and serving[0] != index_name else None
    if replacement is not None:
        # A misshapen listing index being replaced (data.index_migration): listings read the replacement.
        now = "missing" if index is None else (
            f"{index.get('IndexStatus')}, {(shape_problem(index, wanted) or _NO_PROBLEM).detail}")
        return warn(name, f"{now}; listings read {replacement} meanwhile (finish: `{REPLACE}`)")
    if index is None:
        return fail(name, f"missing on {table}", PROVISION)
    problem = shape_problem(index, wanted)
    if problem is not None and problem.keys:
        return fail(name, problem.detail, f"remove or rename that index (or set CHANNELS_ENTITY_INDEX), then {PROVISION}")
    if problem is not None:
        if index_name in LISTING_INDEXES:
            return fail(name, f"{problem.detail}: each listing page reads its channels by key (2 round trips)",
                        f"{PROVISION}: it builds a replacement, listings switch to it")
        return fail(name, problem.detail, f"delete that index (UpdateTable, Delete), then {PROVISION} (it rebuilds it)")
    status = index.get("IndexStatus")
    keys = _keys([(key["AttributeName"], key["KeyType"]) for key in index.get("KeySchema", [])])
    if status != "ACTIVE":
        return fail(name, f"{status} (not yet queryable)", f"wait for it to become ACTIVE ({PROVISION} waits for it)")
    projection = index.get("Projection", {}).get("ProjectionType")
    leftover = index_name + REPLACEMENT_SUFFIX if index_name in LISTING_INDEXES else None
    if leftover in present:
        return warn(name, f"ACTIVE, keys {keys}, projects {projection}; {leftover} is no longer needed "
                          f"(`{REPLACE}` removes it)")
    return ok(name, f"ACTIVE, keys {keys}, projects {projection}")


_NO_PROBLEM = ShapeProblem(False, "of the right shape")


def _keys(keys: list[tuple[str, str]]) -> str:
    return ", ".join(f"{attribute} ({kind})" for attribute, kind in keys)


def check_stream(description: dict[str, Any], table: str) -> Check:
    """The table's stream, the feed of live updates (docs/live-updates.md), from DescribeTable's answer."""
    name = "stream"
    view_type = stream_view_type(description)
    if view_type is None:
        # Not a failure: a deployment with no serving container has no live updates to feed (provision
        # --without-stream); one that serves subscriptions answers them UPSTREAM_ERROR until it is enabled.
        return warn(name, f"{table} has none, so this deployment has no live updates (subscriptions), as "
                          f"`provision --without-stream` leaves it; to serve them, {PROVISION} to enable it")
    if view_type != VIEW_TYPE:
        return fail(name, f"{view_type}: live updates need {VIEW_TYPE} (the old and new image of each change)",
                    switch_view_type_fix(table))
    return ok(name, f"{VIEW_TYPE}, {description.get('LatestStreamArn')}")


def check_capacity_counter(dynamodb: Any, table: str, limit: int) -> Check:
    name = "capacity counter"
    key = {name_: {"S": value} for name_, value in COUNTER_KEY.items()}
    try:
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    except (ClientError, BotoCoreError) as exc:
        return fail(name, f"cannot be read: {_error(exc)}", "allow dynamodb:GetItem on the table for these credentials")
    if item is None:
        return fail(name, f"missing (pk {COUNTER_KEY['pk']}, sk {COUNTER_KEY['sk']}): creates are refused without it",
                    PROVISION)
    counts = {field: int(item.get(field, {}).get("N", "0")) for field in ("used", "idle", "live", "offline")}
    detail = (f"used {counts['used']} of CHANNELS_LIMIT {limit} "
              f"(idle {counts['idle']}, live {counts['live']}, offline {counts['offline']})")
    if counts["used"] > limit:
        return warn(name, f"{detail}: more channels than the limit; creates are refused until some are deleted")
    return ok(name, detail)


def check_ttl(dynamodb: Any, table: str) -> Check:
    name = "ttl"
    try:
        ttl = dynamodb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    except (ClientError, BotoCoreError) as exc:
        return Check("WARN", name, f"cannot be read: {_error(exc)}",
                     "allow dynamodb:DescribeTimeToLive on the table for these credentials")
    status, attribute = ttl.get("TimeToLiveStatus", "DISABLED"), ttl.get("AttributeName")
    if status in {"ENABLED", "ENABLING"} and attribute == EXPIRY_ATTRIBUTE:
        return ok(name, f"{status} on '{EXPIRY_ATTRIBUTE}': DynamoDB deletes expired idempotency records")
    # Not a failure: idempotency records expire logically after 24 h; without TTL they only stay in the table.
    if status in {"ENABLED", "ENABLING"}:
        return Check("WARN", name, f"{status} on '{attribute}', not '{EXPIRY_ATTRIBUTE}': expired idempotency "
                     "records stay in the table", f"TTL takes one attribute per table: move it to '{EXPIRY_ATTRIBUTE}' "
                     "if nothing else relies on it")
    return Check("WARN", name, f"{status}: expired idempotency records stay in the table (the service ignores them)",
                 f"{PROVISION} to turn TTL on for '{EXPIRY_ATTRIBUTE}'")


def check_ivs(ivs: Any) -> Check:
    name = "ivs"
    try:
        ivs.list_channels(maxResults=1)
    except ClientError as exc:
        if _code(exc) in ACCESS_DENIED_CODES:
            return warn(name, f"reachable, but these credentials may not list channels ({_code(exc)}); "
                              "the service itself needs ivs:CreateChannel, ivs:DeleteChannel, ivs:TagResource")
        return fail(name, f"ListChannels failed: {_error(exc)}", "check that IVS is offered in AWS_REGION")
    except BotoCoreError as exc:
        return fail(name, f"IVS cannot be reached: {exc}",
                    "check AWS_REGION (IVS runs in a few regions only, e.g. us-east-1, us-west-2, eu-west-1)")
    return ok(name, "reachable (ListChannels answered)")


def check_channel_quota(service_quotas: Any | None, limit: int) -> Check:
    name = "channel quota"
    if service_quotas is None:
        return ok(name, f"the embedded emulator has no IVS quota; capacity uses CHANNELS_LIMIT {limit}")
    try:
        quota = _channels_quota(service_quotas)
    except (ClientError, BotoCoreError) as exc:
        return warn(name, f"Service Quotas unavailable ({_error(exc)}); capacity uses CHANNELS_LIMIT {limit} unchecked "
                          "(allow servicequotas:ListServiceQuotas to compare them)")
    if quota is None:
        return warn(name, f"Service Quotas lists no IVS channels quota; capacity uses CHANNELS_LIMIT {limit} unchecked")
    quota_name, value = quota
    if limit > value:
        return warn(name, f"CHANNELS_LIMIT {limit} exceeds the IVS quota '{quota_name}' of {value:g}: creates beyond "
                          f"{value:g} fail in IVS; lower CHANNELS_LIMIT or request a quota increase")
    return ok(name, f"IVS quota '{quota_name}' is {value:g}; CHANNELS_LIMIT {limit} fits")


def _channels_quota(service_quotas: Any) -> tuple[str, float] | None:
    """The applied 'Channels' quota of IVS, else its default; None when neither lists one."""
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        found = []
        for page in service_quotas.get_paginator(operation).paginate(ServiceCode=IVS_SERVICE_CODE):
            for quota in page.get("Quotas", []):
                quota_name = str(quota.get("QuotaName", ""))
                if CHANNELS_QUOTA_NAME in quota_name.lower() and "Value" in quota:
                    found.append((quota_name, float(quota["Value"])))
        if found:
            # "Channels" itself rather than a longer name that mentions channels.
            return min(found, key=lambda quota: (quota[0].lower() != CHANNELS_QUOTA_NAME, len(quota[0])))
    return None


def check_recording_configuration(ivs: Any, arn: str | None, *, embedded: bool, configured: bool) -> Check:
    name = "recording configuration"
    if arn is None:
        return warn(name, "CHANNELS_RECORDING_CONFIGURATION_ARN is not set: channels are created without recording "
                          "(recordingEnabled reads false)")
    if embedded and not configured:
        return ok(name, f"embedded stand-in {arn} (the emulator has no recording configurations; nothing is recorded)")
    try:
        configuration = ivs.get_recording_configuration(arn=arn)["recordingConfiguration"]
    except ClientError as exc:
        if embedded:
            return warn(name, f"{arn} cannot be checked against the embedded emulator ({_error(exc)})")
        if _code(exc) == "ResourceNotFoundException":
            return fail(name, f"{arn} not found in region", "set CHANNELS_RECORDING_CONFIGURATION_ARN to a recording "
                        "configuration of this account and region (the stack's RecordingConfigurationArn output)")
        if _code(exc) in ACCESS_DENIED_CODES:
            return warn(name, f"{arn}: these credentials may not read it ({_code(exc)})")
        return fail(name, f"{arn}: {_error(exc)}", "check CHANNELS_RECORDING_CONFIGURATION_ARN")
    except BotoCoreError as exc:
        return fail(name, f"IVS cannot be reached: {exc}", "check AWS_REGION and the network")
    state = configuration.get("state")
    if state != "ACTIVE":
        return fail(name, f"{arn} is {state}", "use an ACTIVE recording configuration (recreate it if CREATE_FAILED)")
    bucket = configuration.get("destinationConfiguration", {}).get("s3", {}).get("bucketName")
    return ok(name, f"{arn} ACTIVE" + (f", recording to s3://{bucket}" if bucket else ""))


def check_kms_key(kms: Any, key_id: str | None, *, embedded: bool) -> Check:
    name = "kms key"
    if key_id is None:
        return warn(name, "CHANNELS_KMS_KEY_ID is not set: stream keys are stored in plain text")
    try:
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as exc:
        if _code(exc) == "NotFoundException":
            return fail(name, f"{key_id} not found", "set CHANNELS_KMS_KEY_ID to a key of this account and region "
                        "(the stack's KmsKeyArn output)")
        if _code(exc) in ACCESS_DENIED_CODES:
            return warn(name, f"{key_id}: these credentials may not describe it ({_code(exc)}); "
                              "the service itself needs kms:GenerateDataKey and kms:Decrypt")
        return fail(name, f"{key_id}: {_error(exc)}", "check CHANNELS_KMS_KEY_ID")
    except BotoCoreError as exc:
        return fail(name, f"KMS cannot be reached: {exc}", "check AWS_REGION and the network")
    state = metadata.get("KeyState")
    if not metadata.get("Enabled") or state != "Enabled":
        return fail(name, f"{key_id} is {state}: stream keys cannot be sealed or opened",
                    "enable the key (`aws kms enable-key`), or cancel its deletion (`aws kms cancel-key-deletion`)")
    # AWS always reports both; the emulator leaves out what create_key was not given (AWS's defaults).
    usage, spec = metadata.get("KeyUsage") or "ENCRYPT_DECRYPT", metadata.get("KeySpec") or "SYMMETRIC_DEFAULT"
    if (usage, spec) != ("ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT"):
        return fail(name, f"{key_id} is a {spec} {usage} key",
                    "use a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT): data keys come from it")
    origin = "made by the embedded emulator at start" if embedded else metadata.get("Arn")
    return ok(name, f"{key_id} Enabled ({origin}); stream keys are encrypted at rest")


def fetch_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # http(s): checked by load_settings
        return json.load(response)


def check_jwks(settings: Settings, dev_jwks: dict[str, Any] | None, fetch: FetchJson = fetch_json) -> Check:
    name = "jwks"
    if dev_jwks is not None:
        rsa = [key for key in dev_jwks.get("keys", []) if key.get("kty") == "RSA"]
        return ok(name, f"embedded mode: {len(rsa)} RSA dev key from {settings.dev_dir}, "
                        "served by the service at /.well-known/jwks.json")
    url = settings.jwks_url
    fix = ("check CHANNELS_AUTH_ISSUER (https://cognito-idp.<region>.amazonaws.com/<user pool id>) "
           "or set CHANNELS_AUTH_JWKS_URL")
    if url is None:
        return fail(name, "no JWKS URL (CHANNELS_AUTH_ISSUER is not set)", fix)
    try:
        document = fetch(url, JWKS_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        return fail(name, f"{url} answered HTTP {exc.code}", fix)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return fail(name, f"{url} cannot be fetched: {reason}", f"{fix}; check the network")
    except ValueError:
        return fail(name, f"{url} is not a JSON document", fix)
    keys = document.get("keys") if isinstance(document, dict) else None
    rsa = [key for key in keys or [] if isinstance(key, dict) and key.get("kty") == "RSA" and key.get("n") and key.get("e")]
    if not rsa:
        return fail(name, f"{url} has no RSA signing key", fix)
    kids = ", ".join(str(key.get("kid")) for key in rsa)
    return ok(name, f"{len(rsa)} RSA key{'s' if len(rsa) > 1 else ''} at {url} (kid {kids})")


# Running them
