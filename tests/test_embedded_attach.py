"""Embedded mode: `serve` binds its port before its banner and records its emulator in the dev folder
while it runs; `reconcile` and `encrypt-keys` act on that emulator (the running service's data), and
say plainly that there is nothing to inspect when no `serve` runs from the folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from embedded.registry import find_running
from data.clients import AwsConnection, build_clients
from tests.support import run_main
from tests.test_cli import ROOT, Served, clean_env, graphql, service_environment, serving  # noqa: F401

pytestmark = pytest.mark.slow  # every test starts `serve` as a process; `make test-fast` skips them

CREATE = "mutation($name: String!) { createChannel(input: {name: $name}) { id } }"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path_factory.mktemp("attach")) as served:
        yield served


@pytest.fixture(scope="module")
def channel_ids(running: Served) -> list[str]:
    """Two channels created through the running service."""
    ids = []
    for name in ("Attached one", "Attached two"):
        result = graphql(running, CREATE, running.admin_authorization, {"name": name})
        assert "errors" not in result, result
        ids.append(result["data"]["createChannel"]["id"])
    return ids


def test_serve_records_its_emulator_while_it_runs(running: Served) -> None:
    record = find_running(running.dev_dir)

    assert record is not None
    assert (record.pid, record.service_url) == (running.pid, running.base_url)
    assert record.endpoint_url.startswith("http://127.0.0.1:") and record.kms_key_id


def test_embedded_reconcile_sees_the_running_services_channels(
    running: Served, channel_ids: list[str], clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(running.dev_dir))
    record = find_running(running.dev_dir)
    assert record is not None
    # Take the second channel's IVS channel away behind the service's back, in its own emulator.
    ivs = build_clients(AwsConnection(region="us-east-1", endpoint_url=record.endpoint_url,
                                      access_key_id="embedded", secret_access_key="embedded")).ivs
    arns = [channel["arn"] for channel in ivs.list_channels()["channels"]
            if channel.get("tags", {}).get("shelcaster:channelId") == channel_ids[1]]
    assert len(arns) == 1
    ivs.delete_channel(arn=arns[0])

    code, lines, err = run_main(capsys, "reconcile")

    assert (code, err) == (1, "")
    assert lines[0] == f"embedded backend: acting on the running serve at {running.base_url} (pid {running.pid})"
    assert [line.split()[:2] for line in lines[1:-1]] == [["record-without-ivs-channel", channel_ids[1]]]
    assert lines[-1] == "dry run: nothing changed; run with --apply to repair"


def test_embedded_encrypt_keys_sees_the_running_services_sealed_keys(
    running: Served, channel_ids: list[str], clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(running.dev_dir))

    code, lines, err = run_main(capsys, "encrypt-keys")

    assert (code, err) == (0, "")
    assert lines == [
        f"embedded backend: acting on the running serve at {running.base_url} (pid {running.pid})",
        "plain-text stream keys: 0 channel records, 0 assignment records",
        f"already encrypted: {len(channel_ids)}",
    ]


def test_a_second_serve_on_the_busy_port_is_one_line_and_exit_1(running: Served, tmp_path: Path) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "commands.cli", "serve", "--port", str(running.port)],
        cwd=ROOT, env=service_environment(tmp_path / "dev"), capture_output=True, text=True, timeout=60,
    )

    assert (second.returncode, second.stdout) == (1, "")  # no banner, no token
    assert second.stderr == (
        f"shelcaster-channels: cannot listen on 127.0.0.1:{running.port}: the port is in use (another `serve` or "
        "`make run`?): stop it, or pass --port\n"
    )
    assert httpx.get(f"{running.base_url}/healthz", timeout=5).status_code == 200  # the first one is untouched


def test_a_second_embedded_serve_from_the_same_folder_is_refused(running: Served) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "commands.cli", "serve", "--port", "0"],
        cwd=ROOT, env=service_environment(running.dev_dir), capture_output=True, text=True, timeout=60,
    )

    assert (second.returncode, second.stdout) == (1, "")
    assert second.stderr == (
        f"shelcaster-channels: an embedded serve already runs from {running.dev_dir} (pid {running.pid}, "
        f"{running.base_url}): stop it, or set CHANNELS_DEV_DIR to another folder\n"
    )


@pytest.mark.parametrize("command", ["reconcile", "encrypt-keys"])
def test_embedded_commands_without_a_running_serve_say_there_is_nothing_to_inspect(
    command: str, clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))

    code, lines, err = run_main(capsys, command)

    assert (code, lines) == (2, [])
    assert err == (
        f"shelcaster-channels: {command}: nothing to inspect: the embedded backend keeps its data in the memory of "
        f"a running `shelcaster-channels serve` (make run), and none is running from {tmp_path}; start it, or set "
        "CHANNELS_BACKEND=aws\n"
    )


def test_serve_removes_its_record_on_exit(tmp_path: Path) -> None:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path) as served:
        assert find_running(served.dev_dir) is not None

    assert not (served.dev_dir / "running-serve.json").exists()
