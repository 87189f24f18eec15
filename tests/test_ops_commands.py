"""`shelcaster-channels doctor` and `shelcaster-channels smoke` (issue 5, items 7 and 8)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from commands.cli import main
from commands.doctor_checks import Check, check_channel_quota, check_jwks, check_kms_key, check_recording_configuration
from app.settings import Settings
from commands.operations import codegen_manifest, load_operations
from app.persisted_documents import sha256_hex
from commands.smoke import run_smoke
from commands.smoke_endpoint import graphql_url
from data.clients import AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.provisioning import provision, required_indexes
from tests.support import CLIENT_ID, ISSUER, JwksServer
from tests.test_cli import ROOT, Served, free_port, service_environment, serving

LINE = re.compile(r"^(OK|WARN|FAIL) +(.+?): (.*)$")
PROVISION_FIX = "      fix: run `shelcaster-channels provision`"
RECORDING_ARN = "arn:aws:ivs:us-east-1:123456789012:recording-configuration/AbCdEf123456"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CHANNELS_* or AWS_* variable from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith(("CHANNELS_", "AWS_")):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str], str]:
    with pytest.raises(SystemExit) as exited:
        main(list(arguments))
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out.splitlines(), captured.err


def checks(lines: list[str]) -> dict[str, tuple[str, str]]:
    """{check: (status, detail)} of doctor's output; every line is a check or a fix."""
    found = {}
    for line in lines:
        if line.startswith("      fix: "):
            continue
        match = LINE.match(line)
        assert match, f"not a check line: {line!r}"
        found[match.group(2)] = (match.group(1), match.group(3))
    return found


INDEX_CHECKS = [f"index {index['IndexName']}" for index in required_indexes("entityType-index")]
ALL_CHECKS = [
    "settings", "credentials", "table", *INDEX_CHECKS, "stream", "capacity counter", "ttl", "ivs", "channel quota",
    "recording configuration", "kms key", "jwks",
]


# doctor


def test_doctor_on_the_embedded_backend_passes_every_check(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    code, lines, err = run_cli(capsys, "doctor")
    found = checks(lines)
    assert (code, err) == (0, "")
    assert list(found) == ALL_CHECKS
    assert {status for status, _ in found.values()} == {"OK"}, lines
    assert found["kms key"][1].endswith("Enabled (made by the embedded emulator at start); stream keys are encrypted at rest")


def test_doctor_reports_wrong_settings_as_fail_lines(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_LIMIT", "0")
    code, lines, err = run_cli(capsys, "doctor")
    assert (code, err) == (1, "")
    assert lines == [
        "FAIL  settings: CHANNELS_LIMIT: Input should be greater than or equal to 1 (got '0').",
        "      fix: correct CHANNELS_LIMIT (README, Configuration)",
        "WARN  other checks: not run until the settings are valid",
    ]


@pytest.fixture
def aws_table(clean_env: pytest.MonkeyPatch, aws_connection: AwsConnection, jwks_server: JwksServer) -> str:
    """CHANNELS_BACKEND=aws against the session's moto server; the table named does not exist yet."""
    table = f"doctor-{uuid.uuid4().hex[:8]}"
    assert aws_connection.endpoint_url is not None
    for name, value in {
        "CHANNELS_BACKEND": "aws",
        "AWS_ENDPOINT_URL": aws_connection.endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CHANNELS_TABLE": table,
        "CHANNELS_AUTH_ISSUER": ISSUER,
        "CHANNELS_AUTH_AUDIENCE": CLIENT_ID,
        "CHANNELS_AUTH_JWKS_URL": jwks_server.url,
    }.items():
        clean_env.setenv(name, value)
    return table


def test_doctor_on_aws_without_the_table_fails_with_the_fix(
    aws_table: str, jwks_server: JwksServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, _ = run_cli(capsys, "doctor")
    found = checks(lines)
    assert code == 1
    assert list(found) == ALL_CHECKS
    table_line = lines.index(f"FAIL  table: {aws_table} does not exist")
    assert lines[table_line + 1] == (
        f"      fix: check CHANNELS_TABLE (now '{aws_table}'), or run `shelcaster-channels provision` to create it"
    )
    assert [name for name, (status, _) in found.items() if status == "FAIL"] == ["table"]
    for name in [*INDEX_CHECKS, "stream", "capacity counter", "ttl"]:
        assert found[name] == ("WARN", "not checked: no table")
    assert found["jwks"] == ("OK", f"1 RSA key at {jwks_server.url} (kid test-key-1)")


def test_doctor_on_aws_passes_the_table_checks_once_provisioned(
    aws_table: str, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    provision(DynamoTable(build_clients(aws_connection).dynamodb, aws_table), "entityType-index")
    code, lines, _ = run_cli(capsys, "doctor")
    found = checks(lines)
    assert code == 0, lines
    assert found["table"][0] == "OK" and found["table"][1].startswith(f"{aws_table} ACTIVE")
    assert all(found[name][0] == "OK" for name in INDEX_CHECKS)
    stream_arn = build_clients(aws_connection).dynamodb.describe_table(TableName=aws_table)["Table"]["LatestStreamArn"]
    assert found["stream"] == ("OK", f"NEW_AND_OLD_IMAGES, {stream_arn}")
    assert found["capacity counter"] == ("OK", "used 0 of CHANNELS_LIMIT 20 (idle 0, live 0, offline 0)")
    assert found["ttl"] == ("OK", "ENABLED on 'expiresAt': DynamoDB deletes expired idempotency records")
    # moto has no Service Quotas for IVS: the limit is used unchecked, which is a warning, not a failure.
    assert found["channel quota"][0] == "WARN" and "CHANNELS_LIMIT 20 unchecked" in found["channel quota"][1]
    assert found["kms key"] == ("WARN", "CHANNELS_KMS_KEY_ID is not set: stream keys are stored in plain text")


def test_doctor_warns_when_ttl_is_off_with_the_fix(
    aws_table: str, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = build_clients(aws_connection).dynamodb
    provision(DynamoTable(dynamodb, aws_table), "entityType-index")
    dynamodb.update_time_to_live(TableName=aws_table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expiresAt"})
    code, lines, _ = run_cli(capsys, "doctor")
    assert code == 0, lines  # a warning: the service ignores expired idempotency records itself
    ttl_line = lines.index("WARN  ttl: DISABLED: expired idempotency records stay in the table (the service ignores them)")
    assert lines[ttl_line + 1] == "      fix: run `shelcaster-channels provision` to turn TTL on for 'expiresAt'"


def test_doctor_warns_of_a_table_without_a_stream_naming_the_option(
    aws_table: str, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    # A deployment with no serving container: `provision --without-stream` leaves the table without one.
    provision(DynamoTable(build_clients(aws_connection).dynamodb, aws_table), "entityType-index", stream=False)
    code, lines, _ = run_cli(capsys, "doctor")
    assert code == 0, lines
    assert (f"WARN  stream: {aws_table} has none, so this deployment has no live updates (subscriptions), as "
            "`provision --without-stream` leaves it; to serve them, run `shelcaster-channels provision` to enable it"
            ) in lines


def test_doctor_fails_a_stream_of_another_view_type_with_the_fix(
    aws_table: str, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    build_clients(aws_connection).dynamodb.create_table(
        TableName=aws_table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    code, lines, _ = run_cli(capsys, "doctor")
    assert code == 1
    line = lines.index("FAIL  stream: KEYS_ONLY: live updates need NEW_AND_OLD_IMAGES (the old and new image of each "
                       "change)")
    assert lines[line + 1] == (
        "      fix: switch the stream to NEW_AND_OLD_IMAGES, which carries what every other view type does: disable "
        f"it (aws dynamodb update-table --table-name {aws_table} --stream-specification StreamEnabled=false), then run "
        "`shelcaster-channels provision` again, which enables the new one; whatever read the old stream reads the "
        "new stream's ARN")


def _make_listing_index_keys_only(dynamodb: Any, table: str) -> None:
    """channels-by-created-index as another tool made it: the right keys, keys only projected."""
    wanted = next(index for index in required_indexes("entityType-index") if index["IndexName"] == "channels-by-created-index")
    dynamodb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": wanted["IndexName"]}}])
    dynamodb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": key["AttributeName"], "AttributeType": "S"} for key in wanted["KeySchema"]],
        GlobalSecondaryIndexUpdates=[{"Create": {**wanted, "Projection": {"ProjectionType": "KEYS_ONLY"}}}],
    )


def test_doctor_fails_a_listing_index_of_a_narrow_projection_until_provision_replaces_it(
    aws_table: str, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = build_clients(aws_connection).dynamodb
    table = DynamoTable(dynamodb, aws_table)
    provision(table, "entityType-index")
    _make_listing_index_keys_only(dynamodb, aws_table)
    name = "index channels-by-created-index"
    replace = "shelcaster-channels provision --replace-misshapen-indexes"

    code, lines, _ = run_cli(capsys, "doctor")
    assert code == 1
    line = lines.index(f"FAIL  {name}: projects KEYS_ONLY; the service reads whole records from it (ALL): each "
                       "listing page reads its channels by key (2 round trips)")
    assert lines[line + 1] == "      fix: run `shelcaster-channels provision`: it builds a replacement, listings switch to it"

    provision(table, "entityType-index")  # expand: the replacement is built
    code, lines, _ = run_cli(capsys, "doctor")
    assert (code, checks(lines)[name]) == (0, (
        "WARN", "ACTIVE, projects KEYS_ONLY; the service reads whole records from it (ALL); listings read "
                f"channels-by-created-index-replacement meanwhile (finish: `{replace}`)"))

    provision(table, "entityType-index", replace_misshapen=True)  # contract
    code, lines, _ = run_cli(capsys, "doctor")
    assert (code, checks(lines)[name]) == (0, (
        "OK", "ACTIVE, keys channelCatalog (HASH), createdAt (RANGE), projects ALL"))


def test_doctor_without_reachable_aws_fails_on_credentials_and_checks_nothing_after(
    aws_table: str, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    clean_env.setenv("AWS_ENDPOINT_URL", endpoint)
    code, lines, _ = run_cli(capsys, "doctor")
    found = checks(lines)
    assert code == 1
    assert list(found) == ALL_CHECKS
    assert found["credentials"] == (
        "FAIL", f'STS cannot be reached in region us-east-1: Could not connect to the endpoint URL: "{endpoint}/"'
    )
    assert lines[lines.index(f"FAIL  credentials: {found['credentials'][1]}") + 1] == (
        "      fix: check AWS_REGION, the network and AWS_ENDPOINT_URL if set"
    )
    for name in ALL_CHECKS[2:-1]:
        assert found[name] == ("WARN", "not checked: the AWS credentials failed above")


def stubbed(service: str) -> tuple[object, Stubber]:
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    return client, Stubber(client)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (20, Check("WARN", "channel quota", "CHANNELS_LIMIT 20 exceeds the IVS quota 'Channels' of 10: creates beyond "
                                            "10 fail in IVS; lower CHANNELS_LIMIT or request a quota increase")),
        (10, Check("OK", "channel quota", "IVS quota 'Channels' is 10; CHANNELS_LIMIT 10 fits")),
    ],
)
def test_channel_quota_is_compared_with_the_limit(limit: int, expected: Check) -> None:
    # Stubber: moto has no Service Quotas for IVS.
    client, stub = stubbed("service-quotas")
    quotas = [
        {"ServiceCode": "ivs", "QuotaCode": "L-00000001", "QuotaName": "Concurrent streams", "Value": 100.0},
        {"ServiceCode": "ivs", "QuotaCode": "L-00000002", "QuotaName": "Channels", "Value": 10.0},
    ]
    stub.add_response("list_service_quotas", {"Quotas": quotas}, {"ServiceCode": "ivs"})
    with stub:
        assert check_channel_quota(client, limit) == expected
    stub.assert_no_pending_responses()


def test_missing_recording_configuration_fails_against_aws_with_the_fix() -> None:
    # Stubber: moto has no IVS recording configurations.
    client, stub = stubbed("ivs")
    stub.add_client_error(
        "get_recording_configuration", service_error_code="ResourceNotFoundException", http_status_code=404,
        expected_params={"arn": RECORDING_ARN},
    )
    with stub:
        check = check_recording_configuration(client, RECORDING_ARN, embedded=False, configured=True)
    assert check.lines() == [
        f"FAIL  recording configuration: {RECORDING_ARN} not found in region",
        "      fix: set CHANNELS_RECORDING_CONFIGURATION_ARN to a recording configuration of this account and region "
        "(the stack's RecordingConfigurationArn output)",
    ]


def test_disabled_kms_key_fails_with_the_fix(aws_connection: AwsConnection) -> None:
    kms = build_clients(aws_connection).kms
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    assert check_kms_key(kms, key_id, embedded=False).lines() == [
        f"FAIL  kms key: {key_id} is Disabled: stream keys cannot be sealed or opened",
        "      fix: enable the key (`aws kms enable-key`), or cancel its deletion (`aws kms cancel-key-deletion`)",
    ]


def test_unreachable_jwks_fails_with_the_fix(clean_env: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    settings = Settings(_env_file=None, backend="aws", auth_issuer=ISSUER, auth_audience=CLIENT_ID, auth_jwks_url=url)  # type: ignore[call-arg]
    check = check_jwks(settings, None)
    assert (check.status, check.detail.split(": ")[0]) == ("FAIL", f"{url} cannot be fetched")
    assert check.fix == (
        "check CHANNELS_AUTH_ISSUER (https://cognito-idp.<region>.amazonaws.com/<user pool id>) "
        "or set CHANNELS_AUTH_JWKS_URL; check the network"
    )


# smoke


# Its tests are marked slow (`make test-fast` skips them, `make test` runs them).
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path_factory.mktemp("smoke")) as running:
        yield running


def mint(served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    """A token from `shelcaster-channels token`, signed with the served process's dev key."""
    clean_env.setenv("CHANNELS_DEV_DIR", str(served.dev_dir))
    main(["token", *arguments])
    return capsys.readouterr().out.strip()


def capacity_used(served: Served, token: str) -> int:
    response = httpx.post(f"{served.base_url}/graphql", json={"query": "{ capacity { used } }"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return int(response.json()["data"]["capacity"]["used"])


STEP_LINE = re.compile(r"^(PASS|FAIL)  (\d+|cleanup) ?([^:]*): (.*)$")


def steps(lines: list[str]) -> list[tuple[str, str, str]]:
    """(status, step, detail) of each line of smoke's output."""
    parsed = []
    for line in lines:
        match = STEP_LINE.match(line)
        assert match, f"not a step line: {line!r}"
        parsed.append((match.group(1), match.group(2), match.group(4)))
    return parsed


@pytest.mark.slow
def test_smoke_passes_every_step_against_a_served_deployment_and_cleans_up(
    served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = mint(served, clean_env, capsys, "--user", "smoke-admin", "--admin")
    used_before = capacity_used(served, admin)
    finished = subprocess.run(
        [sys.executable, "-m", "commands.cli", "smoke", "--url", served.base_url, "--token", admin],
        cwd=ROOT, env=service_environment(served.dev_dir), capture_output=True, text=True, timeout=60,
    )
    assert (finished.returncode, finished.stderr) == (0, ""), finished.stdout
    parsed = steps(finished.stdout.splitlines())
    assert [(status, step) for status, step, _ in parsed] == [("PASS", str(n)) for n in range(1, 19)] + [("PASS", "cleanup")]
    assert parsed[0][2] == f"used {used_before} of 20 ({20 - used_before} available)"
    channel_id = re.fullmatch(r"smoke-\d{8}T\d{6}Z \((.+)\)", parsed[1][2]).group(1)  # type: ignore[union-attr]
    # Cleaned up: the channel is gone and its capacity slot is free again.
    assert parsed[-1][2].endswith(f"({channel_id}) set OFFLINE and deleted")
    assert capacity_used(served, admin) == used_before
    gone = httpx.post(f"{served.base_url}/graphql", json={"query": f'{{ channel(id: "{channel_id}") {{ id }} }}'},
                      headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert gone.json() == {"data": {"channel": None}}


@pytest.mark.slow
def test_smoke_with_a_producer_token_requests_as_the_producer_and_cleans_up_both_channels(
    served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = mint(served, clean_env, capsys, "--user", "smoke-admin", "--admin")
    producer = mint(served, clean_env, capsys, "--user", "smoke-producer")
    used_before = capacity_used(served, admin)
    code, lines, err = run_cli(capsys, "smoke", "--url", served.base_url, "--token", admin, "--host-token", producer)
    parsed = steps(lines)
    assert (code, err) == (0, ""), lines
    assert [(status, step) for status, step, _ in parsed] == [("PASS", str(n)) for n in range(1, 19)] + [("PASS", "cleanup")]
    assert re.fullmatch(r"smoke-\d{8}T\d{6}Z-requested requested by smoke-producer \(.+\)", parsed[11][2])
    requested = re.fullmatch(r"channel (.+) made and assigned to smoke-producer", parsed[13][2]).group(1)  # type: ignore[union-attr]
    assert parsed[14][2] == f"myChannel of smoke-producer is {requested}, with its stream key"
    assert f"({requested}) set OFFLINE and deleted; " in parsed[18][2]
    assert capacity_used(served, admin) == used_before


@pytest.mark.slow
def test_smoke_with_a_host_token_fails_naming_forbidden(
    served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host = mint(served, clean_env, capsys, "--user", "smoke-host")
    code, lines, err = run_cli(capsys, "smoke", "--url", f"{served.base_url}/graphql", "--token", host)
    parsed = steps(lines)
    assert (code, err) == (1, "")
    assert parsed[:2] == [
        ("FAIL", "1", "FORBIDDEN 'capacity' is for admins only."),
        ("FAIL", "2", "FORBIDDEN 'createChannel' is for admins only."),
    ]
    assert all(status == "FAIL" and detail.startswith("not run: ") for status, _, detail in parsed[2:11])
    # Any signed-in caller may request a channel; the queue and the decision are for admins.
    assert parsed[11][:2] == ("PASS", "12")
    request_id = re.fullmatch(r".* requested by smoke-host \((.+)\)", parsed[11][2]).group(1)  # type: ignore[union-attr]
    assert parsed[12:18] == [
        ("FAIL", "13", "FORBIDDEN 'channelRequests' is for admins only."),
        ("FAIL", "14", "FORBIDDEN 'approveChannelRequest' is for admins only."),
        ("FAIL", "15", "not run: step 14 failed"),
        ("FAIL", "16", "not run: no SHARED channel (step 14 failed)"),
        ("FAIL", "17", "not run: no slot (step 16 failed)"),
        ("FAIL", "18", "not run: no slot (step 16 failed)"),
    ]
    assert parsed[18] == ("PASS", "cleanup", f"request {request_id} cancelled; nothing to remove (no channel was created)")


# By the bare hex smoke sends (the manifest's keys are the `sha256:<hex>` form).
SMOKE_DOCUMENTS = {sha256_hex(document): document for document in codegen_manifest(load_operations()).values()}


class RefuseFirstIdle(httpx.BaseTransport):
    """The real service, except that the first `setChannelState(state: IDLE)` answers with an error."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.refused = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        # smoke sends each document by hash first (persisted queries), so name it either way.
        sent = body.get("query") or SMOKE_DOCUMENTS[body["extensions"]["persistedQuery"]["sha256Hash"]]
        if not self.refused and "setChannelState" in sent and body["variables"]["state"] == "IDLE":
            self.refused = True
            return httpx.Response(200, json={"data": None, "errors": [
                {"message": "Injected by the test.", "extensions": {"code": "UPSTREAM_ERROR"}},
            ]})
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.slow
def test_smoke_cleans_up_a_live_assigned_channel_after_a_failed_step(
    served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = mint(served, clean_env, capsys, "--user", "smoke-admin", "--admin")
    used_before = capacity_used(served, admin)
    lines: list[str] = []
    assert run_smoke(served.base_url, admin, report=lines.append, transport=RefuseFirstIdle()) == 1
    parsed = steps(lines)
    assert [status for status, _, _ in parsed[:8]] == ["PASS"] * 8
    assert parsed[8] == ("FAIL", "9", "UPSTREAM_ERROR Injected by the test.")
    assert parsed[9][:2] == ("FAIL", "10")  # unassigning a LIVE channel is refused
    assert parsed[10] == ("FAIL", "11", "not run: step 10 failed")
    assert [status for status, _, _ in parsed[11:18]] == ["PASS"] * 7
    # The cleanup found the channel LIVE with its host: IDLE, unassign, OFFLINE, delete (and the approved one).
    assert parsed[18][:2] == ("PASS", "cleanup") and parsed[18][2].endswith("set OFFLINE and deleted")
    assert capacity_used(served, admin) == used_before


def test_smoke_against_a_closed_port_fails_with_a_clear_line(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    code, lines, err = run_cli(capsys, "smoke", "--url", f"http://127.0.0.1:{port}", "--token", "t")
    assert (code, err) == (1, "")
    assert lines[0].startswith(f"FAIL  1 capacity: cannot reach http://127.0.0.1:{port}/graphql: ")
    assert lines[1] == "FAIL  2 create channel: not run: the deployment cannot be reached (step 1)"
    assert lines[-1] == "PASS  cleanup: nothing to remove (no channel was created)"


def test_smoke_refuses_a_url_that_is_not_http_as_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run_cli(capsys, "smoke", "--url", "ftp://example.com", "--token", "t")
    assert (code, lines) == (2, [])
    assert err == (
        "shelcaster-channels: --url must be an http(s) URL such as https://api.example.com/graphql, "
        "got 'ftp://example.com'\n"
    )


@pytest.mark.parametrize(
    ("given", "endpoint"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/graphql"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/graphql"),
        ("http://127.0.0.1:8000/graphql", "http://127.0.0.1:8000/graphql"),
        ("https://abc.execute-api.us-east-1.amazonaws.com/prod", "https://abc.execute-api.us-east-1.amazonaws.com/prod/graphql"),
        ("https://api.example.com/graphql/", "https://api.example.com/graphql"),
    ],
)
def test_smoke_accepts_the_url_with_or_without_the_graphql_path(given: str, endpoint: str) -> None:
    assert graphql_url(given) == endpoint
