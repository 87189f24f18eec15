"""`shelcaster-channels reconcile [--apply]` against an AWS endpoint (moto): dry run, then repair."""

from __future__ import annotations

import pytest

from commands.cli import main
from app.settings import Settings
from data.clients import AwsConnection, build_clients
from services.channels import CHANNEL_ID_TAG, SERVICE_TAG
from tests.handlers.test_lambda_handlers import lambda_env  # noqa: F401 (the environment the functions get)


def test_reconcile_reports_then_repairs_an_orphan(
    lambda_env: Settings, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    ivs = build_clients(aws_connection).ivs
    ivs.create_channel(name="persistent-orphan-12345678", tags={SERVICE_TAG: "shelcaster-channels", CHANNEL_ID_TAG: "gone"})

    with pytest.raises(SystemExit) as dry:
        main(["reconcile"])
    out = capsys.readouterr().out
    assert dry.value.code == 1
    assert "orphan-ivs-channel" in out and "[planned]" in out and "dry run: nothing changed" in out
    assert len(ivs.list_channels()["channels"]) == 1

    main(["reconcile", "--apply"])
    out = capsys.readouterr().out
    assert "orphan-ivs-channel" in out and "[done]" in out
    assert ivs.list_channels()["channels"] == []

    main(["reconcile"])
    assert capsys.readouterr().out.startswith("consistent:")


def test_reconcile_reports_a_missing_counter_as_missing_and_creates_it(
    lambda_env: Settings, aws_connection: AwsConnection, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    dynamodb = build_clients(aws_connection).dynamodb
    counter = {"pk": {"S": "counter#persistentChannel"}, "sk": {"S": "capacity"}}
    dynamodb.delete_item(TableName=lambda_env.table, Key=counter)

    with pytest.raises(SystemExit) as dry:
        main(["reconcile"])
    out = capsys.readouterr().out.splitlines()
    assert dry.value.code == 1
    assert out == [
        "missing-counter  capacity counter  missing: every create is refused until it exists (the records count 0 "
        "used, by state 0/0/0)  -> create it from the records (or run `shelcaster-channels provision`) [planned]",
        "dry run: nothing changed; run with --apply to repair",
    ]

    main(["reconcile", "--apply"])
    assert "[done]" in capsys.readouterr().out
    item = dynamodb.get_item(TableName=lambda_env.table, Key=counter, ConsistentRead=True)["Item"]
    assert {name: item[name] for name in ("used", "idle", "live", "offline")} == {
        name: {"N": "0"} for name in ("used", "idle", "live", "offline")
    }
