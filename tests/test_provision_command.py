"""`shelcaster-channels provision` against an AWS endpoint (moto, with DynamoDB's GSI throughput rules
enforced as real DynamoDB does): what it prints, its exit status, its flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import app.bootstrap
from data.clients import AwsClients, AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.provisioning import required_indexes
from tests.data.table_setup import ENTITY_INDEX
from tests.data.test_migration import create_platform_table, put_old_records
from tests.dynamodb_rules import CapacityModeRules
from tests.faults import Fault
from tests.support import run_main
from tests.test_ops_commands import aws_table, clean_env  # noqa: F401 (fixtures)

# Every index the service adds beside the platform's entityType index, in the order provision adds them.
NEW_INDEXES = tuple(index["IndexName"] for index in required_indexes(ENTITY_INDEX) if index["IndexName"] != ENTITY_INDEX)


@pytest.fixture
def cli_clients(monkeypatch: pytest.MonkeyPatch, aws_connection: AwsConnection) -> list[AwsClients]:
    """The clients the command builds, each with DynamoDB's capacity-mode rules installed."""
    built: list[AwsClients] = []

    def with_rules(connection: AwsConnection, **options: Any) -> AwsClients:
        clients = build_clients(connection, **options)
        CapacityModeRules(clients.dynamodb, connection).install()
        built.append(clients)
        return clients

    monkeypatch.setattr(app.bootstrap, "build_clients", with_rules)
    return built


@pytest.fixture
def provisioned_table(aws_table: str, aws_connection: AwsConnection) -> DynamoTable:  # noqa: F811
    table = DynamoTable(build_clients(aws_connection).dynamodb, aws_table)
    create_platform_table(table, "ALL", "PROVISIONED")
    put_old_records(table)
    return table


def units(table: DynamoTable) -> dict[str, Any]:
    description = table.client.describe_table(TableName=table.name)["Table"]
    return {index["IndexName"]: (index["ProvisionedThroughput"]["ReadCapacityUnits"],
                                 index["ProvisionedThroughput"]["WriteCapacityUnits"])
            for index in description["GlobalSecondaryIndexes"]}


def provision_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str], str]:
    return run_main(capsys, "provision", *arguments)


@pytest.fixture
def failing_call(monkeypatch: pytest.MonkeyPatch, cli_clients: list[AwsClients]) -> Callable[[str, str], None]:
    """Make every call of an operation of the command's DynamoDB client fail with an error code."""

    def fail(operation: str, code: str) -> None:
        with_rules = app.bootstrap.build_clients

        def failing(connection: AwsConnection, **options: Any) -> AwsClients:
            clients = with_rules(connection, **options)
            Fault(clients.dynamodb, operation, code, status=400).__enter__()  # for the client's life
            return clients

        monkeypatch.setattr(app.bootstrap, "build_clients", failing)

    return fail


def test_provision_on_a_provisioned_table_then_again_says_nothing_to_do(
    provisioned_table: DynamoTable, cli_clients: list[AwsClients], capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = provision_cli(capsys, "--index-read-units", "2", "--index-write-units", "1")

    assert (code, err) == (0, "")
    name = provisioned_table.name
    assert lines == [
        *(f"added index {index} to {name} (2 read, 1 write units)" for index in NEW_INDEXES),
        f"enabled the stream of {name} (NEW_AND_OLD_IMAGES): live updates read it (docs/live-updates.md)",
        "backfilled 5 channel and 2 assignment records",
        "capacity counter set from 5 existing channels",
        f"enabled TTL on 'expiresAt' of {name}",
    ]
    assert units(provisioned_table) == {"entityType-index": (7, 3), **{index: (2, 1) for index in NEW_INDEXES}}

    code, lines, err = provision_cli(capsys)

    assert (code, lines, err) == (
        0, [f"{name}: nothing to do, table, indexes, stream, backfill, capacity counter and TTL are in place"], ""
    )


def test_provision_without_stream_makes_a_table_without_one_and_says_what_it_means(
    aws_table: str, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    code, lines, err = provision_cli(capsys, "--without-stream")

    assert (code, err) == (0, "")
    assert lines[0].startswith(f"created table {aws_table} (PAY_PER_REQUEST) with indexes ")
    assert not lines[0].endswith("and its stream (NEW_AND_OLD_IMAGES)")
    assert lines[-1] == (f"{aws_table}: stream not enabled (--without-stream): a table without one serves no live "
                         "updates (subscriptions); run provision without it before serving them (docs/live-updates.md)")
    description = build_clients(aws_connection).dynamodb.describe_table(TableName=aws_table)["Table"]
    assert "StreamSpecification" not in description


def test_provision_without_stream_again_says_nothing_to_do(
    aws_table: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    provision_cli(capsys, "--without-stream")
    code, lines, err = provision_cli(capsys, "--without-stream")

    assert (code, err) == (0, "")
    assert lines[-1] == (f"{aws_table}: nothing to do, table, indexes, backfill, capacity counter and TTL are in "
                         "place")


def test_provision_failing_prints_one_line_with_the_step_and_the_fix(
    provisioned_table: DynamoTable, failing_call: Callable[[str, str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    failing_call("UpdateTable", "AccessDeniedException")

    code, lines, err = provision_cli(capsys)

    assert (code, lines) == (1, [])
    assert err == (
        "shelcaster-channels: provision failed at 'add index channels-by-created-index': AccessDeniedException: "
        "injected AccessDeniedException; fix: allow dynamodb:UpdateTable and dynamodb:DescribeTable on the table "
        "for these credentials, then run `shelcaster-channels provision` again (it resumes where it stopped)\n"
    )


def test_provision_whose_ttl_fails_finishes_the_rest_and_exits_1(
    provisioned_table: DynamoTable, failing_call: Callable[[str, str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    failing_call("UpdateTimeToLive", "UnknownOperationException")

    code, lines, err = provision_cli(capsys)

    assert code == 1
    assert lines[-1] == "capacity counter set from 5 existing channels"
    assert err.startswith("shelcaster-channels: provision failed at 'enable TTL on expiresAt': UnknownOperationException")
    assert err.count("\n") == 1 and "the service is usable meanwhile" in err


def test_provision_with_units_for_an_on_demand_table_changes_nothing(
    aws_table: str, aws_connection: AwsConnection, cli_clients: list[AwsClients],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = DynamoTable(build_clients(aws_connection).dynamodb, aws_table)
    create_platform_table(table, "ALL", "PAY_PER_REQUEST")

    code, lines, err = provision_cli(capsys, "--index-read-units", "5")

    assert (code, lines) == (1, [])
    assert err == (
        f"shelcaster-channels: provision failed at 'read the table's capacity mode': {aws_table} is PAY_PER_REQUEST "
        "(on-demand): its indexes take no read/write units; fix: run provision without "
        "--index-read-units/--index-write-units\n"
    )


def test_provision_refuses_zero_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = provision_cli(capsys, "--index-read-units", "0")

    assert code == 2 and "--index-read-units: must be at least 1 (got 0)" in err


def test_provision_in_embedded_mode_says_there_is_nothing_to_do(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    code, lines, err = provision_cli(capsys)

    assert (code, err) == (0, "")
    assert lines == ["embedded backend: the table lives in the service's in-memory emulator and is provisioned at "
                     "start; nothing to do (set CHANNELS_BACKEND=aws to provision a real table)"]


def test_provision_replaces_a_misshapen_listing_index_when_asked_one_line_per_step(
    aws_table: str, aws_connection: AwsConnection, cli_clients: list[AwsClients],  # noqa: F811
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("data.provision_steps.time.sleep", lambda seconds: None)
    dynamodb = build_clients(aws_connection).dynamodb
    create_platform_table(DynamoTable(dynamodb, aws_table), "ALL", "PAY_PER_REQUEST")
    wanted = next(index for index in required_indexes(ENTITY_INDEX) if index["IndexName"] == "channels-by-created-index")
    dynamodb.update_table(  # made by another tool: the right keys, keys only
        TableName=aws_table,
        AttributeDefinitions=[{"AttributeName": key["AttributeName"], "AttributeType": "S"} for key in wanted["KeySchema"]],
        GlobalSecondaryIndexUpdates=[{"Create": {**wanted, "Projection": {"ProjectionType": "KEYS_ONLY"}}}],
    )
    replacement = "channels-by-created-index-replacement"

    code, lines, err = provision_cli(capsys)
    assert (code, err) == (0, "")
    assert f"added index {replacement} to {aws_table} (PAY_PER_REQUEST)" in lines
    assert (f"index channels-by-created-index projects KEYS_ONLY; the service reads whole records from it (ALL): "
            f"listings read {replacement} meanwhile; once every process runs this version, run "
            "`shelcaster-channels provision --replace-misshapen-indexes`") in lines

    code, lines, err = provision_cli(capsys)
    assert (code, err) == (0, "")
    assert not any("nothing to do" in line for line in lines)  # the replacement is still to finish

    code, lines, err = provision_cli(capsys, "--replace-misshapen-indexes")
    assert (code, err) == (0, "")
    assert lines == [
        f"removed index channels-by-created-index from {aws_table} (misshapen: rebuilt next)",
        f"added index channels-by-created-index to {aws_table} (PAY_PER_REQUEST)",
        f"removed index {replacement} from {aws_table} (channels-by-created-index is rebuilt)",
    ]

    code, lines, err = provision_cli(capsys, "--replace-misshapen-indexes")
    assert (code, lines, err) == (0, [f"{aws_table}: nothing to do, table, indexes, stream, backfill, capacity counter "
                                      "and TTL are in place"], "")
